"""Filler sent to receivers: the spans of a station's broadcast hours and its tracks.

A station's filler (stations/filler.py) becomes one `filler` command per receiver
(docs/protocol.md): the spans of its broadcast windows from local midnight today for
FILLER_DAYS days, less the blackouts of its area and the areas above it, split where
the volume schedule changes, and its tracks as media items. The command's version is a
digest of what it says, so it changes only when the filler, a blackout or a volume
changes, or once a day as the horizon moves on.

The worker keeps receivers in step (`publish_filler`, a loop of its own every
LOA_FILLER_INTERVAL_SECONDS): a receiver that declared `"filler"` in `features` and
reports a version in its `state` other than the one it should hold gets the command;
one whose station stopped filler gets an empty command. What was sent is noted on the
receiver, so a command is sent again only when it changes, when the receiver comes
online holding another version, or FILLER_RESEND after a send it never confirmed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from broadcast.bulletins import media
from broadcast.core.db import transaction
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import Publisher
from broadcast.schedule.blackouts import Blackout, blackout_hit, blackouts_over
from stations import volume
from stations.filler import StationFiller, stored_filler
from stations.models import Area, Receiver, Station
from stations.protocol import (
    IDENT_LANGUAGE,
    MAX_FILLER_SPANS,
    FillerCommand,
    FillerSpan,
    MediaItem,
    Topics,
    encode,
)
from stations.timeutil import as_utc

FILLER_DAYS = 7
FILLER_RESEND = timedelta(minutes=10)
FEATURE = "filler"
# The version of the empty command that takes filler away from a receiver.
CLEARED = "none"

Span = tuple[datetime, datetime]


# --- spans -------------------------------------------------------------------------


def _midnight(day: date, zone: tzinfo) -> datetime:
    return as_utc(datetime.combine(day, time.min, tzinfo=zone))


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def window_spans(
    windows: Sequence[tuple[time, time]], first: date, days: int, zone: tzinfo
) -> list[Span]:
    """The instants (UTC) of the daily windows from local midnight of `first` for `days`
    days; a window whose end is at or before its start crosses midnight."""
    begin, finish = _midnight(first, zone), _midnight(first + timedelta(days=days), zone)
    spans = []
    for offset in range(-1, days):
        day = first + timedelta(days=offset)
        for opens, closes in windows:
            last = day + timedelta(days=1) if closes <= opens else day
            start = as_utc(datetime.combine(day, opens, tzinfo=zone))
            end = as_utc(datetime.combine(last, closes, tzinfo=zone))
            spans.append((max(start, begin), min(end, finish)))
    return _merge(spans)


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """`spans` less every instant of `holes` (both sorted or not; the result sorted)."""
    out: list[Span] = []
    cut = _merge(holes)
    for start, end in _merge(spans):
        cursor = start
        for h_start, h_end in cut:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                out.append((cursor, h_start))
            cursor = max(cursor, h_end)
            if cursor >= end:
                break
        if cursor < end:
            out.append((cursor, end))
    return out


def blackout_spans(blackouts: Sequence[Blackout], start: datetime, end: datetime) -> list[Span]:
    """Every span of the blackouts that meets [start, end), clipped to it."""
    spans = []
    for blackout in blackouts:
        cursor = start
        while cursor < end:
            hit = blackout_hit(blackout, cursor, end)
            if hit is None:
                break
            spans.append((max(hit[0], start), min(hit[1], end)))
            if hit[1] <= cursor:
                break
            cursor = hit[1]
    return _merge(spans)


def split_by_volume(
    spans: Sequence[Span], schedule: volume.VolumeSchedule | None, zone: tzinfo
) -> list[tuple[datetime, datetime, int | None]]:
    """The spans cut where the volume schedule changes, each with its volume (None: no
    schedule, the receiver's own)."""
    if schedule is None:
        return [(s, e, None) for s, e in spans]
    edges = sorted({m % volume.MINUTES_PER_DAY for w in schedule.windows for m in (w.start, w.end)})
    out: list[tuple[datetime, datetime, int | None]] = []
    for start, end in spans:
        cuts = {start, end}
        day = as_utc(start).astimezone(zone).date()
        while _midnight(day, zone) < end:
            for minute in edges:
                at = as_utc(datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone))
                if start < at < end:
                    cuts.add(at)
            day += timedelta(days=1)
        points = sorted(cuts)
        for piece_start, piece_end in zip(points, points[1:], strict=False):
            level = schedule.volume_at(piece_start, zone)
            if out and out[-1][1] == piece_start and out[-1][2] == level:
                out[-1] = (out[-1][0], piece_end, level)
            else:
                out.append((piece_start, piece_end, level))
    return out


def filler_spans(
    filler: StationFiller,
    *,
    blackouts: Sequence[Blackout],
    schedule: volume.VolumeSchedule | None,
    zone: tzinfo,
    today: date,
    days: int = FILLER_DAYS,
) -> list[FillerSpan]:
    """The spans a station's receivers fill from local midnight of `today`."""
    open_spans = window_spans(filler.times_of_day(), today, days, zone)
    if not open_spans:
        return []
    dark = blackout_spans(blackouts, open_spans[0][0], open_spans[-1][1])
    pieces = split_by_volume(subtract(open_spans, dark), schedule, zone)
    return [FillerSpan(start=s, end=e, volume=v) for s, e, v in pieces[:MAX_FILLER_SPANS]]


# --- commands ----------------------------------------------------------------------


def _version(spans: Sequence[FillerSpan], items: Sequence[MediaItem]) -> str:
    body = json.dumps(
        [[s.model_dump(mode="json") for s in spans], [i.model_dump(mode="json") for i in items]],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def filler_command(
    settings: Settings,
    filler: StationFiller,
    *,
    blackouts: Sequence[Blackout],
    schedule: volume.VolumeSchedule | None,
    today: date,
) -> FillerCommand | None:
    """The command a receiver of the station should hold; None when filler does not air."""
    if not filler.airs:
        return None
    spans = filler_spans(
        filler, blackouts=blackouts, schedule=schedule, zone=settings.zone, today=today
    )
    items = [
        MediaItem(
            url=media.media_url(settings, track.sha256),
            sha256=track.sha256,
            bytes=track.bytes,
            duration_ms=track.duration_ms,
            language=IDENT_LANGUAGE,
            title=track.title,
        )
        for track in filler.tracks
    ]
    if not spans:
        return None
    return FillerCommand(type="filler", version=_version(spans, items), spans=spans, items=items)


def cleared_command() -> FillerCommand:
    """The empty command: hold no filler."""
    return FillerCommand(type="filler", version=CLEARED, spans=[], items=[])


@dataclass(frozen=True, slots=True)
class StationPlan:
    """What one station's receivers should hold (by their volume schedule)."""

    station: Station
    filler: StationFiller
    blackouts: list[Blackout]
    today: date

    def command(
        self, settings: Settings, receiver_schedule: dict[str, Any] | None
    ) -> FillerCommand | None:
        schedule, _source = volume.effective_schedule(
            self.station.volume_schedule, receiver_schedule
        )
        return filler_command(
            settings, self.filler, blackouts=self.blackouts, schedule=schedule, today=self.today
        )


def _plans(
    session: Session, settings: Settings, stations: Sequence[Station], now: datetime
) -> dict[int, StationPlan]:
    """One plan per station whose filler airs: two queries (areas, blackouts)."""
    airing = {s.id: (s, stored_filler(s.filler)) for s in stations if s.id is not None}
    airing = {sid: pair for sid, pair in airing.items() if pair[1].airs}
    if not airing:
        return {}
    area_ids = sorted({s.area_id for s, _f in airing.values()})
    areas = {a.id: a for a in session.exec(select(Area).where(col(Area.id).in_(area_ids))).all()}
    every = blackouts_over(session=session, areas=list(areas.values()))
    today = as_utc(now).astimezone(settings.zone).date()
    plans = {}
    for sid, (station, filler) in airing.items():
        area = areas.get(station.area_id)
        above = {int(p) for p in (area.path if area else "").strip("/").split("/") if p}
        above.add(station.area_id)
        mine = [b for b in every if b.area_id in above]
        plans[sid] = StationPlan(station, filler, mine, today)
    return plans


def station_command(
    *, session: Session, settings: Settings, station: Station, now: datetime
) -> FillerCommand | None:
    """The command the station's receivers without a volume schedule of their own hold."""
    plan = _plans(session, settings, [station], now).get(station.id or 0)
    return None if plan is None else plan.command(settings, None)


def publish_filler(
    *,
    engine: Engine,
    settings: Settings,
    publisher: Publisher,
    topics: Topics,
    now: datetime,
    metrics: Metrics | None = None,
) -> int:
    """Send the filler command to every online receiver not holding the one it should.

    A fixed number of queries whatever the number of stations and receivers. Returns how
    many commands were published.
    """
    sent = 0
    with transaction(engine) as session:
        rows = session.exec(
            select(Receiver, Station)
            .join(Station, col(Station.id) == col(Receiver.station_id))
            .where(
                col(Receiver.active),
                col(Receiver.online),
                or_(
                    col(Station.filler).is_not(None),
                    col(Receiver.filler_version).is_not(None),
                    col(Receiver.filler_sent).is_not(None),
                ),
            )
        ).all()
        stations = list({s.id: s for _r, s in rows}.values())
        plans = _plans(session, settings, stations, now)
        commands: dict[tuple[int, str], FillerCommand | None] = {}
        for receiver, station in rows:
            plan = plans.get(station.id or 0) if station.active else None
            desired: FillerCommand | None = None
            if plan is not None and FEATURE in (receiver.features or ()):
                key = (station.id or 0, json.dumps(receiver.volume_schedule, sort_keys=True))
                if key not in commands:
                    commands[key] = plan.command(settings, receiver.volume_schedule)
                desired = commands[key]
            wanted = desired.version if desired is not None else None
            if receiver.filler_version == wanted:
                continue  # in step (both None: nothing to hold, nothing held)
            if wanted is None and FEATURE not in (receiver.features or ()):
                continue  # it no longer says it airs filler: nothing to take away
            version = wanted or CLEARED
            recent = (
                receiver.filler_sent_at is not None
                and as_utc(receiver.filler_sent_at) > now - FILLER_RESEND
            )
            if receiver.filler_sent == version and recent:
                continue  # sent; waiting for its state to confirm it
            command = desired if desired is not None else cleared_command()
            publisher.publish(topics.cmd(receiver.id), encode(command), qos=1)
            receiver.filler_sent = version
            receiver.filler_sent_at = now
            session.add(receiver)
            sent += 1
    if metrics is not None and sent:
        metrics.published("filler", sent)
    return sent
