"""Volume by time of day: a station's (or a receiver's own) windows of local time.

A schedule is a list of windows of local time of day, each with a volume in percent
(0-100), the volume outside every window (`default_volume`) and the volume of
emergencies (`emergency_volume`). A window's end may be earlier than its start: it
crosses midnight (21:00-06:00); "24:00" ends a window at midnight. Windows may not
overlap. Stored as JSON on the station and on the receiver (the receiver's replaces the
station's); times are local to the service's zone (LOA_TIMEZONE).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from stations.errors import InvalidInputError

MAX_WINDOWS = 24
MINUTES_PER_DAY = 24 * 60
FULL_VOLUME = 100
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class VolumeWindow:
    """[start, end) in minutes after local midnight (end up to 1440); end < start crosses
    midnight."""

    start: int
    end: int
    volume: int

    def minutes(self) -> range | tuple[range, range]:
        """The minutes of the day it covers (two runs when it crosses midnight)."""
        if self.start < self.end:
            return range(self.start, self.end)
        return (range(self.start, MINUTES_PER_DAY), range(0, self.end))

    def covers(self, minute: int) -> bool:
        """Whether the minute of the day lies inside the window."""
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def as_dict(self) -> dict[str, Any]:
        """The stored and shown form: {"start": "21:00", "end": "06:00", "volume": 60}."""
        return {"start": clock(self.start), "end": clock(self.end), "volume": self.volume}


@dataclass(frozen=True, slots=True)
class VolumeSchedule:
    """Windows with their volume, the volume elsewhere and that of emergencies."""

    windows: tuple[VolumeWindow, ...] = ()
    default_volume: int = FULL_VOLUME
    emergency_volume: int = FULL_VOLUME

    def volume_at(self, moment: datetime, zone: tzinfo, *, emergency: bool = False) -> int:
        """The volume in force at `moment` (aware), read on the clock of `zone`."""
        if emergency:
            return self.emergency_volume
        local = moment.astimezone(zone)
        minute = local.hour * 60 + local.minute
        for window in self.windows:
            if window.covers(minute):
                return window.volume
        return self.default_volume

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored on the station or receiver."""
        return {
            "windows": [w.as_dict() for w in self.windows],
            "default_volume": self.default_volume,
            "emergency_volume": self.emergency_volume,
        }


def clock(minutes: int) -> str:
    """ "HH:MM" of a minute of the day; 1440 is "24:00"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(value: Any, *, position: int) -> int:
    if isinstance(value, time):
        return value.hour * 60 + value.minute
    match = _CLOCK.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise InvalidInputError(
            f"Window {position}: {value!r} is not a time of day HH:MM",
            code="volume.bad_time",
            position=position,
        )
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > MINUTES_PER_DAY:
        raise InvalidInputError(
            f"Window {position}: {value!r} is not a time of day HH:MM",
            code="volume.bad_time",
            position=position,
        )
    return minutes


def _percent(value: Any, *, position: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= FULL_VOLUME:
        raise InvalidInputError(
            f"A volume is a whole percent from 0 to {FULL_VOLUME}, not {value!r}",
            code="volume.bad_percent",
            position=position or 0,
        )
    return value


def parse_windows(
    raw: Any, *, volumes: bool = True, limit: int = MAX_WINDOWS
) -> list[VolumeWindow]:
    """Windows of local time of day from their JSON form, sorted by start.

    Without `volumes` a window needs no volume (it is kept as FULL_VOLUME). Errors are
    InvalidInputError with the codes `volume.bad_time`, `.too_many`, `.empty_window`,
    `.overlap` and `.bad_percent`.
    """
    raw = raw or []
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) > limit:
        raise InvalidInputError(
            f"A schedule has at most {limit} windows of time of day",
            code="volume.too_many",
            limit=limit,
        )
    windows: list[VolumeWindow] = []
    taken: dict[int, int] = {}  # minute of the day -> position of the window holding it
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping):
            raise InvalidInputError(
                f"Window {position} needs a start and an end",
                code="volume.bad_time",
                position=position,
            )
        # "24:00" ends a window at midnight (00:00-24:00 is the whole day); as a start it
        # is midnight too.
        start = _minutes(item.get("start"), position=position) % MINUTES_PER_DAY
        end = _minutes(item.get("end"), position=position)
        if start == end:
            raise InvalidInputError(
                f"Window {position} starts and ends at the same time",
                code="volume.empty_window",
                position=position,
            )
        level = _percent(item.get("volume"), position=position) if volumes else FULL_VOLUME
        window = VolumeWindow(start, end, level)
        runs = window.minutes()
        for run in runs if isinstance(runs, tuple) else (runs,):
            for minute in run:
                other = taken.setdefault(minute, position)
                if other != position:
                    raise InvalidInputError(
                        f"Window {position} overlaps window {other} at {clock(minute)}",
                        code="volume.overlap",
                        position=position,
                        other=other,
                        at=clock(minute),
                    )
        windows.append(window)
    return sorted(windows, key=lambda w: w.start)


def parse_schedule(data: Mapping[str, Any]) -> VolumeSchedule:
    """A schedule from its JSON form; InvalidInputError (a `volume.*` code) when wrong."""
    return VolumeSchedule(
        windows=tuple(parse_windows(data.get("windows"))),
        default_volume=_percent(data.get("default_volume", FULL_VOLUME)),
        emergency_volume=_percent(data.get("emergency_volume", FULL_VOLUME)),
    )


def stored_schedule(data: Mapping[str, Any] | None) -> VolumeSchedule | None:
    """The schedule kept on a station or receiver (None: it has none)."""
    return None if not data else parse_schedule(data)


def effective_schedule(
    station: Mapping[str, Any] | None, receiver: Mapping[str, Any] | None
) -> tuple[VolumeSchedule | None, str | None]:
    """The receiver's schedule, else its station's, and which one ("receiver", "station")."""
    if receiver:
        return parse_schedule(receiver), "receiver"
    if station:
        return parse_schedule(station), "station"
    return None, None


def reported_volume(value: Any) -> int | None:
    """A volume a receiver reported in its `state`, when it is a number from 0 to 100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(value) if 0 <= value <= FULL_VOLUME else None


def expected_volume(
    station: Mapping[str, Any] | None,
    receiver: Mapping[str, Any] | None,
    at: datetime,
    zone: tzinfo,
) -> int | None:
    """The volume a receiver should play a normal airing at `at` (None: no schedule)."""
    schedule, _source = effective_schedule(station, receiver)
    return None if schedule is None else schedule.volume_at(at, zone)
