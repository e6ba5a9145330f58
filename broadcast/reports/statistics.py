"""Statistics per station and day for the provincial information source system.

One row per station and local day (LOA_TIMEZONE) of the period, from the as-run record
through the coverage report's own station airings (broadcast.reports.coverage), so the
two never disagree: airings planned, aired (on time, late), missed, without content,
pending and cancelled, minutes aired, the bulletins aired by priority, and the
station's receivers seen that day. The whole export is a constant number of queries,
whatever the period, the stations and the airings hold.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, cast, func, literal, union
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from broadcast.reports.coverage import (
    LATE_AFTER_SECONDS,
    Outcome,
    period_of,
    station_airings,
)
from stations.areas import Scope
from stations.errors import InvalidInputError
from stations.models import Area, Receiver, Station
from stations.registry import get_station

# A longer period is asked for in parts: a province's stations for a quarter stay quick.
MAX_STATISTICS_DAYS = 92
DELIVERY = SQLModel.metadata.tables["delivery"]
EVENT = SQLModel.metadata.tables["delivery_event"]
RECEIVER = SQLModel.metadata.tables["receiver"]
PRIORITIES = ("normal", "priority", "emergency")


@dataclass
class StationDay:
    """One station's figures for one local day (the field order is the CSV's)."""

    date: str  # YYYY-MM-DD on the LOA_TIMEZONE clock
    station_id: int
    station_name: str
    station_kind: str  # ip or legacy
    area_code: str
    area_name: str
    airings_planned: int = 0  # station airings not cancelled
    airings_aired: int = 0  # on time + late
    airings_on_time: int = 0
    airings_late: int = 0
    airings_missed: int = 0
    airings_no_content: int = 0
    airings_pending: int = 0
    airings_cancelled: int = 0
    minutes_aired: float = 0.0
    bulletins_normal: int = 0  # bulletins of aired airings, by the broadcast's priority
    bulletins_priority: int = 0
    bulletins_emergency: int = 0
    receivers: int = 0  # active receivers of the station (legacy stations: 0)
    receivers_online: int = 0  # of them, heard from that day
    receivers_offline: int = 0  # receivers - receivers_online

    def count(self, outcome: Outcome, minutes: float, bulletins: int, priority: str) -> None:
        """Add one station airing."""
        if outcome is Outcome.cancelled:
            self.airings_cancelled += 1
            return
        self.airings_planned += 1
        if outcome in (Outcome.on_time, Outcome.late):
            self.airings_aired += 1
            self.minutes_aired += minutes
            name = f"bulletins_{priority if priority in PRIORITIES else 'normal'}"
            setattr(self, name, getattr(self, name) + bulletins)
        if outcome is Outcome.on_time:
            self.airings_on_time += 1
        elif outcome is Outcome.late:
            self.airings_late += 1
        elif outcome is Outcome.missed:
            self.airings_missed += 1
        elif outcome in (Outcome.no_content, Outcome.blocked):
            self.airings_no_content += 1
        elif outcome is Outcome.pending:
            self.airings_pending += 1

    def public(self) -> dict[str, Any]:
        """The row as exported (minutes rounded to 0.01)."""
        row = asdict(self)
        row["minutes_aired"] = round(self.minutes_aired, 2)
        return row


FIELDS = [f.name for f in fields(StationDay)]


@dataclass
class Statistics:
    """The export of a period: its days, zone, filters and rows."""

    first: date
    last: date
    timezone: str
    area_code: str | None
    station_id: int | None
    rows: list[StationDay]


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _local_day(column: Any, dialect: str, zone: ZoneInfo, start: datetime) -> Any:
    """A UTC time column as its day on the clock of `zone` (SQL).

    PostgreSQL converts with the zone itself; SQLite adds the zone's offset at the
    period's start (exact for zones without daylight saving, Asia/Ho_Chi_Minh among them).
    """
    if dialect == "postgresql":
        return cast(func.timezone(literal(str(zone)), column), Date)
    offset = int((start.astimezone(zone).utcoffset() or timedelta()).total_seconds())
    return func.date(column, literal(f"{offset:+d} seconds"))


def _seen(
    session: Session, station_ids: Any, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[tuple[int, str], int]:
    """Receivers heard from per (station, local day): an acknowledgement recorded that day,
    or its last contact (last_seen_at) that day. One statement."""
    dialect = session.get_bind().dialect.name
    e, d, r = EVENT, DELIVERY, RECEIVER
    acked = (
        sa_select(
            d.c.station_id.label("station_id"),
            d.c.receiver_id.label("receiver_id"),
            _local_day(e.c.recorded_at, dialect, zone, start).label("day"),
        )
        .select_from(e.join(d, d.c.id == e.c.delivery_id))
        .where(
            e.c.source == "receiver",
            e.c.recorded_at >= start,
            e.c.recorded_at < end,
            d.c.receiver_id.is_not(None),
            d.c.station_id.in_(station_ids),
        )
    )
    last = sa_select(
        r.c.station_id.label("station_id"),
        r.c.id.label("receiver_id"),
        _local_day(r.c.last_seen_at, dialect, zone, start).label("day"),
    ).where(
        r.c.last_seen_at >= start,
        r.c.last_seen_at < end,
        r.c.station_id.in_(station_ids),
    )
    both = union(acked, last).subquery()
    rows = session.execute(
        sa_select(
            both.c.station_id, both.c.day, func.count(func.distinct(both.c.receiver_id))
        ).group_by(both.c.station_id, both.c.day)
    ).all()
    return {(sid, str(day)[:10]): int(n) for sid, day, n in rows}


def station_statistics(
    *,
    session: Session,
    scope: Scope,
    first: date,
    last: date,
    zone: ZoneInfo,
    area_code: str | None = None,
    station_id: int | None = None,
    late_after_seconds: int = LATE_AFTER_SECONDS,
) -> Statistics:
    """Per station of the caller's scope (or `area_code`, or one station) and local day."""
    start, end = period_of(first, last, zone)
    days = (last - first).days + 1
    if days > MAX_STATISTICS_DAYS:
        raise InvalidInputError(
            f"The statistics cover at most {MAX_STATISTICS_DAYS} days",
            code="report.period_too_long",
            limit=MAX_STATISTICS_DAYS,
        )
    if station_id is not None:
        get_station(session=session, station_id=station_id, scope=scope)
    found = station_airings(
        session=session,
        scope=scope,
        start=start,
        end=end,
        area_code=area_code,
        late_after_seconds=late_after_seconds,
    )
    chosen = {
        sid: station
        for sid, station in found.stations.items()
        if (station_id is None or sid == station_id) and station.area_id in found.areas
    }
    in_scope = select(Station.id).join(Area, col(Station.area_id) == col(Area.id))
    in_scope = in_scope.where(scope.clause())
    if station_id is not None:
        in_scope = in_scope.where(col(Station.id) == station_id)
    if area_code is not None:
        in_scope = in_scope.where(col(Station.area_id).in_(list(found.areas)))
    receivers = dict(
        session.exec(
            select(Receiver.station_id, func.count())
            .where(col(Receiver.station_id).in_(in_scope), col(Receiver.active).is_(True))
            .group_by(col(Receiver.station_id))
        ).all()
    )
    seen = _seen(session, in_scope, start, end, zone)
    grid: dict[tuple[int, str], StationDay] = {}
    aired_at = {a.station.id for a in found.airings}
    for sid, station in chosen.items():
        area = found.areas[station.area_id]
        if not station.active and sid not in aired_at:
            continue  # a station closed before the period
        for day in _days(first, last):
            key = (sid, day.isoformat())
            row = grid[key] = StationDay(
                date=day.isoformat(),
                station_id=sid,
                station_name=station.name,
                station_kind=str(station.kind),
                area_code=area.code,
                area_name=area.name,
                receivers=int(receivers.get(sid, 0)),
            )
            row.receivers_online = min(seen.get(key, 0), row.receivers)
            row.receivers_offline = row.receivers - row.receivers_online
    for one in found.airings:
        key = (one.station.id or 0, one.air_at.astimezone(zone).date().isoformat())
        day_row = grid.get(key)
        if day_row is None:
            continue
        minutes = one.played.minutes if one.played else 0.0
        day_row.count(one.outcome, minutes, len(one.broadcast.bulletin_ids), one.broadcast.priority)
    rows = sorted(grid.values(), key=lambda r: (r.area_code, r.station_id, r.date))
    return Statistics(first, last, str(zone), area_code, station_id, rows)


def to_csv(statistics: Statistics) -> str:
    """The rows as CSV (UTF-8, comma-separated, the header is FIELDS)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in statistics.rows:
        writer.writerow(row.public())
    return buffer.getvalue()
