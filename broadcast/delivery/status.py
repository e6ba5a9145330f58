"""What happened to a broadcast: counts by state, station and area roll-ups, the as-run list.

Every read here is set-based: the counts and roll-ups of a broadcast come from one
aggregate query, and its deliveries are read one page at a time, failing ones first,
whatever the number of receivers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python
from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from broadcast.core import audit
from broadcast.delivery.models import AIRED_STATES, Delivery, DeliveryEvent, DeliveryState
from broadcast.delivery.state import Rules, is_late, late_clause, parse_flags, supersedes
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from broadcast.schedule.models import Broadcast, BroadcastTarget, Occurrence, OccurrenceState
from broadcast.schedule.service import get_broadcast, occurrence_ref
from stations.areas import Scope
from stations.errors import InvalidInputError, NotFoundError
from stations.models import Area, Station, StationKind
from stations.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from broadcast.core.settings import Settings

DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]

# Deliveries per page of a status unless the caller asks otherwise, and at most.
DEFAULT_ROWS = 500
MAX_ROWS = 2000

# The order deliveries are listed in: those that failed first, then those left unsent,
# those still on their way, the cancelled, and the aired last.
LISTING_RANK: dict[DeliveryState, int] = {
    DeliveryState.failed: 0,
    DeliveryState.rejected: 0,
    DeliveryState.missed: 0,
    DeliveryState.expired: 0,
    DeliveryState.no_content: 1,
    DeliveryState.blocked: 1,
    DeliveryState.queued: 2,
    DeliveryState.sent: 2,
    DeliveryState.received: 2,
    DeliveryState.downloaded: 2,
    DeliveryState.started: 2,
    DeliveryState.cancelled: 3,
    DeliveryState.completed: 4,
    DeliveryState.confirmed: 4,
}
FAILING_STATES = frozenset(s for s, rank in LISTING_RANK.items() if rank == 0)


@dataclass
class Rollup:
    """Deliveries of one station or area, counted by state."""

    key: str
    name: str
    counts: dict[str, int] = field(default_factory=dict)
    total: int = 0
    aired: int = 0
    late: int = 0  # of the aired, those that started late


@dataclass
class DeliveryRow:
    """One receiver's (or legacy station's) delivery with its times."""

    delivery: Delivery
    station: Station
    area: Area
    occurrence: Occurrence
    late: bool = False  # aired, but started later than air_at + LOA_LATE_AFTER_SECONDS
    flags: list[str] = field(default_factory=list)  # plausibility flags, sorted


@dataclass
class StatusReport:
    """The status of a broadcast (one airing or all), with one page of its deliveries.

    `counts`, `total`, `late`, `stations` and `areas` cover every delivery in the
    caller's scope (of the airing asked for); `rows` is the page asked for of those
    matching the filters, `matched` how many match them.
    """

    broadcast: Broadcast
    occurrences: list[Occurrence]
    counts: dict[str, int]
    total: int
    stations: list[Rollup]
    areas: list[Rollup]
    rows: list[DeliveryRow]
    late: int = 0  # aired deliveries that started late (counted in `aired` too)
    matched: int = 0
    limit: int = DEFAULT_ROWS
    offset: int = 0

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, or None on the last one."""
        following = self.offset + len(self.rows)
        return following if following < self.matched and self.rows else None


def _listing_order() -> Any:
    return case(
        *((col(Delivery.state) == state.value, rank) for state, rank in LISTING_RANK.items()),
        else_=len(LISTING_RANK),
    )


def broadcast_status(
    *,
    session: Session,
    broadcast: Broadcast,
    scope: Scope,
    seq: int | None = None,
    late_after: timedelta | None = None,
    states: Collection[DeliveryState] | None = None,
    station_id: int | None = None,
    limit: int = DEFAULT_ROWS,
    offset: int = 0,
) -> StatusReport:
    """Counts, roll-ups and one page of rows for the caller's part of a broadcast.

    `late_after` is LOA_LATE_AFTER_SECONDS (its default when not given). `states` and
    `station_id` choose the rows listed (the counts cover every delivery); rows come
    failing first, then by airing, station and receiver. Four queries whatever the size.
    """
    late_after = Rules().late_after if late_after is None else late_after
    limit, offset = max(1, min(limit, MAX_ROWS)), max(0, offset)
    occs = session.exec(
        select(Occurrence)
        .where(Occurrence.broadcast_id == broadcast.id)
        .order_by(col(Occurrence.seq))
    ).all()
    if seq is not None:
        occs = [o for o in occs if o.seq == seq]
        if not occs:
            raise NotFoundError(
                f"Broadcast {broadcast.id} has no airing {seq}",
                code="broadcast.airing_not_found",
                broadcast_id=broadcast.id,
                seq=seq,
            )
    by_id = {o.id: o for o in occs}
    where = [col(Delivery.broadcast_id) == broadcast.id, scope.clause()]
    if seq is not None:
        where.append(col(Delivery.occurrence_id) == occs[0].id)
    dialect = session.get_bind().dialect.name
    late = late_clause(
        DELIVERY, OCCURRENCE, late_after_seconds=int(late_after.total_seconds()), dialect=dialect
    )
    grouped = session.execute(
        sa_select(
            col(Station.id),
            col(Station.name),
            col(Area.id),
            col(Area.code),
            col(Area.name),
            col(Delivery.state),
            func.count(),
            func.sum(case((late, 1), else_=0)),
        )
        .select_from(Delivery)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(*where)
        .group_by(
            col(Station.id),
            col(Station.name),
            col(Area.id),
            col(Area.code),
            col(Area.name),
            col(Delivery.state),
        )
        .order_by(col(Station.id), col(Delivery.state))
    ).all()
    counts: dict[str, int] = {}
    stations: dict[int, Rollup] = {}
    areas: dict[int, Rollup] = {}
    wanted = {DeliveryState(s).value for s in states} if states else None
    matched = 0
    for sid, sname, aid, acode, aname, state, n, n_late in grouped:
        n, n_late = int(n), int(n_late or 0)
        counts[state] = counts.get(state, 0) + n
        for roll in (
            stations.setdefault(sid, Rollup(key=str(sid), name=sname)),
            areas.setdefault(aid, Rollup(key=acode, name=aname)),
        ):
            roll.counts[state] = roll.counts.get(state, 0) + n
            roll.total += n
            if state in AIRED_STATES:
                roll.aired += n
            roll.late += n_late
        if (wanted is None or state in wanted) and (station_id is None or sid == station_id):
            matched += n
    rows: list[DeliveryRow] = []
    if matched > offset:
        listed = select(Delivery, Station, Area).join(
            Station, col(Delivery.station_id) == col(Station.id)
        )
        listed = listed.join(Area, col(Station.area_id) == col(Area.id)).where(*where)
        listed = listed.join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        if wanted is not None:
            listed = listed.where(col(Delivery.state).in_(sorted(wanted)))
        if station_id is not None:
            listed = listed.where(col(Delivery.station_id) == station_id)
        page = session.exec(
            listed.order_by(
                _listing_order(),
                col(Occurrence.seq),
                col(Station.id),
                col(Delivery.target),
            )
            .offset(offset)
            .limit(limit)
        ).all()
        for d, s, a in page:
            occ = by_id.get(d.occurrence_id)
            if occ is not None:
                rows.append(_row(d, s, a, occ, late_after))
    return StatusReport(
        broadcast=broadcast,
        occurrences=list(occs),
        counts=counts,
        total=sum(counts.values()),
        stations=list(stations.values()),
        areas=list(areas.values()),
        rows=rows,
        late=sum(r.late for r in stations.values()),
        matched=matched,
        limit=limit,
        offset=offset,
    )


def _row(d: Delivery, s: Station, a: Area, occ: Occurrence, late_after: timedelta) -> DeliveryRow:
    late = is_late(
        d.state,
        as_utc(occ.air_at),
        _utc(d.started_at),
        _utc(d.completed_at),
        d.duration_ms,
        late_after,
    )
    return DeliveryRow(d, s, a, occ, late, sorted(parse_flags(d.flags)))


def delivery_row(
    *, session: Session, delivery_id: int, late_after: timedelta | None = None
) -> DeliveryRow:
    """One delivery as a broadcast's status lists it."""
    late_after = Rules().late_after if late_after is None else late_after
    found = session.exec(
        select(Delivery, Station, Area, Occurrence)
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .where(Delivery.id == delivery_id)
    ).one()
    return _row(*found, late_after)


def state_counts(
    *, session: Session, scope: Scope, broadcast_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Deliveries in the caller's scope by state, per broadcast: one query for them all."""
    if not broadcast_ids:
        return {}
    out: dict[int, dict[str, int]] = {}
    for bid, state, n in session.execute(
        sa_select(col(Delivery.broadcast_id), col(Delivery.state), func.count())
        .select_from(Delivery)
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(col(Delivery.broadcast_id).in_(list(broadcast_ids)), scope.clause())
        .group_by(col(Delivery.broadcast_id), col(Delivery.state))
    ).all():
        out.setdefault(bid, {})[state] = int(n)
    return out


def legacy_states(
    *, session: Session, scope: Scope, occurrence_ids: Sequence[int]
) -> dict[tuple[int, int], str]:
    """Where each legacy station in scope stands with each airing: one query."""
    if not occurrence_ids:
        return {}
    rows = session.exec(
        select(Delivery.occurrence_id, Delivery.station_id, Delivery.state)
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(
            col(Delivery.occurrence_id).in_(list(occurrence_ids)),
            col(Delivery.receiver_id).is_(None),
            scope.clause(),
        )
    ).all()
    return {(oid, sid): str(state) for oid, sid, state in rows}


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def confirm_airing(
    *,
    session: Session,
    actor: User,
    scope: Scope,
    broadcast: Broadcast,
    station_id: int,
    aired_at: datetime,
    note: str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Delivery:
    """An operator confirms that a legacy station aired the broadcast (nearest airing).

    `aired_at` is when it started airing. It may not lie in the future, nor before the
    airing's air time, by more than LOA_CLOCK_SKEW_SECONDS (from `settings`).
    """
    row = session.exec(
        select(Station, Area)
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(Station.id == station_id, scope.clause())
    ).first()
    if row is None:
        raise NotFoundError(
            f"Station {station_id} not found", code="station.not_found", station_id=station_id
        )
    station, _area = row
    if station.kind != StationKind.legacy:
        raise InvalidInputError(
            f"Station {station_id} is an IP station. Probable cause: its receivers "
            "acknowledge by themselves; only legacy stations are confirmed by hand",
            code="confirmation.ip_station",
            station_id=station_id,
        )
    if aired_at.tzinfo is None:
        raise InvalidInputError(
            "aired_at needs an offset (RFC 3339)", code="confirmation.time_without_offset"
        )
    rules = Rules.of(settings) if settings is not None else Rules()
    now = now or utcnow()

    def shown(moment: datetime) -> str:
        zone = settings.zone if settings is not None else None
        return (moment.astimezone(zone) if zone else as_utc(moment)).strftime("%d/%m/%Y %H:%M")

    if aired_at > now + rules.skew:
        raise InvalidInputError(
            f"aired_at {shown(aired_at)} is in the future (now {shown(now)}). Probable cause: "
            "a confirmation typed before the airing, or the wrong day",
            code="confirmation.in_future",
            aired_at=aired_at,
            now=now,
        )
    candidates = session.exec(
        select(Delivery, Occurrence)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .where(Delivery.broadcast_id == broadcast.id, Delivery.station_id == station_id)
    ).all()
    if not candidates:
        raise InvalidInputError(
            f"Station {station_id} has no delivery of broadcast {broadcast.id}. Probable "
            "cause: the airing has not been dispatched yet, or the station is not targeted",
            code="confirmation.no_delivery",
            station_id=station_id,
            broadcast_id=broadcast.id,
        )
    delivery, occ = min(
        candidates, key=lambda pair: abs((as_utc(pair[1].air_at) - aired_at).total_seconds())
    )
    air_at = as_utc(occ.air_at)
    if aired_at < air_at - rules.skew:
        raise InvalidInputError(
            f"aired_at {shown(aired_at)} is before the air time {shown(air_at)} of the "
            f"nearest airing (by more than {int(rules.skew.total_seconds())} s). Probable "
            "cause: a typing mistake, or a confirmation meant for another airing",
            code="confirmation.before_air_time",
            aired_at=aired_at,
            air_at=air_at,
            skew_seconds=int(rules.skew.total_seconds()),
        )
    if supersedes(DeliveryState.confirmed.value, delivery.state):
        delivery.state = DeliveryState.confirmed
    # The operator says when it started airing: the start decides lateness; completed_at
    # keeps the same time, as it always has.
    delivery.started_at = aired_at
    delivery.completed_at = aired_at
    delivery.detail = note
    delivery.updated_at = utcnow()
    session.add(delivery)
    session.flush()
    existing = session.exec(
        select(DeliveryEvent).where(
            DeliveryEvent.delivery_id == delivery.id,
            DeliveryEvent.attempt == delivery.attempt,
            DeliveryEvent.state == "confirmed",
        )
    ).first()
    event = existing or DeliveryEvent(
        delivery_id=delivery.id or 0, attempt=delivery.attempt, state="confirmed", at=aired_at
    )
    event.at, event.source, event.actor_id, event.detail = aired_at, "operator", actor.id, note
    event.recorded_at = utcnow()
    session.add(event)
    session.flush()
    return delivery


@dataclass(frozen=True, slots=True)
class ReceiverProgramme:
    """The programme a receiver holds: the latest airing it received."""

    broadcast_id: str
    version: str | None
    state: str
    air_at: datetime


def receiver_programme(*, session: Session, receiver_id: str) -> ReceiverProgramme | None:
    """The latest airing this receiver received (or aired), if any."""
    held = [
        DeliveryState.received,
        DeliveryState.downloaded,
        DeliveryState.started,
        DeliveryState.completed,
    ]
    row = session.exec(
        select(Delivery, Occurrence)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .where(Delivery.receiver_id == receiver_id, col(Delivery.state).in_(held))
        .order_by(col(Occurrence.air_at).desc())
    ).first()
    if row is None:
        return None
    delivery, occ = row
    return ReceiverProgramme(
        broadcast_id=occurrence_ref(occ.broadcast_id, occ.seq),
        version=delivery.version,
        state=delivery.state,
        air_at=as_utc(occ.air_at),
    )


# The slot around a time: airings within this distance of it, merged when simultaneous.
SLOT_WINDOW = timedelta(hours=3)


@dataclass
class StationSlot:
    """The airings a station has around a time and the bulletins they air, in order."""

    air_at: datetime | None
    broadcasts: list[Broadcast]
    bulletin_ids: list[int]


def station_slot(*, session: Session, station: Station, at: datetime) -> StationSlot:
    """The scheduled airing nearest `at` (within SLOT_WINDOW) for the station's area."""
    area = session.get(Area, station.area_id)
    if area is None:
        return StationSlot(None, [], [])
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    rows: Sequence[tuple[Occurrence, Broadcast]] = session.exec(
        select(Occurrence, Broadcast)
        .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
        .join(BroadcastTarget, col(BroadcastTarget.broadcast_id) == col(Broadcast.id))
        .where(
            col(BroadcastTarget.area_id).in_(ids),
            col(Occurrence.state) != OccurrenceState.cancelled,
            col(Occurrence.air_at) >= at - SLOT_WINDOW,
            col(Occurrence.air_at) <= at + SLOT_WINDOW,
        )
    ).all()
    if not rows:
        return StationSlot(None, [], [])
    nearest = min((as_utc(o.air_at) for o, _b in rows), key=lambda t: abs((t - at).total_seconds()))
    chosen: dict[int, Broadcast] = {}
    for occ, broadcast in rows:
        if as_utc(occ.air_at) == nearest:
            chosen.setdefault(broadcast.id or 0, broadcast)
    bulletin_ids: list[int] = []
    for broadcast in sorted(chosen.values(), key=lambda b: b.id or 0):
        for bid in broadcast.bulletin_ids:
            if bid not in bulletin_ids:
                bulletin_ids.append(bid)
    return StationSlot(nearest, list(chosen.values()), bulletin_ids)


def confirm_station_airing(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    broadcast_id: int,
    station_id: int,
    aired_at: datetime,
    note: str | None = None,
    now: datetime | None = None,
) -> DeliveryRow:
    """An operator (or editor) confirms a legacy station aired a broadcast; audit-logged.

    Returns the confirmed delivery's row as the broadcast's status shows it.
    """
    principal.require(Role.operator, Role.editor)
    broadcast = get_broadcast(session=session, broadcast_id=broadcast_id, scope=principal.scope)
    delivery = confirm_airing(
        session=session,
        actor=principal.user,
        scope=principal.scope,
        broadcast=broadcast,
        station_id=station_id,
        aired_at=aired_at,
        note=note,
        settings=settings,
        now=now,
    )
    row = delivery_row(
        session=session,
        delivery_id=delivery.id or 0,
        late_after=timedelta(seconds=settings.late_after_seconds),
    )
    audit.record(
        session=session,
        actor=principal.user,
        action="broadcast.confirm",
        object_type="broadcast",
        object_id=broadcast_id,
        area_id=row.station.area_id,
        detail={
            "station_id": station_id,
            "aired_at": to_jsonable_python(aired_at),
            "note": note,
        },
    )
    return row
