"""A synthetic province of any size with a month of airings, for benchmarks and scale tests.

`build_province` writes a province (districts, communes, one IP station per commune and
its receivers), one broadcast per commune airing twice a day, and one province-wide
broadcast aired two hours ago to every receiver. Airings before now are dispatched,
with a delivery per receiver and the as-run events of each; those to come are pending.
Areas and stations go through the registry's services; the rest is written with
set-based inserts (tens of thousands of rows a second), never row by row.

At its defaults (99 communes, 1,650 receivers, 30 days, 20 of them aired) it holds
5,941 airings, about 67,650 deliveries and 325,000 events: a province at full scale.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import JSON, Table, func, insert, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel

from broadcast.bulletins.models import Bulletin, BulletinStatus
from broadcast.core.db import BulkStatement, driver_time, rows_insert
from broadcast.core.settings import Settings
from stations.areas import Scope, create_area
from stations.models import AreaLevel, StationKind, UTCTimestamp
from stations.registry import create_station, ensure_default_languages
from stations.timeutil import as_utc, utcnow

COMMUNES_PER_DISTRICT = 11
AIR_HOURS = (6, 17)  # local air times of every commune broadcast
CHUNK = 20_000  # rows per INSERT statement batch

# How the deliveries of an aired airing end, one in every twenty receivers: mostly
# completed (one of them late), with some missed, failed and expired.
OUTCOMES = ["completed"] * 15 + ["late"] + ["missed", "failed", "expired", "completed"]
# The as-run events of each ending, after `sent`.
EVENTS = {
    "completed": ("received", "downloaded", "started", "completed"),
    "late": ("received", "downloaded", "started", "completed"),
    "missed": ("received", "downloaded", "missed"),
    "failed": ("received", "failed"),
    "expired": ("expired",),
}


@dataclass(frozen=True, slots=True)
class Province:
    """What `build_province` made: codes and ids to ask for, and the row counts."""

    code: str
    first_day: date
    last_day: date
    station_id: int  # the first commune's station
    province_broadcast_id: int  # aired to every receiver of the province
    broadcasts: int
    receivers: int
    airings: int
    deliveries: int
    events: int


def _table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def _next_id(session: Session, name: str) -> int:
    table = _table(name)
    return int(session.execute(sa_select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, CHUNK)):
        yield batch


def _insert(session: Session, name: str, rows: list[dict[str, Any]]) -> None:
    """INSERT the rows straight through the driver (times and JSON converted once here)."""
    if not rows:
        return
    table = _table(name)
    keys = list(rows[0])
    connection = session.connection()
    as_time = driver_time(connection.dialect)
    times = {k for k in keys if isinstance(table.c[k].type, UTCTimestamp)}
    lists = {k for k in keys if isinstance(table.c[k].type, JSON)}

    seen: dict[datetime, Any] = {}  # the receivers of one airing share most times

    def value(key: str, v: Any) -> Any:
        if v is None:
            return None
        if key in times:
            shown = seen.get(v)
            if shown is None:
                shown = seen[v] = as_time(v)
            return shown
        return json.dumps(v) if key in lists else v

    statement = BulkStatement(
        insert(table), keys, rows=rows_insert(table, keys, skip_conflicts=False)
    )
    for batch in _chunks(rows):
        statement.execute(connection, [tuple(value(k, row[k]) for k in keys) for row in batch])


def build_province(
    *,
    session: Session,
    settings: Settings,
    author_id: int,
    code: str = "90",
    communes: int = 99,
    receivers: int = 1650,
    days: int = 30,
    aired_days: int = 20,
    now: datetime | None = None,
) -> Province:
    """Write the province `code` (its areas' codes start with it) and its month of airings.

    The month starts `aired_days` days before today (in LOA_TIMEZONE) and lasts `days`
    days. `author_id` is the user who wrote and scheduled everything.
    """
    now = now or utcnow()
    zone = settings.zone
    everything = Scope.everything()
    ensure_default_languages(session=session)
    province = create_area(
        session=session,
        code=code,
        name=f"Tỉnh thử {code}",
        level=AreaLevel.province,
        parent_code=None,
        scope=everything,
    )
    commune_ids: list[int] = []
    commune_codes: list[str] = []
    station_ids: list[int] = []
    for n in range(communes):
        district = f"{code}D{n // COMMUNES_PER_DISTRICT:02d}"
        if n % COMMUNES_PER_DISTRICT == 0:
            create_area(
                session=session,
                code=district,
                name=f"Huyện {n // COMMUNES_PER_DISTRICT + 1}",
                level=AreaLevel.district,
                parent_code=code,
                scope=everything,
            )
        commune = create_area(
            session=session,
            code=f"{code}C{n:03d}",
            name=f"Xã {n + 1}",
            level=AreaLevel.commune,
            parent_code=district,
            scope=everything,
        )
        station = create_station(
            session=session,
            area_code=commune.code,
            name=f"Đài xã {n + 1}",
            kind=StationKind.ip,
            languages=["vi"],
            scope=everything,
        )
        commune_ids.append(commune.id or 0)
        commune_codes.append(commune.code)
        station_ids.append(station.id or 0)
    bulletin = Bulletin(
        title="Phòng chống cháy rừng",
        status=BulletinStatus.approved,
        author_id=author_id,
        area_id=province.id or 0,
    )
    session.add(bulletin)
    session.flush()
    created = utcnow()

    # Receivers, spread evenly over the communes' stations; two in three online.
    by_station: list[list[str]] = [[] for _ in station_ids]
    receiver_rows = []
    for n in range(receivers):
        rid = f"rx-{code}-{n:05d}"
        by_station[n % communes].append(rid)
        receiver_rows.append(
            {
                "id": rid,
                "station_id": station_ids[n % communes],
                "name": f"Cụm loa {n + 1}",
                "secret_hash": "-",
                "active": True,
                "online": n % 3 != 2,
                "last_seen_at": now - timedelta(minutes=n % 90),
                "created_at": created,
            }
        )
    _insert(session, "receiver", receiver_rows)

    first_day = now.astimezone(zone).date() - timedelta(days=aired_days)
    last_day = first_day + timedelta(days=days - 1)
    starts = as_utc(datetime.combine(first_day, time(AIR_HOURS[0]), tzinfo=zone))
    count = days * len(AIR_HOURS)
    broadcast_id = _next_id(session, "broadcast")
    occurrence_id = _next_id(session, "occurrence")
    delivery_id = _next_id(session, "delivery")
    broadcasts: list[dict[str, Any]] = []
    targets: list[dict[str, Any]] = []
    occurrences: list[dict[str, Any]] = []
    deliveries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    outcome = 0

    def airing(bid: int, seq: int, air_at: datetime) -> int:
        """One airing: dispatched when its time has passed, else pending; its id."""
        nonlocal occurrence_id
        aired = air_at < now
        dispatch_at = air_at - timedelta(minutes=settings.lookahead_minutes)
        occurrences.append(
            {
                "id": occurrence_id,
                "broadcast_id": bid,
                "seq": seq,
                "air_at": air_at,
                "dispatch_at": dispatch_at,
                "expires_at": air_at + timedelta(minutes=settings.programme_expiry_minutes),
                "state": "dispatched" if aired else "pending",
                "dispatched_at": dispatch_at if aired else None,
                "settled": aired,
            }
        )
        occurrence_id += 1
        return occurrence_id - 1

    def deliver(oid: int, bid: int, air_at: datetime, station: int, rids: list[str]) -> None:
        """A delivery per receiver of an aired airing, with its as-run events."""
        nonlocal delivery_id, outcome
        sent_at = air_at - timedelta(minutes=settings.lookahead_minutes)
        for rid in rids:
            end = OUTCOMES[outcome % len(OUTCOMES)]
            outcome += 1
            start = air_at + timedelta(minutes=10 if end == "late" else 0, seconds=5)
            times = {
                "sent": sent_at,
                "received": sent_at + timedelta(seconds=20),
                "downloaded": sent_at + timedelta(minutes=2),
                "started": start,
                "completed": start + timedelta(minutes=3),
                "missed": air_at + timedelta(minutes=9),
                "failed": sent_at + timedelta(minutes=3),
                "expired": air_at + timedelta(minutes=settings.programme_expiry_minutes),
            }
            steps = EVENTS[end]
            row: dict[str, Any] = {
                "id": delivery_id,
                "occurrence_id": oid,
                "broadcast_id": bid,
                "station_id": station,
                "receiver_id": rid,
                "target": rid,
                "state": steps[-1],
                "version": "v1",
                "attempt": 1,
                "duration_ms": 180_000,
                "detail": "HTTP 404: not found" if end == "failed" else None,
                "sent_at": sent_at,
                "updated_at": times[steps[-1]],
            }
            for step in ("received", "downloaded", "started", "completed"):
                row[f"{step}_at"] = times[step] if step in steps else None
            row["finished_at"] = None if end in ("completed", "late") else times[steps[-1]]
            deliveries.append(row)
            for step in ("sent", *steps):
                device = step in ("received", "downloaded", "started", "completed", "failed")
                events.append(
                    {
                        "delivery_id": delivery_id,
                        "attempt": 1,
                        "state": step,
                        "at": times[step],
                        "recorded_at": times[step],
                        "source": "receiver" if device else "server",
                    }
                )
            delivery_id += 1

    rule = f"FREQ=DAILY;BYHOUR={','.join(map(str, AIR_HOURS))};BYMINUTE=0;COUNT={count}"
    for n in range(communes):
        bid = broadcast_id + n
        broadcasts.append(
            {
                "id": bid,
                "title": None,
                "bulletin_ids": [bulletin.id],
                "area_codes": [commune_codes[n]],
                "starts_at": starts,
                "rrule": rule,
                "timezone": settings.timezone,
                "priority": "normal",
                "status": "scheduled",
                "created_by_id": author_id,
                "area_id": commune_ids[n],
                "created_at": created,
                "kind": "bulletin",
            }
        )
        targets.append({"broadcast_id": bid, "area_id": commune_ids[n]})
        seq = 0
        for day in range(days):
            for hour in AIR_HOURS:
                seq += 1
                local = datetime.combine(first_day + timedelta(days=day), time(hour), tzinfo=zone)
                air_at = as_utc(local)
                oid = airing(bid, seq, air_at)
                if air_at < now:
                    deliver(oid, bid, air_at, station_ids[n], by_station[n])
    # The province-wide airing: every receiver, two hours ago.
    everywhere = broadcast_id + communes
    aired_at = now.replace(microsecond=0) - timedelta(hours=2)
    broadcasts.append(
        broadcasts[0]
        | {
            "id": everywhere,
            "title": "Thông báo toàn tỉnh",
            "area_codes": [code],
            "starts_at": aired_at,
            "rrule": None,
            "area_id": province.id,
        }
    )
    targets.append({"broadcast_id": everywhere, "area_id": province.id})
    oid = airing(everywhere, 1, aired_at)
    for n in range(communes):
        deliver(oid, everywhere, aired_at, station_ids[n], by_station[n])
    _insert(session, "broadcast", broadcasts)
    _insert(session, "broadcast_target", targets)
    _insert(session, "occurrence", occurrences)
    _insert(session, "delivery", deliveries)
    _insert(session, "delivery_event", events)
    if session.get_bind().dialect.name == "postgresql":
        for name in ("broadcast", "occurrence", "delivery", "delivery_event"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
            )
    return Province(
        code=code,
        first_day=first_day,
        last_day=last_day,
        station_id=station_ids[0],
        province_broadcast_id=everywhere,
        broadcasts=len(broadcasts),
        receivers=receivers,
        airings=len(occurrences),
        deliveries=len(deliveries),
        events=len(events),
    )
