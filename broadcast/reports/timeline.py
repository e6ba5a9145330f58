"""A station's week at a glance: what airs when, the blackouts, conflicts and gaps.

Each airing of a broadcast that reaches the station's commune is a block from its air
time for its length: the programme's own length once dispatched (the longest delivery to
the station), before that the sum of its bulletins' versions in the languages the
station airs (an estimate: what dispatch leaves out or overflows is not known yet).
Blackouts of the station's area and of every area above it are bands. Two blocks that
overlap, neither cancelled, are a conflict: a receiver airs one after the other, so the
later one airs late (an emergency interrupts instead). The time of the station's
announced broadcast windows (its filler settings, stations/filler.py) that no block
covers is a gap; when the station's filler airs, the gaps less the blackouts are filler
bands: its receivers fill them with its tracks (blackouts win over filler).

A fixed number of queries whatever the week holds: the airings, the bulletins' versions,
the programme lengths, the blackouts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from broadcast.bulletins.models import Translation
from broadcast.delivery.models import Delivery
from broadcast.filler.commands import subtract
from broadcast.reports.coverage import airings
from broadcast.schedule.blackouts import Blackout, blackout_hit, blackouts_over
from broadcast.schedule.models import Broadcast, Occurrence, OccurrenceState
from stations.areas import Scope
from stations.filler import stored_filler
from stations.models import Area, Station
from stations.protocol import Priority
from stations.timeutil import as_utc

DAYS = 7


@dataclass
class Block:
    """One airing at the station."""

    broadcast: Broadcast
    occurrence: Occurrence
    start: datetime  # UTC
    end: datetime  # UTC
    estimated: bool  # length from the bulletins' versions, not the programme sent
    conflict: bool = False

    @property
    def cancelled(self) -> bool:
        """Cancelled airings are shown, struck through, and conflict with nothing."""
        return self.occurrence.state == OccurrenceState.cancelled

    @property
    def emergency(self) -> bool:
        """An emergency airs at once and interrupts what plays."""
        return self.broadcast.priority == Priority.emergency.value


@dataclass(frozen=True, slots=True)
class Band:
    """A span of a day: a blackout (with its reason), a gap or filler."""

    start: datetime  # UTC
    end: datetime  # UTC
    reason: str = ""


@dataclass
class Day:
    """One local day of the station's week."""

    day: date
    start: datetime  # UTC instant of local midnight
    end: datetime
    blocks: list[Block] = field(default_factory=list)
    blackouts: list[Band] = field(default_factory=list)
    gaps: list[Band] = field(default_factory=list)
    filler: list[Band] = field(default_factory=list)

    @property
    def silent(self) -> list[Band]:
        """The gaps that filler does not fill (all of them when the filler is off)."""
        spans = subtract(
            [(g.start, g.end) for g in self.gaps], [(f.start, f.end) for f in self.filler]
        )
        return [Band(start, end) for start, end in spans]

    @property
    def conflicts(self) -> int:
        """How many of the day's blocks overlap another."""
        return sum(b.conflict for b in self.blocks)


@dataclass
class StationWeek:
    """A station's seven days from `monday`."""

    station: Station
    area: Area
    monday: date
    zone: ZoneInfo
    days: list[Day]


def monday_of(anchor: date | None, today: date) -> date:
    """The Monday of the week holding `anchor` (today when None, or too near the ends of
    the calendar to hold a whole week)."""
    if anchor is None or not date.min + timedelta(days=7) < anchor < date.max - timedelta(days=7):
        anchor = today
    return anchor - timedelta(days=anchor.weekday())


def station_week(
    *,
    session: Session,
    scope: Scope,
    station: Station,
    area: Area,
    monday: date,
    zone: ZoneInfo,
    windows: Sequence[tuple[time, time]] | None = None,
) -> StationWeek:
    """The week of `station` (in commune `area`) from local `monday`, as the caller sees it.

    `windows` are the broadcast hours gaps are drawn in (local times of day; an end at
    or before the start crosses midnight): the station's own unless given; none, no gap.
    Filler bands always follow the station's own windows, and only when its filler airs.
    """
    hours = stored_filler(station.filler)
    own = hours.times_of_day()
    shown = own if windows is None else list(windows)
    start = as_utc(datetime.combine(monday, time.min, tzinfo=zone))
    days = [
        Day(
            day=monday + timedelta(days=i),
            start=as_utc(datetime.combine(monday + timedelta(days=i), time.min, tzinfo=zone)),
            end=as_utc(datetime.combine(monday + timedelta(days=i + 1), time.min, tzinfo=zone)),
        )
        for i in range(DAYS)
    ]
    end = days[-1].end
    # Airings that start up to a day before the week may still run into it: none lasts
    # a day, so a day's margin is enough.
    found = airings(
        session=session,
        scope=scope,
        start=start - timedelta(days=1),
        end=end,
        area_code=area.code,
        include_cancelled=True,
    )
    lengths = _programme_lengths(session, station, [a.occurrence.id or 0 for a in found])
    versions = _version_lengths(session, {b for a in found for b in a.broadcast.bulletin_ids})
    blocks: list[Block] = []
    for airing in found:
        begins = as_utc(airing.occurrence.air_at)
        sent = lengths.get(airing.occurrence.id or 0)
        if sent is None:
            ms = sum(
                versions.get(bid, {}).get(lang, 0)
                for bid in airing.broadcast.bulletin_ids
                for lang in station.languages or []
            )
        else:
            ms = sent
        blocks.append(
            Block(
                airing.broadcast,
                airing.occurrence,
                begins,
                begins + timedelta(milliseconds=ms),
                sent is None,
            )
        )
    _mark_conflicts(blocks)
    for day in days:
        day.blocks = [b for b in blocks if b.start < day.end and b.end > day.start] + [
            b for b in blocks if b.start == b.end and day.start <= b.start < day.end
        ]
        day.blocks = sorted({id(b): b for b in day.blocks}.values(), key=lambda b: b.start)
    bands = blackouts_over(session=session, areas=[area])
    for day in days:
        day.blackouts = _blackout_bands(bands, day)
        day.gaps = _gaps(day, shown, zone)
        if hours.airs:
            open_spans = day.gaps if shown == own else _gaps(day, own, zone)
            dark = [(b.start, b.end) for b in day.blackouts]
            filled = subtract([(g.start, g.end) for g in open_spans], dark)
            day.filler = [Band(start, end) for start, end in filled]
    return StationWeek(station, area, monday, zone, days)


def _programme_lengths(session: Session, station: Station, ids: list[int]) -> dict[int, int]:
    """The length of the programme sent to the station per airing (its longest delivery)."""
    if not ids:
        return {}
    rows = session.exec(
        select(Delivery.occurrence_id, func.max(Delivery.duration_ms))
        .where(col(Delivery.station_id) == station.id, col(Delivery.occurrence_id).in_(ids))
        .group_by(col(Delivery.occurrence_id))
    ).all()
    return {oid: int(ms or 0) for oid, ms in rows if ms}


def _version_lengths(session: Session, ids: set[int]) -> dict[int, dict[str, int]]:
    """Each bulletin's versions' lengths by language."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    if ids:
        for bid, lang, ms in session.exec(
            select(
                Translation.bulletin_id, Translation.language, Translation.audio_duration_ms
            ).where(col(Translation.bulletin_id).in_(sorted(ids)))
        ).all():
            found[bid][lang] = ms or 0
    return found


def _mark_conflicts(blocks: list[Block]) -> None:
    """Flag the blocks that overlap another (cancelled ones take no time)."""
    live = sorted((b for b in blocks if not b.cancelled), key=lambda b: (b.start, b.end))
    latest: Block | None = None
    for block in live:
        if latest is not None and block.start < latest.end:
            block.conflict = latest.conflict = True
        if latest is None or block.end > latest.end:
            latest = block


def _blackout_bands(blackouts: Sequence[Blackout], day: Day) -> list[Band]:
    """The spans of the day inside a blackout, clipped to the day."""
    bands = []
    for blackout in blackouts:
        cursor = day.start
        while cursor < day.end:
            span = blackout_hit(blackout, cursor, day.end)
            if span is None:
                break
            begins, ends = max(span[0], day.start), min(span[1], day.end)
            if ends > begins:
                bands.append(Band(begins, ends, blackout.reason))
            if span[1] <= cursor:
                break
            cursor = span[1]
    return sorted(bands, key=lambda b: b.start)


def _gaps(day: Day, windows: Sequence[tuple[time, time]], zone: ZoneInfo) -> list[Band]:
    """The time of the day's broadcast windows that no airing covers (a window that
    crosses midnight counts on both days, each its own part)."""
    gaps = []
    busy = sorted((b.start, b.end) for b in day.blocks if not b.cancelled)
    for opens, closes in windows:
        crosses = closes <= opens
        for first in (day.day - timedelta(days=1), day.day):
            last = first + timedelta(days=1) if crosses else first
            begins = max(as_utc(datetime.combine(first, opens, tzinfo=zone)), day.start)
            ends = min(as_utc(datetime.combine(last, closes, tzinfo=zone)), day.end)
            cursor = begins
            for start, end in busy:
                if cursor >= ends:
                    break
                if end <= cursor or start >= ends:
                    continue
                if start > cursor:
                    gaps.append(Band(cursor, start))
                cursor = max(cursor, end)
            if cursor < ends:
                gaps.append(Band(cursor, ends))
    return sorted(gaps, key=lambda g: g.start)
