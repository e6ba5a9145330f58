"""A station's schedule as an iCalendar feed (RFC 5545), for staff who live in their calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlmodel import Session, col, select

from broadcast.bulletins.models import Translation
from broadcast.delivery.models import Delivery
from broadcast.reports.coverage import bulletin_titles
from broadcast.schedule.models import (
    Broadcast,
    BroadcastStatus,
    BroadcastTarget,
    Occurrence,
    OccurrenceState,
)
from broadcast.schedule.service import occurrence_ref
from stations import registry
from stations.areas import Scope
from stations.models import Area, Station
from stations.timeutil import as_utc, utcnow

# What the feed holds around now: recent history and the planned weeks ahead.
PAST_DAYS = 30
FUTURE_DAYS = 120
# Length shown for an airing whose programme length is not known yet.
DEFAULT_MINUTES = 15

PRIORITY_TEXT = {"normal": "Thông thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}


def _airings(
    session: Session, station: Station, start: datetime, end: datetime
) -> Sequence[tuple[Occurrence, Broadcast]]:
    """Airings of broadcasts targeting the station's area or any area above it."""
    area = session.get(Area, station.area_id)
    if area is None:
        return []
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    rows = session.exec(
        select(Occurrence, Broadcast)
        .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
        .join(BroadcastTarget, col(BroadcastTarget.broadcast_id) == col(Broadcast.id))
        .where(
            col(BroadcastTarget.area_id).in_(ids),
            col(Occurrence.air_at) >= start,
            col(Occurrence.air_at) < end,
        )
        .order_by(col(Occurrence.air_at))
    ).all()
    seen: set[int] = set()
    unique = []
    for occ, broadcast in rows:
        if occ.id not in seen:
            seen.add(occ.id or 0)
            unique.append((occ, broadcast))
    return unique


def _durations(
    session: Session, station: Station, rows: Sequence[tuple[Occurrence, Broadcast]]
) -> dict[int, int]:
    """Programme length in ms per airing: the dispatched one, else the station's versions.

    Two queries whatever the number of airings.
    """
    occurrence_ids = [occ.id or 0 for occ, _b in rows]
    sent: dict[int, int] = {}
    if occurrence_ids:
        for occurrence_id, duration in session.exec(
            select(Delivery.occurrence_id, Delivery.duration_ms).where(
                col(Delivery.occurrence_id).in_(occurrence_ids),
                Delivery.station_id == station.id,
            )
        ).all():
            sent[occurrence_id] = max(sent.get(occurrence_id, 0), duration or 0)
    bulletin_ids = sorted({i for _o, b in rows for i in b.bulletin_ids})
    version_ms: dict[int, int] = {}
    if bulletin_ids:
        for t in session.exec(
            select(Translation).where(col(Translation.bulletin_id).in_(bulletin_ids))
        ).all():
            if t.language in (station.languages or []):
                version_ms[t.bulletin_id] = version_ms.get(t.bulletin_id, 0) + (
                    t.audio_duration_ms or 0
                )
    found: dict[int, int] = {}
    for occ, broadcast in rows:
        planned = sum(version_ms.get(i, 0) for i in broadcast.bulletin_ids)
        found[occ.id or 0] = sent.get(occ.id or 0) or planned or DEFAULT_MINUTES * 60_000
    return found


def station_calendar(
    *, session: Session, station: Station, host: str = "loa", now: datetime | None = None
) -> str:
    """The VCALENDAR of a station's airings from PAST_DAYS ago to FUTURE_DAYS ahead."""
    now = now or utcnow()
    rows = _airings(
        session, station, now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS)
    )
    titles = bulletin_titles(session=session, ids=[i for _o, b in rows for i in b.bulletin_ids])
    lengths = _durations(session, station, rows)
    calendar = Calendar()
    calendar.add("prodid", "-//Loa//Truyen thanh co so//VI")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Lịch phát – " + station.name)
    calendar.add("x-wr-timezone", "UTC")
    for occ, broadcast in rows:
        start = as_utc(occ.air_at)
        end = start + timedelta(milliseconds=lengths[occ.id or 0])
        names = [titles.get(i, f"#{i}") for i in broadcast.bulletin_ids]
        summary = broadcast.title or ", ".join(names) or f"Lịch phát {broadcast.id}"
        cancelled = (
            occ.state == OccurrenceState.cancelled or broadcast.status == BroadcastStatus.cancelled
        )
        ref = occurrence_ref(broadcast.id or 0, occ.seq)
        event = Event()
        event.add("uid", f"{ref}.station-{station.id}@{host}")
        event.add("dtstamp", as_utc(now))
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("summary", summary)
        event.add(
            "description",
            f"Mức ưu tiên: {PRIORITY_TEXT.get(broadcast.priority, broadcast.priority)}\n"
            f"Bản tin: {'; '.join(names)}\n"
            f"Mã lần phát: {ref}",
        )
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        event.add("priority", 1 if broadcast.priority == "emergency" else 5)
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical().decode()


def calendar_of_station(
    *, session: Session, scope: Scope, station_id: int, host: str = "loa"
) -> str:
    """The feed of a station inside `scope` (NotFoundError otherwise, as for no station)."""
    station, _area = registry.get_station(session=session, station_id=station_id, scope=scope)
    return station_calendar(session=session, station=station, host=host)
