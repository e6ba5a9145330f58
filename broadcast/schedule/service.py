"""Scheduling: broadcasts of approved bulletins to areas, once or on an RFC 5545 recurrence."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from pydantic_core import to_jsonable_python
from sqlalchemy import ColumnElement, case, cast, exists, func, literal, or_, type_coerce
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, SQLModel, col, select, update

from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus, Translation
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.delivery.models import FINAL_STATES, Delivery, DeliveryState, record_events_of
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from broadcast.relays.service import usable_source
from broadcast.schedule.blackouts import (
    BlackoutChoice,
    MovedAiring,
    blackouts_over,
    refuse_in_blackout,
    resolve_airings,
)
from broadcast.schedule.models import (
    Broadcast,
    BroadcastKind,
    BroadcastState,
    BroadcastStatus,
    BroadcastTarget,
    Occurrence,
    OccurrenceState,
)
from broadcast.webhooks import events as webhook_events
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError
from stations.models import Area, UTCTimestamp
from stations.protocol import MAX_REF_NUMBER, Priority
from stations.timeutil import as_utc, utcnow

# A recurrence must end (UNTIL or COUNT) and may not produce more airings than this.
MAX_OCCURRENCES = 2000

# States a cancel can still stop: the receiver has not started airing.
CANCELLABLE = (
    DeliveryState.queued,
    DeliveryState.sent,
    DeliveryState.received,
    DeliveryState.downloaded,
)


def occurrence_ref(broadcast_id: int, seq: int) -> str:
    """The protocol's `broadcast_id` of one airing: "<broadcast>.<seq>"."""
    return f"{broadcast_id}.{seq}"


def parse_occurrence_ref(ref: str) -> tuple[int, int] | None:
    """(broadcast id, seq) from a protocol `broadcast_id`, or None when it is not one."""
    head, sep, tail = ref.partition(".")
    # ASCII digits only ("²".isdigit() is true), and numbers an integer column holds.
    if not (sep and head.isascii() and tail.isascii() and head.isdigit() and tail.isdigit()):
        return None
    broadcast_id, seq = int(head), int(tail)
    if broadcast_id > MAX_REF_NUMBER or seq > MAX_REF_NUMBER:
        return None
    return broadcast_id, seq


def air_times(
    *, starts_at: datetime, rule: str | None, zone: ZoneInfo, limit: int = MAX_OCCURRENCES
) -> list[datetime]:
    """UTC air times: `starts_at`, then the recurrence computed on the wall clock of `zone`."""
    if starts_at.tzinfo is None:
        raise InvalidInputError(
            "starts_at needs an offset (RFC 3339, e.g. 2026-12-01T06:00:00+07:00)",
            code="broadcast.start_without_offset",
        )
    local_start = starts_at.astimezone(zone)
    if not rule:
        return [as_utc(starts_at)]
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise InvalidInputError(
            "Give the start as starts_at, not as DTSTART inside the rule",
            code="rrule.dtstart_given",
        )
    upper = text.upper()
    if "UNTIL=" not in upper and "COUNT=" not in upper:
        raise InvalidInputError(
            "The recurrence never ends. Probable cause: add UNTIL=... or COUNT=... to the RRULE",
            code="rrule.endless",
        )
    try:
        parsed = rrulestr(text, dtstart=local_start)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"Invalid RRULE '{rule}': {exc}", code="rrule.invalid", rule=rule
        ) from None
    if not isinstance(parsed, rrule):
        raise InvalidInputError(
            "Give one RRULE (RRULE sets are not supported)", code="rrule.set_given"
        )
    times: list[datetime] = []
    for moment in parsed:
        if len(times) >= limit:
            raise InvalidInputError(
                f"The recurrence gives more than {limit} airings. Probable cause: an UNTIL "
                "too far away; split the campaign",
                code="rrule.too_many_airings",
                limit=limit,
            )
        times.append(as_utc(moment))
    if not times:
        raise InvalidInputError("The recurrence gives no airing at all", code="rrule.no_airing")
    return times


def _common_ancestor(areas: Sequence[Area], session: Session) -> Area:
    paths = [a.path.strip("/").split("/") for a in areas]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if not common:
        return areas[0]
    found = session.get(Area, int(common[-1]))
    return found or areas[0]


def _check_bulletins(session: Session, bulletin_ids: Sequence[int], scope: Scope) -> list[Bulletin]:
    """The bulletins, each approved and readable in `scope` (as GET /bulletins/{id} reads).

    A bulletin outside the scope answers exactly like one that does not exist.
    """
    if not bulletin_ids:
        raise InvalidInputError(
            "A broadcast airs at least one bulletin", code="broadcast.no_bulletin"
        )
    if len(set(bulletin_ids)) != len(bulletin_ids):
        raise InvalidInputError("A bulletin is listed twice", code="broadcast.bulletin_twice")
    rows = {
        b.id: b
        for b in session.exec(
            select(Bulletin)
            .join(Area, col(Bulletin.area_id) == col(Area.id))
            .where(col(Bulletin.id).in_(list(bulletin_ids)), scope.clause())
        )
    }
    missing = [i for i in bulletin_ids if i not in rows]
    if missing:
        raise NotFoundError(
            f"Bulletin {missing[0]} not found", code="bulletin.not_found", bulletin_id=missing[0]
        )
    unapproved = [i for i in bulletin_ids if rows[i].status != BulletinStatus.approved]
    if unapproved:
        raise InvalidInputError(
            f"Bulletin(s) {', '.join(map(str, unapproved))} are not approved. "
            "Probable cause: only approved bulletins can be scheduled",
            code="broadcast.bulletin_not_approved",
            bulletin_ids=unapproved,
        )
    return [rows[i] for i in bulletin_ids]


def create_broadcast(
    *,
    session: Session,
    settings: Settings,
    actor: User | None,
    scope: Scope,
    bulletin_ids: Sequence[int],
    area_codes: Sequence[str],
    starts_at: datetime | None,
    rule: str | None = None,
    priority: Priority = Priority.normal,
    title: str | None = None,
    now: datetime | None = None,
    emergency_repeats: bool = False,
    blackout: BlackoutChoice = BlackoutChoice.refuse,
    relay_source_id: int | None = None,
    duration_seconds: int | None = None,
) -> Broadcast:
    """Schedule bulletins for areas in the caller's scope and compute every airing (UTC).

    Every area and every bulletin must lie inside `scope` (NotFoundError otherwise, the
    answer for one that does not exist). An emergency airs at once; with
    `emergency_repeats` (a CAP alert until its expiry) its `rule` repeats it from now.
    Other airings inside a blackout of a target area (or of an area above it) are
    refused, or with `blackout=move` moved to the blackout's end (`scheduled_broadcast`
    also says which).

    With `relay_source_id` it is a relay: no bulletins, the source's live stream aired
    for `duration_seconds` from each airing's time, to receivers that relay streams.
    """
    return scheduled_broadcast(
        session=session,
        settings=settings,
        actor=actor,
        scope=scope,
        bulletin_ids=bulletin_ids,
        area_codes=area_codes,
        starts_at=starts_at,
        rule=rule,
        priority=priority,
        title=title,
        now=now,
        emergency_repeats=emergency_repeats,
        blackout=blackout,
        relay_source_id=relay_source_id,
        duration_seconds=duration_seconds,
    ).broadcast


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A broadcast just scheduled, and the airings moved out of blackouts."""

    broadcast: Broadcast
    moved: list[MovedAiring]


MAX_RELAY_SECONDS = 24 * 3600


def _check_relay(
    *,
    session: Session,
    scope: Scope,
    areas: Sequence[Area],
    bulletin_ids: Sequence[int],
    relay_source_id: int | None,
    duration_seconds: int | None,
    priority: Priority,
) -> timedelta:
    """A relay's window: its source usable by every target, a duration, no bulletins."""
    if bulletin_ids:
        raise InvalidInputError(
            "A relay airs its stream, not bulletins", code="relay.with_bulletins"
        )
    if relay_source_id is None or duration_seconds is None:
        raise InvalidInputError(
            "A relay needs relay_source_id and duration_seconds", code="relay.incomplete"
        )
    if not 1 <= duration_seconds <= MAX_RELAY_SECONDS:
        raise InvalidInputError(
            f"A relay lasts from 1 second to {MAX_RELAY_SECONDS // 3600} hours",
            code="relay.bad_duration",
            limit=MAX_RELAY_SECONDS,
        )
    if priority is Priority.emergency:
        raise InvalidInputError(
            "An emergency airs bulletins; a relay cannot be one", code="relay.emergency"
        )
    usable_source(session=session, scope=scope, source_id=relay_source_id, areas=areas)
    return timedelta(seconds=duration_seconds)


def programme_length(session: Session, bulletin_ids: Sequence[int]) -> timedelta | None:
    """How long the bulletins may air, at most: every version's audio, one after another
    (a station airs only its languages, so it is never longer). None when no audio is
    known yet."""
    total = session.exec(
        select(func.sum(col(Translation.audio_duration_ms))).where(
            col(Translation.bulletin_id).in_(list(bulletin_ids)),
            col(Translation.audio_state) == AudioState.ready.value,
        )
    ).one()
    return timedelta(milliseconds=int(total)) if total else None


def scheduled_broadcast(
    *,
    session: Session,
    settings: Settings,
    actor: User | None,
    scope: Scope,
    bulletin_ids: Sequence[int],
    area_codes: Sequence[str],
    starts_at: datetime | None,
    rule: str | None = None,
    priority: Priority = Priority.normal,
    title: str | None = None,
    now: datetime | None = None,
    emergency_repeats: bool = False,
    blackout: BlackoutChoice = BlackoutChoice.refuse,
    relay_source_id: int | None = None,
    duration_seconds: int | None = None,
) -> Scheduled:
    """`create_broadcast`, saying which airings were moved out of blackouts."""
    now = now or utcnow()
    if not area_codes:
        raise InvalidInputError("A broadcast targets at least one area", code="broadcast.no_area")
    if len(set(area_codes)) != len(area_codes):
        raise InvalidInputError("An area is listed twice", code="broadcast.area_twice")
    areas = [get_area(session=session, code=code, scope=scope) for code in area_codes]
    relay = relay_source_id is not None or duration_seconds is not None
    if relay:
        length = _check_relay(
            session=session,
            scope=scope,
            areas=areas,
            bulletin_ids=bulletin_ids,
            relay_source_id=relay_source_id,
            duration_seconds=duration_seconds,
            priority=priority,
        )
    else:
        _check_bulletins(session, bulletin_ids, scope)
    zone = settings.zone
    if priority is Priority.emergency:
        if rule and not emergency_repeats:
            raise InvalidInputError(
                "An emergency airs at once; it cannot recur", code="broadcast.emergency_recurs"
            )
        starts_at = now  # sent at once and aired at once, whatever time was given
    if starts_at is None:
        raise InvalidInputError(
            "starts_at is required (RFC 3339 with an offset)", code="broadcast.start_required"
        )
    times = air_times(starts_at=starts_at, rule=rule, zone=zone)
    if priority is not Priority.emergency and times[-1] < now - timedelta(minutes=1):
        raise InvalidInputError(
            "Every airing of this broadcast lies in the past", code="broadcast.all_in_past"
        )
    if priority is not Priority.emergency:
        # A recurrence that began in the past starts with its next airing.
        times = [t for t in times if t >= now - timedelta(minutes=1)]
    moved: list[MovedAiring] = []
    if priority is not Priority.emergency:  # emergencies ignore blackouts
        times, moved = resolve_airings(
            blackouts=blackouts_over(session=session, areas=areas),
            times=times,
            duration=length if relay else programme_length(session, bulletin_ids),
            choice=blackout,
        )
    home = _common_ancestor(areas, session)
    broadcast = Broadcast(
        title=title,
        bulletin_ids=list(bulletin_ids),
        area_codes=list(area_codes),
        starts_at=as_utc(starts_at),
        rrule=rule,
        timezone=settings.timezone,
        priority=priority.value,
        created_by_id=actor.id if actor else None,
        area_id=home.id or 0,
    )
    if relay:
        broadcast.kind = BroadcastKind.relay
        broadcast.relay_source_id = relay_source_id
        broadcast.duration_seconds = duration_seconds
    session.add(broadcast)
    session.flush()
    bid = broadcast.id or 0
    for area in areas:
        session.add(BroadcastTarget(broadcast_id=bid, area_id=area.id or 0))
    lookahead = timedelta(minutes=settings.lookahead_minutes)
    expiry = timedelta(minutes=settings.programme_expiry_minutes)
    for seq, air_at in enumerate(times, start=1):
        urgent = priority is Priority.emergency
        session.add(
            Occurrence(
                broadcast_id=bid,
                seq=seq,
                air_at=air_at,
                dispatch_at=air_at if urgent else air_at - lookahead,
                # A relay received late still airs the rest of its window, not after it.
                expires_at=air_at + (length if relay else expiry),
            )
        )
    session.flush()
    webhook_events.broadcast_created(session, broadcast, times, now=now)
    return Scheduled(broadcast, moved)


def _visible(scope: Scope):  # type: ignore[no-untyped-def]
    """Broadcasts with a target inside the scope, or a target that contains the caller's area."""
    if scope.path is None:
        return None
    return (
        select(BroadcastTarget.broadcast_id)
        .join(Area, col(BroadcastTarget.area_id) == col(Area.id))
        .where(
            or_(
                col(Area.path).startswith(scope.path, autoescape=True),
                literal(scope.path).startswith(col(Area.path)),
            )
        )
    )


def visible_broadcast_ids(scope: Scope):  # type: ignore[no-untyped-def]
    """A subquery of the ids of the broadcasts the scope sees; None when it sees them all."""
    return _visible(scope)


def get_broadcast(*, session: Session, broadcast_id: int, scope: Scope) -> Broadcast:
    """The broadcast, or NotFoundError when absent or outside the caller's scope."""
    stmt = select(Broadcast).where(Broadcast.id == broadcast_id)
    visible = _visible(scope)
    if visible is not None:
        stmt = stmt.where(col(Broadcast.id).in_(visible))
    broadcast = session.exec(stmt).first()
    if broadcast is None:
        raise NotFoundError(
            f"Broadcast {broadcast_id} not found",
            code="broadcast.not_found",
            broadcast_id=broadcast_id,
        )
    return broadcast


def _airs_bulletin(session: Session, bulletin_id: int) -> ColumnElement[bool]:
    """Broadcasts whose `bulletin_ids` (a JSON array) hold the bulletin, tested in SQL."""
    ids = col(Broadcast.bulletin_ids)
    if session.get_bind().dialect.name == "postgresql":
        return cast(ids, postgresql.JSONB).contains([bulletin_id])
    elements = func.json_each(ids).table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value == bulletin_id))


def list_broadcasts(
    *,
    session: Session,
    scope: Scope,
    status: BroadcastStatus | None = None,
    bulletin_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[Broadcast], int]:
    """Broadcasts the caller may see, newest first."""
    stmt = select(Broadcast)
    visible = _visible(scope)
    if visible is not None:
        stmt = stmt.where(col(Broadcast.id).in_(visible))
    if status is not None:
        stmt = stmt.where(Broadcast.status == status)
    if bulletin_id is not None:
        stmt = stmt.where(_airs_bulletin(session, bulletin_id))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Broadcast.id).desc()).offset(offset).limit(limit)).all()
    return rows, total


def occurrences_of(*, session: Session, broadcast_id: int) -> Sequence[Occurrence]:
    """The airings of a broadcast in time order."""
    return session.exec(
        select(Occurrence)
        .where(Occurrence.broadcast_id == broadcast_id)
        .order_by(col(Occurrence.seq))
    ).all()


@dataclass(frozen=True, slots=True)
class AiringSummary:
    """How many airings a broadcast has, the next, first and last, how many on air or to come."""

    count: int = 0
    next_air_at: datetime | None = None
    on_air: int = 0  # air time come, some receivers not settled
    to_come: int = 0  # not yet dispatched, or dispatched ahead of their air time
    first_air_at: datetime | None = None
    last_air_at: datetime | None = None
    # Of `count`, airings cancelled (one by one, by a series edit, or with the broadcast),
    # and the first and last of the others: what the schedule's wording counts.
    cancelled: int = 0
    first_kept_at: datetime | None = None
    last_kept_at: datetime | None = None

    def state(self, status: BroadcastStatus) -> BroadcastState:
        """The broadcast's derived state."""
        if status == BroadcastStatus.cancelled:
            return BroadcastState.cancelled
        if self.on_air:
            return BroadcastState.airing
        if self.to_come:
            return BroadcastState.scheduled
        return BroadcastState.done


def airing_summaries(
    *, session: Session, broadcast_ids: Sequence[int], now: datetime | None = None
) -> dict[int, AiringSummary]:
    """The airing counts and next air time of each broadcast: one query for all of them."""
    if not broadcast_ids:
        return {}
    now = now or utcnow()
    air_at = col(Occurrence.air_at)
    state = col(Occurrence.state)
    upcoming = type_coerce(func.min(case((air_at >= now, air_at))), UTCTimestamp())
    first = type_coerce(func.min(air_at), UTCTimestamp())
    last = type_coerce(func.max(air_at), UTCTimestamp())
    unsettled = (
        select(col(Delivery.id))
        .where(col(Delivery.occurrence_id) == col(Occurrence.id))
        .where(col(Delivery.state).not_in([s.value for s in FINAL_STATES]))
        .exists()
    )
    dispatched = state == OccurrenceState.dispatched.value
    on_air = func.sum(case((dispatched & (air_at <= now) & unsettled, 1), else_=0))
    to_come = func.sum(
        case(
            (state == OccurrenceState.pending.value, 1),
            (dispatched & (air_at > now), 1),
            else_=0,
        )
    )
    is_cancelled = state == OccurrenceState.cancelled.value
    cancelled = func.sum(case((is_cancelled, 1), else_=0))
    first_kept = type_coerce(func.min(case((~is_cancelled, air_at))), UTCTimestamp())
    last_kept = type_coerce(func.max(case((~is_cancelled, air_at))), UTCTimestamp())
    rows = session.execute(
        sa_select(
            col(Occurrence.broadcast_id),
            func.count(),
            upcoming,
            on_air,
            to_come,
            first,
            last,
            cancelled,
            first_kept,
            last_kept,
        )
        .where(col(Occurrence.broadcast_id).in_(list(broadcast_ids)))
        .group_by(col(Occurrence.broadcast_id))
    ).all()
    return {
        bid: AiringSummary(
            count, nxt, int(live or 0), int(later or 0), start, end, int(gone or 0), kept, kept_end
        )
        for bid, count, nxt, live, later, start, end, gone, kept, kept_end in rows
    }


def cancel_broadcast(*, session: Session, broadcast: Broadcast, now: datetime | None = None) -> int:
    """Cancel every airing not yet aired; the worker then sends `cancel` to the receivers.

    Returns how many deliveries were cancelled. Each airing's deliveries are cancelled by
    one UPDATE decided by the database on the rows' current state, so an ack stored in
    the meantime (a `started`: no longer cancellable) is never overwritten; on
    PostgreSQL it waits for an ingestor's batch holding the rows and re-checks the state
    on what the batch wrote. The as-run events follow from the rows themselves.
    """
    now = now or utcnow()
    if broadcast.status == BroadcastStatus.cancelled:
        raise ConflictError(
            f"Broadcast {broadcast.id} is already cancelled",
            code="broadcast.already_cancelled",
            broadcast_id=broadcast.id,
        )
    broadcast.status = BroadcastStatus.cancelled
    broadcast.cancelled_at = now
    session.add(broadcast)
    cancelled = 0
    for occ in occurrences_of(session=session, broadcast_id=broadcast.id or 0):
        if occ.state == OccurrenceState.cancelled or occ.settled:
            continue
        cancelled += _cancel_occurrence(session, occ, now)
    session.flush()
    return cancelled


def _not_movable(ref: str, occ: Occurrence) -> ConflictError:
    return ConflictError(
        f"Airing {ref} is {occ.state}: only an airing not yet sent can be moved "
        "(cancel it and schedule the bulletin anew)",
        code="airing.not_movable",
        ref=ref,
        state=str(occ.state),
    )


def hold_if_pending(session: Session, occurrence_id: int) -> bool:
    """Hold the airing's row for this transaction if it is still `pending`.

    A no-op UPDATE that takes the row's lock (PostgreSQL; on SQLite the write lock is
    the database's) and tests the state as it is now, not as it was read: whoever then
    writes the airing in this transaction cannot overwrite a dispatch or a cancel it
    never saw.
    """
    o = SQLModel.metadata.tables["occurrence"]
    held = session.connection().execute(
        update(o)
        .where(o.c.id == occurrence_id, o.c.state == OccurrenceState.pending.value)
        .values(state=OccurrenceState.pending.value)
    )
    return bool(held.rowcount)


def _cancel_occurrence(session: Session, occ: Occurrence, now: datetime) -> int:
    """Cancel one airing not yet settled; how many deliveries were cancelled.

    The airing is written only if it is still in the state it was read in: a dispatch
    (or a settling) committed since then is read again and cancelled for what it now
    is, so receivers that were just sent it get their `cancel`.
    """
    o = SQLModel.metadata.tables["occurrence"]
    for _attempt in range(3):  # pending -> dispatched -> settled: it cannot change more
        if occ.state == OccurrenceState.cancelled or occ.settled:
            return 0
        values: dict[str, object] = {"state": OccurrenceState.cancelled.value}
        if occ.state != OccurrenceState.dispatched:
            # Nothing was sent, nothing to take back.
            values.update(cancel_sent_at=now, settled=True)
        written = (
            session.connection()
            .execute(
                update(o)
                .where(o.c.id == occ.id, o.c.state == str(occ.state), o.c.settled.is_(False))
                .values(**values)
            )
            .rowcount
        )
        session.refresh(occ)
        if written:
            break
    else:
        return 0
    mine = col(Delivery.occurrence_id) == occ.id
    result = session.exec(
        update(Delivery)
        .where(mine, col(Delivery.state).in_([s.value for s in CANCELLABLE]))
        .values(state=DeliveryState.cancelled.value, finished_at=now, updated_at=now)
    )
    if result.rowcount:
        # Only this cancel makes a delivery `cancelled` (an airing is cancelled once).
        where = mine & (col(Delivery.state) == DeliveryState.cancelled.value)
        record_events_of(session.connection(), where, at=now, now=now)
    return int(result.rowcount)


def _airing(session: Session, broadcast: Broadcast, seq: int) -> Occurrence:
    occ = session.exec(
        select(Occurrence).where(Occurrence.broadcast_id == broadcast.id, Occurrence.seq == seq)
    ).first()
    if occ is None:
        raise NotFoundError(
            f"Broadcast {broadcast.id} has no airing {seq}",
            code="broadcast.airing_not_found",
            broadcast_id=broadcast.id,
            seq=seq,
        )
    return occ


def cancel_one_airing(
    *,
    session: Session,
    principal: Principal,
    broadcast_id: int,
    seq: int,
    now: datetime | None = None,
    wake: Callable[[], None] | None = None,
) -> tuple[Occurrence, int]:
    """An editor cancels one airing of a broadcast; the others stay as they are.

    Receivers that were sent it and have not aired it get a `cancel`, as for a whole
    broadcast. Committed and audit-logged; returns the airing and how many deliveries
    were cancelled.
    """
    principal.require(Role.editor)
    now = now or utcnow()
    broadcast = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    occ = _airing(session, broadcast, seq)
    ref = occurrence_ref(broadcast_id, seq)
    if occ.state == OccurrenceState.cancelled:
        raise ConflictError(
            f"Airing {ref} is already cancelled", code="airing.already_cancelled", ref=ref
        )
    if occ.settled:
        raise ConflictError(
            f"Airing {ref} has already ended ({occ.state}): it cannot be cancelled",
            code="airing.already_ended",
            ref=ref,
        )
    count = _cancel_occurrence(session, occ, now)
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.cancel_airing",
        object_type="broadcast",
        object_id=broadcast_id,
        area_id=broadcast.area_id,
        detail={"occurrence": seq, "cancelled_deliveries": count},
    )
    session.commit()
    if wake is not None:
        wake()
    return occ, count


def move_one_airing(
    *,
    session: Session,
    principal: Principal,
    broadcast_id: int,
    seq: int,
    air_at: datetime,
    now: datetime | None = None,
    wake: Callable[[], None] | None = None,
) -> Occurrence:
    """An editor moves one airing not yet sent to another time.

    The airing keeps its number (receivers and reports know it as `<broadcast>.<seq>`)
    and stays between the airings before and after it; its dispatch and expiry move with
    it. An airing already sent to receivers cannot be moved: cancel it and schedule the
    bulletin anew.
    """
    principal.require(Role.editor)
    now = now or utcnow()
    if air_at.tzinfo is None:
        raise InvalidInputError(
            "air_at needs an offset (RFC 3339)", code="airing.time_without_offset"
        )
    broadcast = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    occ = _airing(session, broadcast, seq)
    ref = occurrence_ref(broadcast_id, seq)
    if occ.state != OccurrenceState.pending:
        raise _not_movable(ref, occ)
    new = as_utc(air_at)
    if new <= now:
        raise InvalidInputError(
            f"The new time {new.isoformat()} has passed", code="airing.in_past", air_at=new
        )
    neighbours = session.exec(
        select(Occurrence).where(
            Occurrence.broadcast_id == broadcast_id,
            col(Occurrence.seq).in_([seq - 1, seq + 1]),
        )
    ).all()
    for other in neighbours:
        other_at = as_utc(other.air_at)
        if (other.seq < seq and new <= other_at) or (other.seq > seq and new >= other_at):
            raise InvalidInputError(
                f"Airing {ref} must stay between the airings before and after it "
                f"({other.seq}: {other_at.isoformat()})",
                code="airing.out_of_order",
                ref=ref,
                other=other.seq,
                other_at=other_at,
            )
    if Priority(broadcast.priority) is not Priority.emergency:
        targets = session.exec(
            select(Area)
            .join(BroadcastTarget, col(BroadcastTarget.area_id) == col(Area.id))
            .where(BroadcastTarget.broadcast_id == broadcast_id)
        ).all()
        refuse_in_blackout(
            session=session,
            areas=targets,
            air_at=new,
            duration=programme_length(session, broadcast.bulletin_ids),
        )
    if not hold_if_pending(session, occ.id or 0):  # dispatched (or cancelled) meanwhile
        session.refresh(occ)
        raise _not_movable(ref, occ)
    before = as_utc(occ.air_at)
    delta = new - before
    occ.air_at = new
    occ.dispatch_at = as_utc(occ.dispatch_at) + delta
    occ.expires_at = as_utc(occ.expires_at) + delta
    session.add(occ)
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.move_airing",
        object_type="broadcast",
        object_id=broadcast_id,
        area_id=broadcast.area_id,
        detail={
            "occurrence": seq,
            "from": to_jsonable_python(before),
            "to": to_jsonable_python(new),
        },
    )
    session.commit()
    if wake is not None:
        wake()
    return occ


# --- what editors do: checked, written to the audit log ---------------------------------


def schedule_broadcast(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    bulletin_ids: Sequence[int],
    area_codes: Sequence[str],
    starts_at: datetime | None,
    rule: str | None = None,
    priority: Priority = Priority.normal,
    title: str | None = None,
    wake: Callable[[], None] | None = None,
    blackout: BlackoutChoice = BlackoutChoice.refuse,
    relay_source_id: int | None = None,
    duration_seconds: int | None = None,
) -> Scheduled:
    """An editor schedules bulletins for areas; committed, then the dispatcher is woken.

    The commit makes the broadcast visible to the worker before `wake` lets it dispatch
    at once (an emergency must not wait for the next pass). Airings inside a blackout
    are refused, or moved to its end with `blackout=move`: the result lists them.
    """
    principal.require(Role.editor)
    result = scheduled_broadcast(
        session=session,
        settings=settings,
        actor=principal.user,
        scope=principal.scope,
        bulletin_ids=bulletin_ids,
        area_codes=area_codes,
        starts_at=starts_at,
        rule=rule,
        priority=priority,
        title=title,
        blackout=blackout,
        relay_source_id=relay_source_id,
        duration_seconds=duration_seconds,
    )
    broadcast = result.broadcast
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.create",
        object_type="broadcast",
        object_id=broadcast.id or 0,
        area_id=broadcast.area_id,
        detail={
            "bulletin_ids": list(bulletin_ids),
            "area_codes": list(area_codes),
            "starts_at": to_jsonable_python(starts_at),
            "rrule": rule,
            "priority": priority.value,
            "title": title,
            **(
                {"relay_source_id": relay_source_id, "duration_seconds": duration_seconds}
                if broadcast.kind == BroadcastKind.relay
                else {}
            ),
            "moved_out_of_blackouts": [
                {"from": to_jsonable_python(m.before), "to": to_jsonable_python(m.after)}
                for m in result.moved
            ],
        },
    )
    session.commit()
    if wake is not None:
        wake()
    return result


def cancel_scheduled_broadcast(
    *,
    session: Session,
    principal: Principal,
    broadcast_id: int,
    wake: Callable[[], None] | None = None,
) -> tuple[Broadcast, int]:
    """An editor cancels a broadcast; committed, then the dispatcher is woken to send `cancel`.

    Returns the broadcast and how many deliveries were cancelled.
    """
    principal.require(Role.editor)
    broadcast = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    count = cancel_broadcast(session=session, broadcast=broadcast)
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.cancel",
        object_type="broadcast",
        object_id=broadcast_id,
        area_id=broadcast.area_id,
        detail={"cancelled_deliveries": count},
    )
    session.commit()
    if wake is not None:
        wake()
    return broadcast, count
