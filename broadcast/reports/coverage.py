"""Reports: what aired, on time or late, what was missed, coverage and availability.

The unit of the as-run report is one station's airing of one occurrence
("station airing"). Its outcome is, in this order:

- *cancelled* when the airing (or the broadcast, with nothing aired) was cancelled;
- *aired* when any of its deliveries completed (IP receivers) or was confirmed
  (legacy stations). It aired *on time* when its earliest aired delivery started
  no later than air time + `LOA_LATE_AFTER_SECONDS`, else *late*: a station airing
  is late only when every delivery that aired started late. A delivery's start is
  its `started_at`, else `completed_at` minus its duration; an aired delivery that
  reports neither counts as on time (nothing says it was late);
- *no content* when nothing was sent to the station because nothing was airable
  (its deliveries are `no_content` or `blocked`, or the airing is `no_content`);
  *blocked* is the part of it where a required language version was missing.
  Neither aired nor missed;
- *missed* when every delivery ended without airing;
- *pending* otherwise (not yet due, or still under way).

*Planned* counts every station airing not cancelled: planned = on time + late +
missed + no content + pending (+ no version, for languages).

Per language, a station airing counts for each language the station airs. A
language counts as aired only when an item in it was played: an item of that
language in the command the aired delivery received (legacy stations, which get no
command: a version of the bulletins in that language). A language without any item
in a dispatched airing counts as *no version*, whatever the airing's outcome, and
is neither aired nor missed. Before dispatch nothing is known yet: the language
follows the airing (pending).

Coverage is the receiver-level share: deliveries that completed or were confirmed
over deliveries sent (not cancelled, and not left unsent for lack of content).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from broadcast.bulletins.models import Bulletin, Translation
from broadcast.core.db import driver_list, in_list
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import stations_of_broadcasts
from broadcast.delivery.models import (
    AIRED_STATES,
    FINAL_STATES,
    NOT_SENT_STATES,
    Delivery,
    DeliveryState,
)
from broadcast.delivery.state import is_late, late_clause
from broadcast.schedule.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastTarget,
    Occurrence,
    OccurrenceState,
)
from broadcast.schedule.service import visible_broadcast_ids
from stations.areas import Scope, get_area
from stations.errors import InvalidInputError
from stations.models import Area, AreaLevel, Language, Receiver, Station
from stations.protocol import IDENT_LANGUAGE
from stations.timeutil import as_utc

DELIVERY = SQLModel.metadata.tables["delivery"]
OCCURRENCE = SQLModel.metadata.tables["occurrence"]

# Longest period one report may span: a year of daily airings stays quick to compute.
MAX_REPORT_DAYS = 400
# Days a report may name: each day's start and end must exist in UTC as well, which
# the calendar's own ends (year 1, year 9999) do not allow.
FIRST_REPORT_DAY = date(1970, 1, 1)
LAST_REPORT_DAY = date(9999, 12, 30)

# Ends of a delivery that was sent and did not air: a receiver's (or station's) problem.
# Deliveries never sent for lack of content (NOT_SENT_STATES) are no such problem.
NOT_AIRED_END = frozenset(FINAL_STATES - AIRED_STATES - NOT_SENT_STATES - {DeliveryState.cancelled})
# How late a start may be and still count as on time, unless the caller says otherwise.
LATE_AFTER_SECONDS: int = Settings.model_fields["late_after_seconds"].default


# --- airings ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Airing:
    """One scheduled airing of a broadcast."""

    occurrence: Occurrence
    broadcast: Broadcast


def _airings_query(
    *,
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    area_code: str | None,
    include_cancelled: bool,
) -> Any:
    """The airings in [start, end) of the broadcasts the caller may see (a statement).

    With `area_code`, only broadcasts with a target inside that area or containing it.
    """
    stmt = (
        select(Occurrence, Broadcast)
        .join(Broadcast, col(Broadcast.id) == col(Occurrence.broadcast_id))
        .where(col(Occurrence.air_at) >= start, col(Occurrence.air_at) < end)
    )
    visible = visible_broadcast_ids(scope)
    if visible is not None:
        stmt = stmt.where(col(Broadcast.id).in_(visible))
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        inside = (
            select(BroadcastTarget.broadcast_id)
            .join(Area, col(BroadcastTarget.area_id) == col(Area.id))
            .where(
                or_(
                    col(Area.path).startswith(root.path, autoescape=True),
                    literal(root.path).startswith(col(Area.path)),
                )
            )
        )
        stmt = stmt.where(col(Broadcast.id).in_(inside))
    if not include_cancelled:
        stmt = stmt.where(col(Occurrence.state) != OccurrenceState.cancelled)
    return stmt


def airings(
    *,
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    area_code: str | None = None,
    include_cancelled: bool = False,
) -> list[Airing]:
    """Airings in [start, end) of the broadcasts the caller may see, in time order."""
    stmt = _airings_query(
        session=session,
        scope=scope,
        start=start,
        end=end,
        area_code=area_code,
        include_cancelled=include_cancelled,
    )
    rows = session.exec(stmt.order_by(col(Occurrence.air_at), col(Occurrence.id))).all()
    return [Airing(o, b) for o, b in rows]


def bulletin_titles(*, session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Titles of bulletins by id."""
    if not ids:
        return {}
    rows = session.exec(select(Bulletin).where(col(Bulletin.id).in_(list(ids)))).all()
    return {b.id or 0: b.title for b in rows}


def coverage_share(counts: dict[str, int]) -> float | None:
    """Share of deliveries that aired (completed or confirmed) of those sent.

    Cancelled deliveries and those never sent for lack of content are left out.
    """
    left_out = {DeliveryState.cancelled, *NOT_SENT_STATES}
    total = sum(n for state, n in counts.items() if state not in left_out)
    if not total:
        return None
    aired = sum(counts.get(s, 0) for s in AIRED_STATES)
    return aired / total


@dataclass(frozen=True, slots=True)
class Problem:
    """A delivery that ended without airing."""

    delivery: Delivery
    occurrence: Occurrence
    station: Station
    area: Area


def recent_problems(
    *, session: Session, scope: Scope, since: datetime, limit: int = 50
) -> list[Problem]:
    """Deliveries in scope that were missed, expired, failed or rejected since `since`.

    Deliveries not sent for lack of content (`no_content`, `blocked`) are no receiver's
    problem and are left out.
    """
    rows = session.exec(
        _problems(select(Delivery, Occurrence, Station, Area), scope, since)
        .order_by(col(Occurrence.air_at).desc())
        .limit(limit)
    ).all()
    return [Problem(d, o, s, a) for d, o, s, a in rows]


def count_recent_problems(*, session: Session, scope: Scope, since: datetime) -> int:
    """How many deliveries `recent_problems` would list with no limit."""
    return session.exec(_problems(select(func.count()), scope, since)).one()


def _problems(stmt: Any, scope: Scope, since: datetime) -> Any:
    return (
        stmt.select_from(Delivery)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .join(Station, col(Delivery.station_id) == col(Station.id))
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(
            scope.clause(),
            col(Delivery.state).in_([s.value for s in NOT_AIRED_END]),
            col(Occurrence.air_at) >= since,
        )
    )


# --- the coverage and as-run report ----------------------------------------------------


class Outcome(StrEnum):
    """What became of one station airing (or of one language in it)."""

    on_time = "on_time"
    late = "late"
    missed = "missed"
    pending = "pending"
    cancelled = "cancelled"
    no_content = "no_content"  # nothing airable: nothing sent
    blocked = "blocked"  # nothing sent: a required language version was missing
    no_version = "no_version"  # languages only: no item in this language was in the airing


AIRED_OUTCOMES = frozenset({Outcome.on_time, Outcome.late})
# Outcomes of an airing that carried content, where a language can lack a version.
HAD_CONTENT = frozenset({Outcome.on_time, Outcome.late, Outcome.missed, Outcome.pending})


@dataclass
class Tally:
    """Station airings by outcome, with minutes aired and deliveries.

    `aired` = `on_time` + `late`; `no_content` includes `blocked`; `planned` is every
    outcome but `cancelled`.
    """

    planned: int = 0
    aired: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    pending: int = 0
    cancelled: int = 0
    no_content: int = 0
    blocked: int = 0
    no_version: int = 0
    minutes_aired: float = 0.0
    # Of the aired, station airings aired again after an emergency interrupted them.
    reaired: int = 0
    # Of the aired, relays of a live stream, and their minutes (in `minutes_aired` too):
    # the window relayed, less what the receiver lost to cuts.
    relays: int = 0
    relay_minutes: float = 0.0
    deliveries: int = 0
    deliveries_aired: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of deliveries that aired."""
        return self.deliveries_aired / self.deliveries if self.deliveries else None

    def add(
        self,
        outcome: Outcome,
        minutes: float,
        deliveries: int,
        aired_deliveries: int,
        *,
        relay: bool = False,
    ) -> None:
        """Count one station airing (`relay`: of a live stream)."""
        if outcome is Outcome.cancelled:
            self.cancelled += 1
            return
        self.planned += 1
        if outcome in AIRED_OUTCOMES:
            self.aired += 1
            self.minutes_aired += minutes
            if relay:
                self.relays += 1
                self.relay_minutes += minutes
        if outcome is Outcome.blocked:
            self.no_content += 1
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)
        self.deliveries += deliveries
        self.deliveries_aired += aired_deliveries


@dataclass
class Availability:
    """Receivers of one commune: how many, online now, and how many deliveries reached them."""

    receivers: int = 0
    online: int = 0
    deliveries: int = 0
    reached: int = 0  # got at least `received`

    @property
    def online_share(self) -> float | None:
        """Share of receivers online now."""
        return self.online / self.receivers if self.receivers else None

    @property
    def reach(self) -> float | None:
        """Share of deliveries that reached their receiver."""
        return self.reached / self.deliveries if self.deliveries else None


@dataclass
class CoverageReport:
    """Planned vs aired vs missed per commune and per language, minutes, availability."""

    start: datetime
    end: datetime
    area_code: str | None
    area_name: str
    timezone: str
    total: Tally = field(default_factory=Tally)
    communes: dict[str, Tally] = field(default_factory=dict)  # commune code -> tally
    commune_names: dict[str, str] = field(default_factory=dict)
    languages: dict[str, Tally] = field(default_factory=dict)  # language -> tally
    commune_languages: dict[tuple[str, str], Tally] = field(default_factory=dict)
    availability: dict[str, Availability] = field(default_factory=dict)
    language_names: dict[str, str] = field(default_factory=dict)  # code -> Vietnamese name
    scope_code: str | None = None  # the area reported on: the one asked for, or the caller's

    def language(self, code: str) -> str:
        """A language by its Vietnamese name (its code when none is known)."""
        return self.language_names.get(code, code)

    def days(self) -> tuple[date, date]:
        """The first and the last day of the period, on the report's wall clock."""
        zone = ZoneInfo(self.timezone)
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return self.start.astimezone(zone).date(), last


REACHED = frozenset(
    {
        DeliveryState.received,
        DeliveryState.downloaded,
        DeliveryState.started,
        DeliveryState.completed,
        DeliveryState.failed,
        DeliveryState.rejected,
        DeliveryState.confirmed,
    }
)


def _commune_of(area: Area, areas: dict[int, Area]) -> Area:
    """The commune an area belongs to (itself, or the nearest commune above a village)."""
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    for aid in reversed(ids):
        node = areas.get(aid)
        if node is not None and node.level == AreaLevel.commune:
            return node
    return area


def aired_late(delivery: Delivery, air_at: datetime, late_after: timedelta) -> bool:
    """True when an aired delivery started later than air time + `late_after` (the state
    machine's rule, so reports and the status page agree)."""
    return is_late(
        delivery.state,
        as_utc(air_at),
        as_utc(delivery.started_at) if delivery.started_at else None,
        as_utc(delivery.completed_at) if delivery.completed_at else None,
        delivery.duration_ms,
        late_after,
    )


@dataclass(frozen=True, slots=True)
class Played:
    """What a station's airing carried: minutes in all, and minutes per language."""

    minutes: float
    languages: dict[str, float]


def _played(
    delivery_rows: Sequence[Delivery],
    station: Station,
    broadcast: Broadcast,
    versions: dict[int, dict[str, int]],
) -> Played | None:
    """What the station's airing carried; None before dispatch (nothing is known yet).

    From the command the aired delivery received (else any command sent); legacy
    stations get no command: the bulletins' versions in the station's languages.
    """
    if not delivery_rows:
        return None
    ordered = sorted(delivery_rows, key=lambda d: DeliveryState(d.state) not in AIRED_STATES)
    return _played_from(
        [d.payload for d in ordered],
        any(d.receiver_id is not None for d in delivery_rows),
        station,
        broadcast,
        versions,
        lost_seconds=ordered[0].lost_seconds or 0.0,
    )


def _played_from(
    payloads: Sequence[str | None],
    to_receivers: bool,
    station: Station,
    broadcast: Broadcast,
    versions: dict[int, dict[str, int]],
    *,
    lost_seconds: float = 0.0,
) -> Played | None:
    """`_played` from the commands of the deliveries, aired ones first.

    A relay carries its window (`air_at` to the item's `until`) less the `lost_seconds`
    the receiver that aired it reported.
    """
    per_language: defaultdict[str, float] = defaultdict(float)
    for payload in payloads:
        if payload:
            per_language.clear()
            try:
                command = json.loads(payload)
                items = command.get("items", [])
                total = 0.0
                for item in items:
                    minutes = int(item.get("duration_ms") or 0) / 60000
                    if item.get("type") == "relay":
                        window = parse_time(item["until"]) - parse_time(command["air_at"])
                        minutes = max(0.0, window.total_seconds() - lost_seconds) / 60
                    total += minutes  # idents included: they air too
                    # Station idents carry no language (zxx): minutes, not a language.
                    language = item.get("language")
                    if language and language != IDENT_LANGUAGE:
                        per_language[str(language)] += minutes
            except (ValueError, AttributeError, TypeError, KeyError):
                continue
            return Played(total, dict(per_language))
    if to_receivers:
        return None  # receivers sent no command (the airing was found too late)
    for bid in broadcast.bulletin_ids:
        for lang, ms in versions.get(bid, {}).items():
            if lang in (station.languages or []):
                per_language[lang] += ms / 60000
    return Played(sum(per_language.values()), dict(per_language))


@dataclass
class StationAiring:
    """The deliveries of one airing to one station, counted (one row of an aggregate)."""

    total: int = 0
    cancelled: int = 0
    unsent: int = 0  # no_content or blocked
    blocked: int = 0
    final: int = 0  # in a final state, cancelled ones left out
    aired: int = 0
    aired_on_time: int = 0
    sent: int = 0  # neither cancelled nor unsent
    sent_aired: int = 0
    to_receivers: int = 0
    receivers_sent: int = 0
    receivers_reached: int = 0
    command_aired: int | None = None  # the first aired delivery holding a command
    command_any: int | None = None  # the first delivery holding a command
    reaired: int = 0  # aired deliveries that aired again after an emergency interrupted them


@dataclass(frozen=True, slots=True)
class _Slot:
    """One airing of a report: its id, its state, its broadcast."""

    id: int
    state: OccurrenceState
    broadcast: Broadcast


def _outcome_of(occ: _Slot, broadcast: Broadcast, counts: StationAiring | None) -> Outcome:
    """The outcome of one station airing from its counted deliveries (module docstring)."""
    c = counts or StationAiring()
    counted = c.total - c.cancelled
    if occ.state == OccurrenceState.cancelled or (
        broadcast.status == BroadcastStatus.cancelled and not c.aired
    ):
        return Outcome.cancelled
    if c.aired:
        return Outcome.on_time if c.aired_on_time else Outcome.late
    if occ.state == OccurrenceState.no_content or (counted and c.unsent == counted):
        return Outcome.blocked if c.blocked else Outcome.no_content
    if counted and c.final == counted:
        return Outcome.missed
    return Outcome.pending


def _station_airings(
    session: Session, occurrence_ids: Any, late_after_seconds: int
) -> dict[tuple[int, int], StationAiring]:
    """Every station airing of the occurrences, its deliveries counted: one query."""
    d = col(Delivery.state)
    late = late_clause(
        DELIVERY,
        OCCURRENCE,
        late_after_seconds=late_after_seconds,
        dialect=session.get_bind().dialect.name,
    )

    def number(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))

    aired = d.in_(sorted(AIRED_STATES))
    cancelled = d == DeliveryState.cancelled.value
    unsent = d.in_(sorted(NOT_SENT_STATES))
    receiver = col(Delivery.receiver_id).is_not(None)
    holds = col(Delivery.payload).is_not(None)
    sent = ~cancelled & ~unsent
    rows = session.execute(
        sa_select(
            col(Delivery.occurrence_id),
            col(Delivery.station_id),
            func.count(),
            number(cancelled),
            number(unsent),
            number(d == DeliveryState.blocked.value),
            number(d.in_(sorted(FINAL_STATES - {DeliveryState.cancelled}))),
            number(aired),
            number(aired & ~late),
            number(sent),
            number(sent & aired),
            number(receiver),
            number(receiver & sent),
            number(receiver & d.in_(sorted(REACHED))),
            func.min(case((aired & holds, col(Delivery.id)))),
            func.min(case((holds, col(Delivery.id)))),
            number(aired & col(Delivery.reair_expires_at).is_not(None)),
        )
        .select_from(Delivery)
        .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
        .where(col(Delivery.occurrence_id).in_(occurrence_ids))
        .group_by(col(Delivery.occurrence_id), col(Delivery.station_id))
    ).all()
    return {(oid, sid): _counted(numbers) for oid, sid, *numbers in rows}


def _counted(numbers: Sequence[Any]) -> StationAiring:
    """A StationAiring from one row of `_station_airings`' aggregate, in its column order."""
    counted = StationAiring(*(int(v or 0) for v in numbers[:12]))
    counted.command_aired, counted.command_any = numbers[12], numbers[13]
    counted.reaired = int(numbers[14] or 0)
    return counted


def parse_time(text: str) -> datetime:
    """An RFC 3339 time of a stored command."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _losses(session: Session, ids: Sequence[int]) -> dict[int, float]:
    """Seconds lost by the relays among these deliveries, by id: one query."""
    if not ids:
        return {}
    dialect = session.get_bind().dialect
    return {
        did: float(lost)
        for did, lost in session.execute(
            sa_select(col(Delivery.id), col(Delivery.lost_seconds)).where(
                in_list(DELIVERY.c.id, "ids", dialect.name),
                col(Delivery.lost_seconds).is_not(None),
            ),
            {"ids": driver_list(dialect)(ids)},
        ).all()
    }


def _commands(session: Session, ids: Sequence[int]) -> dict[int, str | None]:
    """The commands (payloads) of these deliveries, by id: one query."""
    if not ids:
        return {}
    dialect = session.get_bind().dialect
    return dict(
        session.execute(
            sa_select(col(Delivery.id), col(Delivery.payload)).where(
                in_list(DELIVERY.c.id, "ids", dialect.name)
            ),
            {"ids": driver_list(dialect)(ids)},
        ).all()
    )


@dataclass(frozen=True, slots=True)
class StationAiringOutcome:
    """One station's airing of one occurrence, with its outcome and what it carried."""

    occurrence_id: int
    air_at: datetime
    broadcast: Broadcast
    station: Station
    area: Area
    outcome: Outcome
    played: Played | None  # None before dispatch
    numbers: StationAiring | None  # its deliveries counted; None when none exist


@dataclass
class StationAirings:
    """The station airings of a period, and the areas of the report's subtree by id."""

    airings: list[StationAiringOutcome]
    areas: dict[int, Area]
    stations: dict[int, Station]


def station_airings(
    *,
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    area_code: str | None = None,
    late_after_seconds: int = LATE_AFTER_SECONDS,
) -> StationAirings:
    """Every station airing in [start, end) inside the caller's scope (and `area_code`).

    A constant number of queries whatever the period holds: the airings, their
    broadcasts, the bulletins' versions, the deliveries counted per station airing,
    the commands aired, the stations, and the stations of airings not sent yet.
    """
    root = get_area(session=session, code=area_code, scope=scope) if area_code else None
    limit = Scope.of(root) if root else scope
    areas = {a.id or 0: a for a in session.exec(select(Area).where(limit.clause())).all()}
    query = _airings_query(
        session=session,
        scope=scope,
        start=start,
        end=end,
        area_code=area_code,
        include_cancelled=True,
    )
    # The airings as plain rows, their broadcasts once each: two queries, no object per
    # airing (a province's month holds thousands of airings, a hundred broadcasts).
    slots = session.execute(
        query.with_only_columns(
            col(Occurrence.id),
            col(Occurrence.broadcast_id),
            col(Occurrence.state),
            col(Occurrence.air_at),
        ).order_by(col(Occurrence.air_at), col(Occurrence.id))
    ).all()
    shown = {
        b.id or 0: b
        for b in session.exec(
            select(Broadcast).where(
                col(Broadcast.id).in_(query.with_only_columns(col(Occurrence.broadcast_id)))
            )
        ).all()
    }
    found = [_Slot(oid, OccurrenceState(state), shown[bid]) for oid, bid, state, _ in slots]
    air_times = {oid: as_utc(air_at) for oid, _, _, air_at in slots}
    bulletin_ids = {bid for a in found for bid in a.broadcast.bulletin_ids}
    versions: dict[int, dict[str, int]] = defaultdict(dict)
    if bulletin_ids:
        for t in session.exec(
            select(Translation).where(col(Translation.bulletin_id).in_(list(bulletin_ids)))
        ).all():
            versions[t.bulletin_id][t.language] = t.audio_duration_ms or 0
    # Every station airing of the period with its deliveries counted, and the stations,
    # each in one query; then the command of each station airing, in one more.
    occurrence_ids = query.with_only_columns(col(Occurrence.id))
    counted = _station_airings(session, occurrence_ids, late_after_seconds)
    by_occurrence: dict[int, dict[int, StationAiring]] = defaultdict(dict)
    for (oid, sid), station_airing in counted.items():
        by_occurrence[oid][sid] = station_airing
    command_ids = sorted(
        {
            c.command_aired or c.command_any or 0
            for c in counted.values()
            if c.command_aired or c.command_any
        }
    )
    commands = _commands(session, command_ids)
    losses = _losses(session, [c.command_aired for c in counted.values() if c.command_aired])
    stations = {
        s.id or 0: s
        for s in session.exec(
            select(Station).join(Area, col(Station.area_id) == col(Area.id)).where(limit.clause())
        ).all()
    }
    # Where nothing was sent yet, the stations the broadcast would reach now.
    unsent = {
        a.broadcast.id or 0
        for a in found
        if a.state == OccurrenceState.pending
        or (
            a.state in (OccurrenceState.cancelled, OccurrenceState.no_content)
            and not by_occurrence.get(a.id)
        )
    }
    stations_of = stations_of_broadcasts(session, sorted(unsent)) if unsent else {}
    result: list[StationAiringOutcome] = []
    for occ in found:
        broadcast = occ.broadcast
        by_station = by_occurrence.get(occ.id, {})
        if occ.state == OccurrenceState.pending or (
            occ.state in (OccurrenceState.cancelled, OccurrenceState.no_content) and not by_station
        ):
            targets = stations_of.get(broadcast.id or 0, [])
        else:
            targets = [stations[sid] for sid in sorted(by_station) if sid in stations]
        for station in targets:
            area = areas.get(station.area_id)
            if area is None:
                continue  # outside the report's area or the caller's scope
            numbers = by_station.get(station.id or 0)
            outcome = _outcome_of(occ, broadcast, numbers)
            played = None
            if numbers is not None:
                command = numbers.command_aired or numbers.command_any
                played = _played_from(
                    [commands.get(command)] if command else [],
                    numbers.to_receivers > 0,
                    station,
                    broadcast,
                    versions,
                    lost_seconds=losses.get(command or 0, 0.0),
                )
            result.append(
                StationAiringOutcome(
                    occ.id, air_times[occ.id], broadcast, station, area, outcome, played, numbers
                )
            )
    return StationAirings(result, areas, stations)


def coverage_report(
    *,
    session: Session,
    scope: Scope,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    area_code: str | None = None,
    late_after_seconds: int = LATE_AFTER_SECONDS,
) -> CoverageReport:
    """The coverage and as-run report of airings in [start, end) inside the caller's scope.

    An airing that started more than `late_after_seconds` after air time aired late
    (pass `Settings.late_after_seconds`).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInputError(
            "The report period needs times with an offset", code="report.time_without_offset"
        )
    if end <= start:
        raise InvalidInputError(
            "The end of the period must come after its start", code="report.period_reversed"
        )
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidInputError(
            f"A report covers at most {MAX_REPORT_DAYS} days",
            code="report.period_too_long",
            limit=MAX_REPORT_DAYS,
        )
    root = get_area(session=session, code=area_code, scope=scope) if area_code else None
    home = root
    if home is None and scope.path is not None:  # the caller's own area names the report
        home = session.exec(select(Area).where(Area.path == scope.path)).first()
    report = CoverageReport(
        start=as_utc(start),
        end=as_utc(end),
        area_code=area_code,
        area_name=home.name if home else "Toàn bộ địa bàn",
        scope_code=home.code if home else None,
        timezone=str(zone),
        language_names=dict(session.exec(select(Language.code, Language.name)).all()),
    )
    found = station_airings(
        session=session,
        scope=scope,
        start=start,
        end=end,
        area_code=area_code,
        late_after_seconds=late_after_seconds,
    )
    areas = found.areas
    communes: dict[int, Area] = {}  # area id -> its commune, worked out once per area

    def commune_of(area: Area) -> Area:
        known = communes.get(area.id or 0)
        if known is None:
            known = communes[area.id or 0] = _commune_of(area, areas)
        return known

    for one in found.airings:
        station, outcome, played, numbers = one.station, one.outcome, one.played, one.numbers
        sent = numbers.sent if numbers else 0
        aired_rows = numbers.sent_aired if numbers else 0
        commune = commune_of(one.area)
        report.commune_names[commune.code] = commune.name
        minutes = played.minutes if played else 0.0
        for tally in (report.total, report.communes.setdefault(commune.code, Tally())):
            tally.add(outcome, minutes, sent, aired_rows, relay=one.broadcast.kind == "relay")
            if outcome in AIRED_OUTCOMES and numbers is not None and numbers.reaired:
                tally.reaired += 1
        in_airing = played.languages if played else {}
        for lang in dict.fromkeys([*(station.languages or []), *in_airing]):
            if played is not None and lang not in in_airing and outcome in HAD_CONTENT:
                lang_outcome, lang_sent, lang_aired = Outcome.no_version, 0, 0
            else:
                lang_outcome, lang_sent, lang_aired = outcome, sent, aired_rows
            for tally in (
                report.languages.setdefault(lang, Tally()),
                report.commune_languages.setdefault((commune.code, lang), Tally()),
            ):
                tally.add(lang_outcome, in_airing.get(lang, 0.0), lang_sent, lang_aired)
        avail = report.availability.setdefault(commune.code, Availability())
        if numbers is not None:
            avail.deliveries += numbers.receivers_sent
            avail.reached += numbers.receivers_reached
    # Receivers per commune, whether or not anything aired there: counted per area in SQL.
    for area_id, receivers, online in session.execute(
        sa_select(
            col(Station.area_id),
            func.count(),
            func.sum(case((col(Receiver.online).is_(True), 1), else_=0)),
        )
        .select_from(Receiver)
        .join(Station, col(Receiver.station_id) == col(Station.id))
        .where(col(Station.area_id).in_(list(areas)), col(Receiver.active).is_(True))
        .group_by(col(Station.area_id))
    ).all():
        commune = commune_of(areas[area_id])
        report.commune_names.setdefault(commune.code, commune.name)
        avail = report.availability.setdefault(commune.code, Availability())
        avail.receivers += int(receivers)
        avail.online += int(online or 0)
    return report


# --- exports ---------------------------------------------------------------------------

COMMUNE_HEADER = [
    "Mã xã",
    "Tên xã",
    "Ngôn ngữ",
    "Kế hoạch",
    "Đã phát",
    "Bỏ lỡ",
    "Chưa đến giờ",
    "Đã hủy",
    "Phút đã phát",
    "Tỷ lệ phủ sóng (%)",
    # Added after the first ten, which keep their places: "Đã phát" = on time + late.
    "Đúng giờ",
    "Trễ giờ",
    "Không có nội dung",
    "Không có bản",
]
AVAILABILITY_HEADER = [
    "Mã xã",
    "Tên xã",
    "Cụm loa",
    "Trực tuyến",
    "Lượt gửi",
    "Lượt nhận",
    "Tỷ lệ nhận (%)",
]


def _pct(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _row(code: str, name: str, language: str, t: Tally) -> list[object]:
    return [
        code,
        name,
        language,
        t.planned,
        t.aired,
        t.missed,
        t.pending,
        t.cancelled,
        round(t.minutes_aired, 1),
        _pct(t.coverage),
        t.on_time,
        t.late,
        t.no_content,
        t.no_version,
    ]


def report_rows(report: CoverageReport) -> list[list[object]]:
    """The as-run table: one row per commune (all languages), then per commune and language."""
    rows: list[list[object]] = []
    for code in sorted(report.communes):
        name = report.commune_names.get(code, code)
        rows.append(_row(code, name, "Tất cả", report.communes[code]))
        for (c, lang), tally in sorted(report.commune_languages.items()):
            if c == code:
                rows.append(_row(code, name, report.language(lang), tally))
    rows.append(_row("", "Tổng cộng", "Tất cả", report.total))
    return rows


def availability_rows(report: CoverageReport) -> list[list[object]]:
    """One row per commune: receivers, online now, deliveries sent and reached."""
    return [
        [
            code,
            report.commune_names.get(code, code),
            a.receivers,
            a.online,
            a.deliveries,
            a.reached,
            _pct(a.reach),
        ]
        for code, a in sorted(report.availability.items())
    ]


def language_rows(report: CoverageReport) -> list[list[object]]:
    """One row per language: planned, aired (on time, late), missed, no content, minutes."""
    return [
        [
            report.language(lang),
            t.planned,
            t.aired,
            t.missed,
            t.pending,
            round(t.minutes_aired, 1),
            t.on_time,
            t.late,
            t.no_content,
            t.no_version,
        ]
        for lang, t in sorted(report.languages.items())
    ]


LANGUAGE_HEADER = [
    "Ngôn ngữ",
    "Kế hoạch",
    "Đã phát",
    "Bỏ lỡ",
    "Chưa đến giờ",
    "Phút đã phát",
    "Đúng giờ",
    "Trễ giờ",
    "Không có nội dung",
    "Không có bản",
]


def _period(report: CoverageReport) -> str:
    zone = ZoneInfo(report.timezone)
    fmt = "%d/%m/%Y %H:%M"
    return (
        f"{report.start.astimezone(zone).strftime(fmt)} – "
        f"{report.end.astimezone(zone).strftime(fmt)} ({report.timezone})"
    )


def to_csv(report: CoverageReport) -> str:
    """The report as CSV (UTF-8 with BOM so spreadsheet programs read the accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Báo cáo phủ sóng và phát thanh", report.area_name, _period(report)])
    writer.writerow([])
    writer.writerow(COMMUNE_HEADER)
    writer.writerows(report_rows(report))
    writer.writerow([])
    writer.writerow(LANGUAGE_HEADER)
    writer.writerows(language_rows(report))
    writer.writerow([])
    writer.writerow(AVAILABILITY_HEADER)
    writer.writerows(availability_rows(report))
    return "\ufeff" + buffer.getvalue()


def to_xlsx(report: CoverageReport) -> bytes:
    """The report as an Excel workbook: as-run per commune, languages, receivers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheets = [
        ("Phát thanh", COMMUNE_HEADER, report_rows(report)),
        ("Ngôn ngữ", LANGUAGE_HEADER, language_rows(report)),
        ("Cụm loa", AVAILABILITY_HEADER, availability_rows(report)),
    ]
    del book[book.sheetnames[0]]  # the empty default sheet
    for title, header, rows in sheets:
        sheet = book.create_sheet(title)
        sheet.append([f"Báo cáo phủ sóng và phát thanh – {report.area_name}"])
        sheet.append([_period(report)])
        sheet.append(header)
        for cell in sheet[3]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        for index, name in enumerate(header, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(12, len(name) + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def check_report_day(day: date) -> date:
    """`day`, or InvalidInputError when it lies outside FIRST_REPORT_DAY..LAST_REPORT_DAY."""
    if not FIRST_REPORT_DAY <= day <= LAST_REPORT_DAY:
        raise InvalidInputError(
            f"Report days lie between {FIRST_REPORT_DAY} and {LAST_REPORT_DAY} (not {day})",
            code="report.day_out_of_bounds",
            first=FIRST_REPORT_DAY.isoformat(),
            last=LAST_REPORT_DAY.isoformat(),
            day=day.isoformat(),
        )
    return day


def period_of(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[first 00:00, day after last 00:00) on the wall clock of `zone`, as UTC times."""
    check_report_day(first)
    check_report_day(last)
    if last < first:
        raise InvalidInputError(
            "The last day of the period comes before its first day", code="report.period_reversed"
        )
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone)
    return as_utc(start), as_utc(end)


# --- for other reports on the same as-run record (campaign progress) --------------------


def counted_station_airings(
    session: Session, occurrence_ids: Any, late_after_seconds: int
) -> dict[tuple[int, int], StationAiring]:
    """Every station airing of the occurrences (a list or a subquery of ids), its
    deliveries counted as this report counts them: one query."""
    return _station_airings(session, occurrence_ids, late_after_seconds)


def airing_outcome(
    occurrence_id: int, state: OccurrenceState, broadcast: Broadcast, counts: StationAiring | None
) -> Outcome:
    """The outcome of one station airing, by this report's rules (module docstring)."""
    return _outcome_of(_Slot(occurrence_id, state, broadcast), broadcast, counts)


def commands_of(session: Session, delivery_ids: Sequence[int]) -> dict[int, str | None]:
    """The commands (payloads) of these deliveries, by id: one query."""
    return _commands(session, delivery_ids)
