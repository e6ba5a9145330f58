"""A station's schedule as an iCalendar feed (RFC 5545), for staff who live in their calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from broadcast.broadcast_models import (
    Broadcast,
    BroadcastStatus,
    BroadcastTarget,
    Delivery,
    Occurrence,
    OccurrenceState,
)
from broadcast.bulletin_models import Translation
from broadcast.reports import bulletin_titles
from broadcast.scheduling import occurrence_ref
from stations.models import Area, Station
from stations.timeutil import as_utc, utcnow

# What the feed holds around now: recent history and the planned weeks ahead.
PAST_DAYS = 30
FUTURE_DAYS = 120
# Length shown for an airing whose programme length is not known yet.
DEFAULT_MINUTES = 15

PRIORITY_TEXT = {"normal": "Thông thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}


def _escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (RFC 5545 3.1)."""
    out: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not out else 74):
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return "\r\n ".join(out)


def _stamp(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y%m%dT%H%M%SZ")


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


def _duration(session: Session, occ: Occurrence, station: Station, broadcast: Broadcast) -> int:
    """Programme length in ms: the dispatched one, else the station's language versions."""
    delivery = session.exec(
        select(Delivery).where(Delivery.occurrence_id == occ.id, Delivery.station_id == station.id)
    ).first()
    if delivery is not None and delivery.duration_ms:
        return delivery.duration_ms
    total = 0
    if broadcast.bulletin_ids:
        for t in session.exec(
            select(Translation).where(col(Translation.bulletin_id).in_(broadcast.bulletin_ids))
        ).all():
            if t.language in (station.languages or []):
                total += t.audio_duration_ms or 0
    return total or DEFAULT_MINUTES * 60_000


def station_calendar(
    *, session: Session, station: Station, host: str = "loa", now: datetime | None = None
) -> str:
    """The VCALENDAR of a station's airings from PAST_DAYS ago to FUTURE_DAYS ahead."""
    now = now or utcnow()
    rows = _airings(
        session, station, now - timedelta(days=PAST_DAYS), now + timedelta(days=FUTURE_DAYS)
    )
    titles = bulletin_titles(session=session, ids=[i for _o, b in rows for i in b.bulletin_ids])
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Loa//Truyen thanh co so//VI",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape('Lịch phát – ' + station.name)}",
        "X-WR-TIMEZONE:UTC",
    ]
    for occ, broadcast in rows:
        start = as_utc(occ.air_at)
        end = start + timedelta(milliseconds=_duration(session, occ, station, broadcast))
        names = [titles.get(i, f"#{i}") for i in broadcast.bulletin_ids]
        summary = broadcast.title or ", ".join(names) or f"Lịch phát {broadcast.id}"
        cancelled = (
            occ.state == OccurrenceState.cancelled or broadcast.status == BroadcastStatus.cancelled
        )
        description = (
            f"Mức ưu tiên: {PRIORITY_TEXT.get(broadcast.priority, broadcast.priority)}\n"
            f"Bản tin: {'; '.join(names)}\n"
            f"Mã lần phát: {occurrence_ref(broadcast.id or 0, occ.seq)}"
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{occurrence_ref(broadcast.id or 0, occ.seq)}.station-{station.id}@{host}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(start)}",
            f"DTEND:{_stamp(end)}",
            f"SUMMARY:{_escape(summary)}",
            f"DESCRIPTION:{_escape(description)}",
            f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
            f"PRIORITY:{1 if broadcast.priority == 'emergency' else 5}",
            "TRANSP:OPAQUE",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
