"""Filler: what a station airs in its announced broadcast hours when nothing is scheduled.

A commune station announces the hours it broadcasts (its *broadcast windows*: local
times of day, e.g. 05:30-07:00 and 17:00-18:30, a window may cross midnight). With
filler on, its receivers fill the time of those windows that no programme or relay
takes with the station's filler tracks (music, the station's identity), in turn, so the
announced hours never fall silent. Blackouts of the station's area win over filler; a
programme due inside a window stops it at its air time. Off by default.

Stored as JSON on the station:
`{"enabled": false, "windows": [{"start": "05:30", "end": "07:00"}],
"tracks": [{"sha256", "bytes", "duration_ms", "title"}]}`. Windows without filler still
mark the station's gaps on its week.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from typing import Any

from stations.errors import InvalidInputError
from stations.volume import MINUTES_PER_DAY, VolumeWindow, clock
from stations.volume import parse_windows as day_windows

MAX_WINDOWS = 12
MAX_TRACKS = 20
MAX_TITLE = 300
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class FillerTrack:
    """One uploaded, levelled file that filler airs."""

    sha256: str
    bytes: int
    duration_ms: int
    title: str

    def as_dict(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "sha256": self.sha256,
            "bytes": self.bytes,
            "duration_ms": self.duration_ms,
            "title": self.title,
        }


@dataclass(frozen=True, slots=True)
class StationFiller:
    """A station's broadcast windows, whether filler fills them, and with what."""

    enabled: bool = False
    windows: tuple[VolumeWindow, ...] = ()
    tracks: tuple[FillerTrack, ...] = field(default_factory=tuple)

    @property
    def airs(self) -> bool:
        """Whether the station's receivers fill its windows (on, with windows and tracks)."""
        return self.enabled and bool(self.windows) and bool(self.tracks)

    def times_of_day(self) -> list[tuple[time, time]]:
        """The windows as (start, end) local times; an end at or before the start crosses
        midnight ("24:00" is midnight)."""
        return [(_time(w.start), _time(w.end)) for w in self.windows]

    def check_room(self, sha256: str | None = None) -> None:
        """InvalidInputError when one more track (other than `sha256`'s) would pass the
        limit; checked before an upload is levelled, and again when it is added."""
        kept = [t for t in self.tracks if t.sha256 != sha256]
        if len(kept) >= MAX_TRACKS:
            raise InvalidInputError(
                f"A station has at most {MAX_TRACKS} filler tracks",
                code="filler.too_many_tracks",
                limit=MAX_TRACKS,
            )

    def with_track(self, track: FillerTrack) -> StationFiller:
        """The same filler with `track` added at the end (or its title changed)."""
        self.check_room(track.sha256)
        kept = [t for t in self.tracks if t.sha256 != track.sha256]
        return replace(self, tracks=(*kept, track))

    def without_track(self, sha256: str) -> StationFiller:
        """The same filler without the track of that digest."""
        return replace(self, tracks=tuple(t for t in self.tracks if t.sha256 != sha256))

    def track(self, sha256: str) -> FillerTrack | None:
        """The track of that digest, if the station has it."""
        return next((t for t in self.tracks if t.sha256 == sha256), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored on the station."""
        return {
            "enabled": self.enabled,
            "windows": [{"start": clock(w.start), "end": clock(w.end)} for w in self.windows],
            "tracks": [t.as_dict() for t in self.tracks],
        }


def _time(minutes: int) -> time:
    minutes %= MINUTES_PER_DAY
    return time(minutes // 60, minutes % 60)


def parse_windows(raw: Any) -> tuple[VolumeWindow, ...]:
    """Broadcast windows from their JSON form; InvalidInputError (`filler.*`) when wrong."""
    try:
        return tuple(day_windows(raw, volumes=False, limit=MAX_WINDOWS))
    except InvalidInputError as exc:
        # The same rules as volume windows, told as broadcast hours.
        if exc.code == "volume.bad_time":
            raise InvalidInputError(str(exc), code="filler.bad_time", **exc.fields) from None
        if exc.code == "volume.too_many":
            raise InvalidInputError(str(exc), code="filler.too_many", **exc.fields) from None
        if exc.code == "volume.empty_window":
            raise InvalidInputError(str(exc), code="filler.empty_window", **exc.fields) from None
        if exc.code == "volume.overlap":
            raise InvalidInputError(str(exc), code="filler.overlap", **exc.fields) from None
        raise


def _track(item: Any) -> FillerTrack | None:
    if not isinstance(item, Mapping):
        return None
    sha256, size, ms, title = (
        item.get("sha256"),
        item.get("bytes"),
        item.get("duration_ms"),
        item.get("title"),
    )
    if not (isinstance(sha256, str) and _SHA256.match(sha256)):
        return None
    if not (isinstance(size, int) and isinstance(ms, int) and isinstance(title, str)):
        return None
    return FillerTrack(sha256, size, ms, title[:MAX_TITLE])


def stored_filler(data: Mapping[str, Any] | None) -> StationFiller:
    """The filler kept on a station (nothing stored: off, no windows, no tracks)."""
    if not data:
        return StationFiller()
    return StationFiller(
        enabled=bool(data.get("enabled")),
        windows=parse_windows(data.get("windows")),
        tracks=tuple(t for t in map(_track, data.get("tracks") or []) if t is not None),
    )
