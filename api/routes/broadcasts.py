"""Broadcasts: scheduling, cancelling, status per receiver, and operators' confirmations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlmodel import Session

from api import broadcast_schemas as bs
from api import schemas
from api.deps import (
    MAX_ID,
    ClockDep,
    IdPath,
    IdQuery,
    PrincipalDep,
    SessionDep,
    SettingsDep,
    WakeDep,
)
from api.notification_schemas import LanguageGapPublic
from broadcast.delivery import resend as resending
from broadcast.delivery import status
from broadcast.delivery.models import Delivery, DeliveryState
from broadcast.notifications.gaps import LanguageGap, language_gaps
from broadcast.schedule import edits
from broadcast.schedule import service as scheduling
from broadcast.schedule.describe import describe_broadcast
from broadcast.schedule.models import (
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    Occurrence,
    OccurrenceState,
)
from stations.areas import Area
from stations.models import Station
from stations.protocol import Priority
from stations.timeutil import as_utc, utcnow

router = APIRouter(prefix="/broadcasts", tags=["broadcasts"])


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def occurrence_public(
    occ: Occurrence, gaps: dict[int, list[LanguageGap]] | None = None
) -> bs.OccurrencePublic:
    """An airing as shown, with its language gaps when they were looked up."""
    return bs.OccurrencePublic(
        language_gaps=[
            LanguageGapPublic(
                bulletin_id=g.bulletin_id, language=g.language, station_ids=list(g.station_ids)
            )
            for g in (gaps or {}).get(occ.id or 0, [])
        ],
        seq=occ.seq,
        ref=scheduling.occurrence_ref(occ.broadcast_id, occ.seq),
        air_at=as_utc(occ.air_at),
        dispatch_at=as_utc(occ.dispatch_at),
        expires_at=as_utc(occ.expires_at),
        state=occ.state,
        dispatched_at=_utc(occ.dispatched_at),
        settled=occ.settled,
        detail=occ.detail,
        overflow=occ.overflow,
    )


def _gaps(
    session: Session, broadcast: Broadcast, occs: Sequence[Occurrence]
) -> dict[int, list[LanguageGap]]:
    """Language gaps of the airings not yet sent (three queries)."""
    waiting = [(o, broadcast) for o in occs if o.state == OccurrenceState.pending.value]
    return language_gaps(session=session, occurrences=waiting)


def delivery_public(
    *,
    broadcast_id: int,
    occurrence: Occurrence,
    delivery: Delivery,
    station: Station,
    area: Area,
    late: bool,
    flags: list[str],
) -> bs.DeliveryPublic:
    """One delivery as REST shows it, with every time."""
    return bs.DeliveryPublic(
        occurrence=occurrence.seq,
        ref=scheduling.occurrence_ref(broadcast_id, occurrence.seq),
        air_at=as_utc(occurrence.air_at),
        station_id=station.id or 0,
        station_name=station.name,
        area_code=area.code,
        receiver_id=delivery.receiver_id,
        state=delivery.state,
        version=delivery.version,
        detail=delivery.detail,
        sent_at=_utc(delivery.sent_at),
        received_at=_utc(delivery.received_at),
        downloaded_at=_utc(delivery.downloaded_at),
        started_at=_utc(delivery.started_at),
        completed_at=_utc(delivery.completed_at),
        finished_at=_utc(delivery.finished_at),
        late=late,
        flags=flags,
        attempt=delivery.attempt,
        interrupted_by=delivery.interrupted_by,
        reaired=delivery.reair_expires_at is not None,
        lost_seconds=delivery.lost_seconds,
        reconnects=delivery.reconnects,
    )


def broadcast_public(broadcast: Broadcast, summary: scheduling.AiringSummary) -> bs.BroadcastPublic:
    """A broadcast with its airing count and next air time."""
    return bs.BroadcastPublic(
        id=broadcast.id or 0,
        title=broadcast.title,
        bulletin_ids=list(broadcast.bulletin_ids),
        area_codes=list(broadcast.area_codes),
        starts_at=as_utc(broadcast.starts_at),
        rrule=broadcast.rrule,
        schedule_text=describe_broadcast(broadcast, summary),
        timezone=broadcast.timezone,
        priority=Priority(broadcast.priority),
        status=broadcast.status,
        state=summary.state(broadcast.status),
        created_at=as_utc(broadcast.created_at),
        cancelled_at=_utc(broadcast.cancelled_at),
        occurrence_count=summary.count,
        next_air_at=summary.next_air_at,
        edited_from_id=broadcast.edited_from_id,
        edited_from_seq=broadcast.edited_from_seq,
        kind=BroadcastKind(broadcast.kind),
        relay_source_id=broadcast.relay_source_id,
        duration_seconds=broadcast.duration_seconds,
    )


def broadcasts_public(session: Session, rows: Sequence[Broadcast]) -> list[bs.BroadcastPublic]:
    """Broadcasts as shown; their airings are summed up in one query for all of them."""
    summaries = scheduling.airing_summaries(
        session=session, broadcast_ids=[b.id or 0 for b in rows]
    )
    empty = scheduling.AiringSummary()
    return [broadcast_public(b, summaries.get(b.id or 0, empty)) for b in rows]


@router.post(
    "", response_model=bs.BroadcastCreated, status_code=201, summary="Schedule a broadcast"
)
def create_broadcast(
    body: bs.BroadcastCreate,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    wake: WakeDep,
) -> bs.BroadcastCreated:
    """Schedule approved bulletins for areas; an `emergency` is sent and aired at once.

    Other airings inside a blackout of a target area (or of an area above it) are refused
    with 409 (reason `schedule.blackout`), or moved to its end with `blackout=move` and
    listed in `moved`.
    """
    result = scheduling.schedule_broadcast(
        session=session,
        settings=settings,
        principal=principal,
        bulletin_ids=body.bulletin_ids,
        area_codes=body.area_codes,
        starts_at=body.starts_at,
        rule=body.rrule,
        priority=body.priority,
        title=body.title,
        wake=wake,
        blackout=body.blackout,
        relay_source_id=body.relay_source_id,
        duration_seconds=body.duration_seconds,
    )
    return bs.BroadcastCreated(
        **_detail(session, result.broadcast).model_dump(),
        moved=[
            bs.MovedAiringPublic(before=m.before, after=m.after, reason=m.reason)
            for m in result.moved
        ],
    )


def _detail(session: Session, broadcast: Broadcast) -> bs.BroadcastDetail:
    occs = scheduling.occurrences_of(session=session, broadcast_id=broadcast.id or 0)
    summary = scheduling.airing_summaries(session=session, broadcast_ids=[broadcast.id or 0]).get(
        broadcast.id or 0, scheduling.AiringSummary()
    )
    gaps = _gaps(session, broadcast, occs)
    return bs.BroadcastDetail(
        **broadcast_public(broadcast, summary).model_dump(),
        occurrences=[occurrence_public(o, gaps) for o in occs],
        replaced_by_ids=edits.replaced_by(session, [broadcast.id or 0]).get(broadcast.id or 0, []),
    )


@router.get("", response_model=schemas.Page[bs.BroadcastPublic], summary="List broadcasts")
def list_broadcasts(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    status_: Annotated[BroadcastStatus | None, Query(alias="status")] = None,
    bulletin_id: IdQuery = None,
) -> schemas.Page[bs.BroadcastPublic]:
    """Broadcasts touching the caller's subtree, newest first."""
    rows, total = scheduling.list_broadcasts(
        session=session,
        scope=principal.scope,
        status=status_,
        bulletin_id=bulletin_id,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=broadcasts_public(session, rows),
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{broadcast_id}", response_model=bs.BroadcastDetail, summary="Show a broadcast")
def get_broadcast(
    broadcast_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> bs.BroadcastDetail:
    """One broadcast with every airing."""
    broadcast = scheduling.get_broadcast(
        session=session, broadcast_id=broadcast_id, scope=principal.scope
    )
    return _detail(session, broadcast)


@router.patch(
    "/{broadcast_id}", response_model=bs.BroadcastEdited, summary="Edit airings still to come"
)
def edit_broadcast(
    broadcast_id: IdPath,
    body: bs.BroadcastEdit,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: PrincipalDep,
    wake: WakeDep,
) -> bs.BroadcastEdited:
    """Edit bulletins, areas, time or recurrence of one airing, of an airing and the later
    ones, or of every airing still to come (`scope`), as calendars edit a series.

    The edited airings are cancelled (receivers already sent one get `cancel`) and carried
    on by a new broadcast, returned here, that names this one in `edited_from_id`. What
    has aired keeps its as-run record. Blackouts apply as when scheduling.
    """
    given = body.model_fields_set
    result = edits.edit_series(
        session=session,
        settings=settings,
        principal=principal,
        broadcast_id=broadcast_id,
        scope=body.scope,
        seq=body.seq,
        changes=edits.SeriesChanges(
            bulletin_ids=body.bulletin_ids,
            area_codes=body.area_codes,
            starts_at=body.starts_at,
            rrule=body.rrule if "rrule" in given else edits.UNSET,
            title=body.title if "title" in given else edits.UNSET,
            duration_seconds=body.duration_seconds,
        ),
        now=clock(),
        wake=wake,
        blackout=body.blackout,
    )
    return bs.BroadcastEdited(
        **_detail(session, result.broadcast).model_dump(),
        moved=[
            bs.MovedAiringPublic(before=m.before, after=m.after, reason=m.reason)
            for m in result.moved
        ],
        original=broadcasts_public(session, [result.original])[0],
        replaced_airings=result.replaced,
        cancelled_deliveries=result.cancelled_deliveries,
    )


@router.post("/{broadcast_id}/cancel", response_model=bs.CancelResult, summary="Cancel a broadcast")
def cancel_broadcast(
    broadcast_id: IdPath, session: SessionDep, principal: PrincipalDep, wake: WakeDep
) -> bs.CancelResult:
    """Cancel every airing not yet aired; receivers that have not aired it get a `cancel`."""
    broadcast, count = scheduling.cancel_scheduled_broadcast(
        session=session, principal=principal, broadcast_id=broadcast_id, wake=wake
    )
    return bs.CancelResult(
        broadcast=broadcasts_public(session, [broadcast])[0], cancelled_deliveries=count
    )


SeqPath = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The airing's number (seq)")]


@router.post(
    "/{broadcast_id}/airings/{seq}/cancel",
    response_model=bs.AiringCancelResult,
    summary="Cancel one airing",
)
def cancel_airing(
    broadcast_id: IdPath,
    seq: SeqPath,
    session: SessionDep,
    clock: ClockDep,
    principal: PrincipalDep,
    wake: WakeDep,
) -> bs.AiringCancelResult:
    """Cancel one airing; the broadcast's other airings stay. Receivers sent it get `cancel`."""
    occ, count = scheduling.cancel_one_airing(
        session=session,
        principal=principal,
        broadcast_id=broadcast_id,
        seq=seq,
        now=clock(),
        wake=wake,
    )
    return bs.AiringCancelResult(airing=occurrence_public(occ), cancelled_deliveries=count)


@router.patch(
    "/{broadcast_id}/airings/{seq}",
    response_model=bs.OccurrencePublic,
    summary="Move one airing not yet sent",
)
def move_airing(
    broadcast_id: IdPath,
    seq: SeqPath,
    body: bs.AiringMove,
    session: SessionDep,
    clock: ClockDep,
    principal: PrincipalDep,
    wake: WakeDep,
) -> bs.OccurrencePublic:
    """Move one airing to another time; it keeps its number and its place in the series."""
    occ = scheduling.move_one_airing(
        session=session,
        principal=principal,
        broadcast_id=broadcast_id,
        seq=seq,
        air_at=body.air_at,
        now=clock(),
        wake=wake,
    )
    return occurrence_public(occ)


@router.get(
    "/{broadcast_id}/status",
    response_model=bs.BroadcastStatusPublic,
    summary="Who aired it and who did not",
)
def broadcast_status(
    broadcast_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    occurrence: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this airing (seq)")
    ] = None,
    state: Annotated[
        list[DeliveryState] | None,
        Query(description="Only deliveries in these states (repeat: state=failed&state=missed)"),
    ] = None,
    station_id: IdQuery = None,
    limit: Annotated[
        int,
        Query(ge=1, le=status.MAX_ROWS, description="Deliveries per page"),
    ] = status.DEFAULT_ROWS,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Deliveries to skip")] = 0,
) -> bs.BroadcastStatusPublic:
    """Counts by state, per station and per area roll-ups, and a page of deliveries.

    The counts cover every delivery (of the airing asked for); `state` and `station_id`
    choose the deliveries listed, failing ones first (failed, rejected, missed,
    expired), then not sent, on their way, cancelled, aired.
    """
    broadcast = scheduling.get_broadcast(
        session=session, broadcast_id=broadcast_id, scope=principal.scope
    )
    report = status.broadcast_status(
        session=session,
        broadcast=broadcast,
        scope=principal.scope,
        seq=occurrence,
        late_after=timedelta(seconds=settings.late_after_seconds),
        states=state,
        station_id=station_id,
        limit=limit,
        offset=offset,
    )
    rows = report.rows
    gaps = _gaps(session, broadcast, report.occurrences)
    aired = sum(report.counts.get(s, 0) for s in (DeliveryState.completed, DeliveryState.confirmed))
    return bs.BroadcastStatusPublic(
        broadcast_id=broadcast_id,
        total=report.total,
        aired=aired,
        late=report.late,
        counts=report.counts,
        stations=[bs.RollupPublic(**vars(r)) for r in report.stations],
        areas=[bs.RollupPublic(**vars(r)) for r in report.areas],
        deliveries=[
            delivery_public(
                broadcast_id=broadcast_id,
                occurrence=r.occurrence,
                delivery=r.delivery,
                station=r.station,
                area=r.area,
                late=r.late,
                flags=r.flags,
            )
            for r in rows
        ],
        occurrences=[occurrence_public(o, gaps) for o in report.occurrences],
        deliveries_total=report.matched,
        limit=report.limit,
        offset=report.offset,
        next_offset=report.next_offset,
    )


@router.post(
    "/{broadcast_id}/confirmations",
    response_model=bs.DeliveryPublic,
    status_code=201,
    summary="Confirm a legacy station aired it",
)
def confirm(
    broadcast_id: IdPath,
    body: bs.ConfirmationCreate,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    principal: PrincipalDep,
) -> bs.DeliveryPublic:
    """An operator of the commune confirms by hand that its legacy station aired the broadcast."""
    row = status.confirm_station_airing(
        session=session,
        settings=settings,
        principal=principal,
        broadcast_id=broadcast_id,
        station_id=body.station_id,
        aired_at=body.aired_at,
        note=body.note,
        now=clock(),
    )
    return delivery_public(
        broadcast_id=broadcast_id,
        occurrence=row.occurrence,
        delivery=row.delivery,
        station=row.station,
        area=row.area,
        late=row.late,
        flags=row.flags,
    )


@router.post(
    "/{broadcast_id}/resend",
    response_model=bs.ResendResult,
    summary="Send an airing again to receivers that failed it",
)
def resend(
    broadcast_id: IdPath,
    body: bs.ResendCreate,
    session: SessionDep,
    clock: ClockDep,
    principal: PrincipalDep,
    wake: WakeDep,
) -> bs.ResendResult:
    """An operator or editor sends the programme again to failed receivers of one airing.

    Each delivery starts its next `attempt` with a new command `version`, so the receiver
    downloads and airs it again; the as-run log keeps the earlier attempts.
    """
    result = resending.resend_deliveries(
        session=session,
        principal=principal,
        broadcast_id=broadcast_id,
        seq=body.occurrence,
        receiver_ids=body.receiver_ids,
        now=clock(),
        wake=wake,
    )
    occ = result.occurrence
    return bs.ResendResult(
        ref=scheduling.occurrence_ref(broadcast_id, occ.seq),
        resent=[
            delivery_public(
                broadcast_id=broadcast_id,
                occurrence=occ,
                delivery=d,
                station=st,
                area=a,
                late=False,
                flags=[],
            )
            for d, st, a in result.resent
        ],
        skipped=[bs.ResendSkipped(receiver_id=r, reason=c) for r, c in result.skipped],
    )


station_router = APIRouter(prefix="/stations", tags=["stations"])


@station_router.get(
    "/{station_id}/programme",
    response_model=bs.StationProgrammePublic,
    summary="What a station airs around a time",
)
def station_programme(
    station_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    at: Annotated[
        datetime | None, Query(description="RFC 3339 time (default now); nearest airing within 3 h")
    ] = None,
) -> bs.StationProgrammePublic:
    """The programme of the scheduled airing nearest `at`, with its warnings."""
    from broadcast.bulletins.media import media_url
    from broadcast.delivery.programmes import programme_for_station
    from stations import registry

    station, _area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    when = as_utc(at) if at is not None else utcnow()
    slot = status.station_slot(session=session, station=station, at=when)
    if slot.air_at is None:
        return bs.StationProgrammePublic(
            station_id=station_id,
            at=when,
            air_at=None,
            broadcast_ids=[],
            version=None,
            total_duration_ms=0,
            items=[],
            warnings=[
                {"code": "empty", "message": "Nothing scheduled within 3 hours of this time"}
            ],
        )
    programme = programme_for_station(
        session=session,
        station=station,
        bulletin_ids=slot.bulletin_ids,
        settings=settings,
        at=slot.air_at,
    )
    manifest = programme.manifest(lambda sha, codec="mp3": media_url(settings, sha, codec))
    return bs.StationProgrammePublic(
        station_id=station_id,
        at=when,
        air_at=slot.air_at,
        broadcast_ids=[b.id or 0 for b in slot.broadcasts],
        version=programme.version,
        total_duration_ms=programme.total_duration_ms,
        items=manifest["items"],
        warnings=manifest["warnings"],
    )
