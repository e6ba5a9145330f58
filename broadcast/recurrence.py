"""Recurrences in plain Vietnamese ("hằng ngày lúc 6:00 và 17:00") turned into RFC 5545 RRULEs.

Understood: times ("6:00", "6h30", "17 giờ"), every day ("hằng ngày", "hàng ngày",
"mỗi ngày"), weekdays ("thứ hai", "thứ 2", "T2", "chủ nhật", "CN"), and nothing
else meaning "once". The campaign ends on `until` (a local date, included).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from stations.errors import InvalidInputError
from stations.timeutil import as_utc

_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])\s*(?::|h|g|giờ)\s*([0-5]\d)?(?!\d)")
_DAILY = ("hang ngay", "moi ngay", "ngay nao cung")
# Weekday words after accents are removed; values are RFC 5545 BYDAY codes.
_WEEKDAYS = [
    (re.compile(r"\b(thu hai|thu 2|t2)\b"), "MO"),
    (re.compile(r"\b(thu ba|thu 3|t3)\b"), "TU"),
    (re.compile(r"\b(thu tu|thu 4|t4)\b"), "WE"),
    (re.compile(r"\b(thu nam|thu 5|t5)\b"), "TH"),
    (re.compile(r"\b(thu sau|thu 6|t6)\b"), "FR"),
    (re.compile(r"\b(thu bay|thu 7|t7)\b"), "SA"),
    (re.compile(r"\b(chu nhat|cn)\b"), "SU"),
]
_ORDER = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


@dataclass(frozen=True, slots=True)
class PlainRecurrence:
    """The first airing (aware) and the RRULE (None for a single airing)."""

    starts_at: datetime
    rrule: str | None
    times: tuple[time, ...]
    weekdays: tuple[str, ...]
    daily: bool


def _fold(text: str) -> str:
    """Lower case without accents, đ as d: 'Hằng ngày' -> 'hang ngay'."""
    text = text.lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def parse_plain(
    text: str, *, first_day: date, until: date | None, zone: ZoneInfo
) -> PlainRecurrence:
    """Read a plain-words recurrence starting on `first_day` (local) and ending on `until`."""
    folded = _fold(text)
    times = sorted({time(int(h), int(m or 0)) for h, m in _TIME.findall(folded)})
    if not times:
        raise InvalidInputError(
            "No time of day found. Probable cause: write the hours like 6:00 or 17h30"
        )
    daily = any(word in folded for word in _DAILY)
    weekdays = tuple(code for pattern, code in _WEEKDAYS if pattern.search(folded))
    first = datetime.combine(first_day, times[0], tzinfo=zone)
    recurring = daily or bool(weekdays) or len(times) > 1
    if not recurring:
        return PlainRecurrence(first, None, tuple(times), (), False)
    if until is None:
        raise InvalidInputError("A repeated broadcast needs the last day of the campaign")
    if until < first_day:
        raise InvalidInputError("The last day comes before the first day")
    end = as_utc(datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    parts = ["FREQ=WEEKLY" if weekdays and not daily else "FREQ=DAILY"]
    if weekdays and not daily:
        parts.append("BYDAY=" + ",".join(sorted(weekdays, key=_ORDER.index)))
        # The first airing must itself match the rule: move to the first listed weekday.
        while _ORDER[first.weekday()] not in weekdays:
            first += timedelta(days=1)
    parts.append("BYHOUR=" + ",".join(str(t.hour) for t in times))
    minutes = sorted({t.minute for t in times})
    parts.append("BYMINUTE=" + ",".join(str(m) for m in minutes))
    parts.append("BYSECOND=0")
    parts.append("UNTIL=" + (end - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ"))
    if len(minutes) > 1 and len(times) > 1:
        # BYHOUR x BYMINUTE would make every combination; one rule per time is not RFC 5545
        # single-rule material, so refuse rather than air at times nobody asked for.
        combos = {(t.hour, t.minute) for t in times}
        every = {(h, m) for h in {t.hour for t in times} for m in minutes}
        if combos != every:
            raise InvalidInputError(
                "Times with different minutes (e.g. 6:00 and 17:30) cannot share one rule. "
                "Probable cause: create one broadcast per time"
            )
    return PlainRecurrence(first, ";".join(parts), tuple(times), weekdays, daily)
