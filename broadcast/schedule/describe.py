"""A broadcast's schedule in words: "Hằng ngày 06:00 và 17:00, từ 03/12 đến 01/01, 60 lượt".

People never read a raw RRULE: this module reads the rule's parts (those
broadcast/schedule/recurrence.py writes, and the simple ones an API client may send) and
words them on the wall clock of the broadcast's zone. A part it does not know makes the
whole pattern generic ("Lặp lại theo lịch riêng"), never a half-true sentence; the
dates and the number of airings still come from the airings themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcast.schedule.models import Broadcast
from broadcast.schedule.recurrence_words import WEEK
from broadcast.schedule.service import AiringSummary, air_times
from stations.errors import InvalidInputError
from stations.timeutil import as_utc

# How days are named in a summary, capitalised as Vietnamese writes them in a schedule.
WEEKDAY_TITLES = {
    "MO": "Thứ Hai",
    "TU": "Thứ Ba",
    "WE": "Thứ Tư",
    "TH": "Thứ Năm",
    "FR": "Thứ Sáu",
    "SA": "Thứ Bảy",
    "SU": "Chủ nhật",
}
GENERIC = "Lặp lại theo lịch riêng"
# More times of day than this are summed up ("96 giờ phát từ 00:00 đến 23:45").
MAX_TIMES_LISTED = 6
# A run of at least this many consecutive days is written as a range ("Thứ Hai đến Thứ Sáu").
MIN_DAY_RANGE = 3
_KNOWN_PARTS = {
    "FREQ",
    "INTERVAL",
    "BYDAY",
    "BYMONTHDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "COUNT",
    "UNTIL",
    "WKST",
}


@dataclass(frozen=True, slots=True)
class Span:
    """The airings a summary counts: how many, the first and the last (aware)."""

    count: int
    first: datetime
    last: datetime


class _Unknown(Exception):
    """A rule part this module cannot word truthfully."""


def and_list(items: Sequence[str]) -> str:
    """ "a", "a và b", "a, b và c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " và " + items[-1]


def day_month_year(day: date) -> str:
    """dd/mm/yyyy, whatever the reader's locale."""
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def airing_text(moment: datetime, zone: ZoneInfo) -> str:
    """One airing as people read it: dd/mm/yyyy HH:MM on the wall clock of `zone`."""
    local = as_utc(moment).astimezone(zone)
    return f"{day_month_year(local.date())} {local:%H:%M}"


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for item in text.split(";"):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or key not in _KNOWN_PARTS or key in parts or not value.strip():
            raise _Unknown(key)
        parts[key] = value.strip().upper()
    return parts


def _numbers(value: str | None, low: int, high: int) -> list[int]:
    if value is None:
        return []
    try:
        numbers = [int(v) for v in value.split(",")]
    except ValueError:
        raise _Unknown(value) from None
    if any(not low <= n <= high for n in numbers):
        raise _Unknown(value)
    return sorted(set(numbers))


def _times(parts: dict[str, str], start: datetime) -> list[time]:
    """The times of day of every airing day, as dateutil computes them for DAILY rules."""
    hours = _numbers(parts.get("BYHOUR"), 0, 23) or [start.hour]
    minutes = _numbers(parts.get("BYMINUTE"), 0, 59) or [start.minute]
    if len(_numbers(parts.get("BYSECOND"), 0, 59)) > 1:
        raise _Unknown("BYSECOND")
    grid = [time(h, m) for h in hours for m in minutes]
    if "BYSETPOS" not in parts:
        return grid
    if parts["FREQ"] != "DAILY":
        raise _Unknown("BYSETPOS")  # positions would run over a week or a month of times
    kept = set()
    for position in _numbers(parts["BYSETPOS"], -366, 366):
        index = position - 1 if position > 0 else len(grid) + position
        if 0 <= index < len(grid):
            kept.add(grid[index])
    return sorted(kept)


def _weekdays(parts: dict[str, str]) -> list[str]:
    if "BYDAY" not in parts:
        return []
    days = parts["BYDAY"].split(",")
    if any(d not in WEEK for d in days):
        raise _Unknown("BYDAY")  # "1MO", "-1FR": a position in the month
    return sorted(set(days), key=WEEK.index)


def _day_list(days: list[str]) -> str:
    """ "vào Thứ Hai và Thứ Năm", "từ Thứ Hai đến Thứ Sáu": runs of three or more as ranges."""
    runs: list[list[str]] = []
    for day in days:
        if runs and WEEK.index(day) == WEEK.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    items: list[str] = []
    for run in runs:
        if len(run) >= MIN_DAY_RANGE:
            items.append(f"{WEEKDAY_TITLES[run[0]]} đến {WEEKDAY_TITLES[run[-1]]}")
        else:
            items += [WEEKDAY_TITLES[d] for d in run]
    if len(runs) == 1 and len(runs[0]) >= MIN_DAY_RANGE:
        return f"từ {items[0]}"
    return f"vào {and_list(items)}"


def _month_days(parts: dict[str, str], start: datetime) -> str:
    days = _numbers(parts.get("BYMONTHDAY"), -31, 31) or [start.day]
    if any(d < -1 or d == 0 for d in days):
        raise _Unknown("BYMONTHDAY")
    named = [f"ngày {d}" for d in days if d > 0] + ["ngày cuối tháng" for d in days if d == -1]
    return and_list(named)


def _pattern(parts: dict[str, str], start: datetime) -> str:
    """The repeating days in words."""
    freq = parts.get("FREQ")
    interval = (_numbers(parts.get("INTERVAL"), 1, 10_000) or [1])[0]
    days = _weekdays(parts)
    if freq == "DAILY":
        if not days or len(days) == len(WEEK):
            return "Hằng ngày" if interval == 1 else f"{interval} ngày một lần"
        if interval > 1:
            raise _Unknown("INTERVAL")  # every n-th day, and only some weekdays
        return f"Hằng tuần {_day_list(days)}"
    if freq == "WEEKLY":
        days = days or [WEEK[start.weekday()]]
        if interval == 1:
            if len(days) == len(WEEK):
                return "Hằng ngày"
            return f"Hằng tuần {_day_list(days)}"
        return f"{interval} tuần một lần {_day_list(days)}"
    if freq == "MONTHLY" and not days:
        every = "Hằng tháng" if interval == 1 else f"{interval} tháng một lần"
        return f"{every} vào {_month_days(parts, start)}"
    raise _Unknown(freq or "FREQ")


def _clock_list(times: list[time]) -> str:
    shown = [f"{t:%H:%M}" for t in times]
    if len(shown) > MAX_TIMES_LISTED:
        return f"{len(shown)} giờ phát từ {shown[0]} đến {shown[-1]}"
    return and_list(shown)


def _until_day(parts: dict[str, str], zone: ZoneInfo) -> date | None:
    """The local last day an UTC UNTIL (…Z, as dateutil requires with a zone) allows."""
    value = parts.get("UNTIL", "")
    try:
        until = datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return as_utc(until.replace(tzinfo=ZoneInfo("UTC"))).astimezone(zone).date()


def span_of(*, starts_at: datetime, rule: str | None, zone: ZoneInfo) -> Span | None:
    """Every airing of the rule, counted; None when the rule gives none or is not valid."""
    try:
        times = air_times(starts_at=starts_at, rule=rule, zone=zone)
    except InvalidInputError:
        return None
    return Span(len(times), times[0], times[-1])


def _range(first: date, last: date, today: date | None) -> str:
    short = today is not None and first.year == today.year and last - first < timedelta(days=366)
    if short:
        return f"từ {first:%d/%m} đến {last:%d/%m}"
    return f"từ {day_month_year(first)} đến {day_month_year(last)}"


def describe_schedule(
    *,
    starts_at: datetime,
    rule: str | None,
    zone: ZoneInfo,
    today: date | None = None,
    span: Span | None = None,
) -> str:
    """The schedule in Vietnamese on the wall clock of `zone`; never the rule itself.

    `span` gives the airings to count (a stored broadcast's); without it they are
    computed from the rule. With `today`, a campaign starting this year and lasting under
    a year is dated without years ("từ 03/12 đến 01/01").
    """
    start = as_utc(starts_at).astimezone(zone)
    if not rule:
        return f"Một lần lúc {start:%H:%M} ngày {day_month_year(start.date())}"
    span = span or span_of(starts_at=starts_at, rule=rule, zone=zone)
    try:
        parts = _parts(rule)
        pattern = _pattern(parts, start)
        times = _times(parts, start)
        if not times:
            raise _Unknown("BYSETPOS")
    except _Unknown:
        parts, pattern, times = {}, GENERIC, []
    when = pattern
    if times:
        # "Hằng ngày 06:00 và 17:00"; after days or a count, a comma keeps them apart.
        plain = pattern == "Hằng ngày" and len(times) <= MAX_TIMES_LISTED
        when += f"{' ' if plain else ', '}{_clock_list(times)}"
    if span is None or span.count == 0:
        return when
    first = as_utc(span.first).astimezone(zone).date()
    last = _until_day(parts, zone) or as_utc(span.last).astimezone(zone).date()
    last = max(last, as_utc(span.last).astimezone(zone).date())
    if times and first == as_utc(span.last).astimezone(zone).date():
        # Every airing falls on one day: the day says more than the repetition.
        return f"Ngày {day_month_year(first)} lúc {_clock_list(times)}, {span.count} lượt"
    return f"{when}, {_range(first, last, today)}, {span.count} lượt"


def describe_broadcast(
    broadcast: Broadcast, summary: AiringSummary | None = None, *, today: date | None = None
) -> str:
    """A stored broadcast's schedule in words, in the zone its rule was computed in.

    With its airing summary the stored airings are counted (no expansion of the rule):
    those kept in the wording's count and span, the cancelled ones (one by one, or moved
    to another broadcast by a series edit) said apart.
    """
    span = None
    kept = summary.count - summary.cancelled if summary else 0
    if summary and kept and summary.first_kept_at and summary.last_kept_at:
        span = Span(kept, summary.first_kept_at, summary.last_kept_at)
    text = describe_schedule(
        starts_at=broadcast.starts_at,
        rule=broadcast.rrule,
        zone=ZoneInfo(broadcast.timezone),
        today=today,
        span=span,
    )
    if summary and summary.cancelled and kept:
        text += f" ({summary.cancelled} lượt đã hủy hoặc chuyển)"
    elif summary and summary.cancelled:
        text += f", cả {summary.cancelled} lượt đã hủy hoặc chuyển"
    return text
