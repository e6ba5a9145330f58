"""Recurrences in plain Vietnamese ("hằng ngày lúc 6:00 và 17:00") turned into RFC 5545 RRULEs.

The phrase is cut into pieces by named rules (broadcast/schedule/recurrence_rules.py, with the
words in broadcast/schedule/recurrence_words.py); every word is either understood or reported
back, so nothing a person wrote is silently dropped. This module puts the pieces
together: times (with sáng/chiều/tối), days of the week (lists and ranges), every day,
every other day, one date. docs/console.md lists the phrases understood. The campaign
ends on `until` (a local date, included).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from broadcast.schedule.recurrence_lexer import Piece, Unknown, tokenize
from broadcast.schedule.recurrence_rules import (
    RULES,
    Clock,
    Count,
    DateWords,
    Day,
    DaySet,
    EveryDay,
    EveryOtherDay,
    EveryWeek,
    Filler,
    Period,
    RangeSep,
    StartsFrom,
)
from broadcast.schedule.recurrence_words import DAY_NAMES, PERIODS, WEEK
from broadcast.schedule.service import air_times
from stations.errors import InvalidInputError
from stations.timeutil import as_utc

MAX_TEXT = 500
# Days whose midnight converts to UTC and back in any zone (datetime stops at years 1 and 9999).
FIRST_DAY = date(1970, 1, 2)
LAST_DAY = date(9998, 12, 31)
_SHOWN_UNKNOWN = 8
_EXAMPLES = "'thứ hai đến thứ sáu lúc 6:00' or 'hằng ngày lúc 6h30'"


@dataclass(frozen=True, slots=True)
class PlainRecurrence:
    """The first airing (aware) and the RRULE (None for a single airing)."""

    starts_at: datetime
    rrule: str | None
    times: tuple[time, ...]
    weekdays: tuple[str, ...]
    daily: bool


@dataclass
class _Reading:
    """What the phrase says, before it meets the calendar."""

    times: set[time] = field(default_factory=set)
    days: set[str] = field(default_factory=set)
    day_text: str = ""
    every_day: str = ""
    every_other_day: str = ""
    every_week: str = ""
    dates: list[tuple[DateWords, str, bool]] = field(default_factory=list)


def _quoted(texts: list[str]) -> str:
    shown = ", ".join(f"'{t}'" for t in texts[:_SHOWN_UNKNOWN])
    return shown + (", …" if len(texts) > _SHOWN_UNKNOWN else "")


def _visible(text: str) -> str:
    """Control characters named (U+0000), so a message shows what was refused."""
    return "".join(
        f"U+{ord(c):04X}" if unicodedata.category(c).startswith("C") else c for c in text
    )


def _not_understood(text: str, pieces: list[Piece], indexes: set[int]) -> InvalidInputError:
    groups: list[list[Piece]] = []
    for i in sorted(indexes):
        if groups and groups[-1][-1] is pieces[i - 1]:
            groups[-1].append(pieces[i])
        else:
            groups.append([pieces[i]])
    texts = [_visible(text[g[0].start : g[-1].end]) for g in groups]
    return InvalidInputError(
        f"Words not understood: {_quoted(texts)}. Probable cause: write days and times "
        f"like {_EXAMPLES}",
        code="schedule.unknown_words",
        words=_quoted(texts),
    )


def _attach_periods(pieces: list[Piece], unknown: set[int]) -> dict[int, Piece]:
    """Each sáng/chiều/tối goes with the time just before it, else the one just after."""
    period_of: dict[int, Piece] = {}
    for i, piece in enumerate(pieces):
        if not isinstance(piece.value, Period):
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(pieces) and isinstance(pieces[j].value, Clock) and j not in period_of:
                period_of[j] = piece
                break
        else:
            unknown.add(i)
    return period_of


def _week_range(first: str, last: str) -> list[str]:
    """Days from `first` to `last` in week order, over Sunday when needed (T6-T2)."""
    start, stop = WEEK.index(first), WEEK.index(last)
    return [WEEK[(start + k) % 7] for k in range((stop - start) % 7 + 1)]


def _ranges(pieces: list[Piece], unknown: set[int]) -> list[str]:
    """The days of every "thứ 2 đến thứ 6"; a range sign anywhere else is not understood."""
    days: list[str] = []
    for i, piece in enumerate(pieces):
        if not isinstance(piece.value, RangeSep):
            continue
        j = i + 1
        while j < len(pieces) and isinstance(pieces[j].value, Filler | EveryWeek):
            j += 1  # "thứ 2 đến ngày thứ 6"
        start = pieces[i - 1].value if i > 0 else None
        stop = pieces[j].value if j < len(pieces) else None
        if isinstance(start, Day) and isinstance(stop, Day):
            days += _week_range(start.code, stop.code)
        else:
            unknown.add(i)
    return days


def _hours(spans: tuple[tuple[int, int, int], ...]) -> str:
    return ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi, _ in spans)


def _time_of(text: str, piece: Piece, period: Piece | None) -> time:
    clock = piece.value
    assert isinstance(clock, Clock)
    written = piece.text
    if period is not None:
        written = text[min(piece.start, period.start) : max(piece.end, period.end)]
    if not clock.well_formed or clock.hour > 23 or clock.minute > 59:
        raise InvalidInputError(
            f"'{written}' is not a time of day (hours 0 to 23, minutes 00 to 59)",
            code="schedule.not_a_time",
            time=written,
        )
    hour = clock.hour
    if period is not None:
        assert isinstance(period.value, Period)
        name = period.value.name
        spans = PERIODS[name]
        adds = [add for lo, hi, add in spans if lo <= hour <= hi]
        if not adds:
            raise InvalidInputError(
                f"'{written}' is not a time of day: '{name}' goes with hours {_hours(spans)}",
                code="schedule.period_hours",
                time=written,
                period=name,
                hours=_hours(spans),
            )
        hour += adds[0]
    return time(hour, clock.minute)


def _read(text: str) -> _Reading:
    """The meaning of every piece of the phrase; refuses any word not understood."""
    if len(text) > MAX_TEXT:
        raise InvalidInputError(
            f"The text is longer than {MAX_TEXT} characters",
            code="schedule.text_too_long",
            limit=MAX_TEXT,
        )
    pieces = tokenize(text, RULES)
    for piece in pieces:
        if isinstance(piece.value, Count):
            raise InvalidInputError(
                f"'{piece.text}' does not say which days and times to air: write them "
                "instead, e.g. 'thứ hai và thứ năm lúc 6:00'",
                code="schedule.count_without_days",
                words=piece.text,
            )
    unknown = {i for i, p in enumerate(pieces) if isinstance(p.value, Unknown)}
    period_of = _attach_periods(pieces, unknown)
    reading = _Reading()
    reading.days.update(_ranges(pieces, unknown))
    if unknown:
        raise _not_understood(text, pieces, unknown)
    for i, piece in enumerate(pieces):
        value = piece.value
        if isinstance(value, Clock):
            reading.times.add(_time_of(text, piece, period_of.get(i)))
        elif isinstance(value, Day | DaySet):
            reading.days.update([value.code] if isinstance(value, Day) else value.codes)
            reading.day_text = reading.day_text or piece.text
        elif isinstance(value, EveryDay):
            reading.every_day = reading.every_day or piece.text
        elif isinstance(value, EveryOtherDay):
            reading.every_other_day = reading.every_other_day or piece.text
        elif isinstance(value, EveryWeek):
            reading.every_week = reading.every_week or piece.text
        elif isinstance(value, DateWords):
            starts = i > 0 and isinstance(pieces[i - 1].value, StartsFrom)
            reading.dates.append((value, piece.text, starts))
    if len(reading.dates) > 1:
        raise InvalidInputError(
            f"Only one date can be given: {_quoted([t for _, t, _ in reading.dates])}. "
            "Probable cause: make one broadcast per date",
            code="schedule.several_dates",
            dates=_quoted([t for _, t, _ in reading.dates]),
        )
    if reading.every_other_day and (reading.days or reading.every_day):
        other = reading.day_text or reading.every_day
        raise InvalidInputError(
            f"'{reading.every_other_day}' cannot be combined with '{other}'",
            code="schedule.words_clash",
            words=reading.every_other_day,
            other=other,
        )
    if reading.every_week and not reading.days and not reading.every_day:
        raise InvalidInputError(
            f"'{reading.every_week}' does not say which days to air: name them, "
            "e.g. 'thứ hai hằng tuần lúc 6:00'",
            code="schedule.week_without_days",
            words=reading.every_week,
        )
    if not reading.times:
        raise InvalidInputError(
            "No time of day found. Probable cause: write the hours like 6:00 or 17h30",
            code="schedule.no_time",
        )
    return reading


def _calendar_date(words: DateWords, text: str, first_day: date) -> date:
    """The date written; without a year, the first such day on or after `first_day`."""
    years = [words.year] if words.year is not None else range(first_day.year, first_day.year + 9)
    for year in years:
        try:
            found = date(year, words.month, words.day)
        except ValueError:
            continue
        if words.year is not None or found >= first_day:
            return found
    raise InvalidInputError(f"'{text}' is not a date", code="schedule.not_a_date", date=text)


def _check_bounds(*days: date | None) -> None:
    if any(d is not None and not FIRST_DAY <= d <= LAST_DAY for d in days):
        raise InvalidInputError(
            f"Dates must lie between {FIRST_DAY} and {LAST_DAY}",
            code="schedule.date_out_of_bounds",
            first=FIRST_DAY.isoformat(),
            last=LAST_DAY.isoformat(),
        )


def _rule(times: list[time], days: list[str], interval: int, last_day: date, zone: ZoneInfo) -> str:
    hours = sorted({t.hour for t in times})
    minutes = sorted({t.minute for t in times})
    # BYHOUR x BYMINUTE gives every combination; when fewer were asked for (6:00 and
    # 17:30), BYSETPOS keeps the wanted ones among each day's combinations, in time order.
    grid = [time(h, m) for h in hours for m in minutes]
    positions = [str(k + 1) for k, t in enumerate(grid) if t in times]
    keep = len(positions) < len(grid)
    parts = ["FREQ=WEEKLY" if days and not keep else "FREQ=DAILY"]
    if interval > 1:
        parts.append(f"INTERVAL={interval}")
    if days:
        parts.append("BYDAY=" + ",".join(days))
    parts.append("BYHOUR=" + ",".join(str(h) for h in hours))
    parts.append("BYMINUTE=" + ",".join(str(m) for m in minutes))
    parts.append("BYSECOND=0")
    if keep:
        parts.append("BYSETPOS=" + ",".join(positions))
    end = as_utc(datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone))
    parts.append("UNTIL=" + (end - timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def parse_plain(
    text: str, *, first_day: date, until: date | None, zone: ZoneInfo
) -> PlainRecurrence:
    """Read a plain-words recurrence starting on `first_day` (local) and ending on `until`."""
    _check_bounds(first_day, until)
    reading = _read(unicodedata.normalize("NFC", text))
    times = sorted(reading.times)
    first = first_day
    days = sorted(reading.days, key=WEEK.index)
    one_day = False
    if reading.dates:
        words, written, starts = reading.dates[0]
        first = _calendar_date(words, written, first_day)
        _check_bounds(first)
        repeating = reading.every_day or reading.every_other_day or reading.every_week
        if not (repeating or starts):
            # "thứ năm ngày 10/12": the day names the date, it does not repeat.
            weekday = WEEK[first.weekday()]
            if days in ([], [weekday]):
                one_day, days = True, []
            elif len(days) == 1:
                raise InvalidInputError(
                    f"{first:%d/%m/%Y} falls on '{DAY_NAMES[weekday]}', "
                    f"not on '{reading.day_text}'",
                    code="schedule.wrong_weekday",
                    date=f"{first:%d/%m/%Y}",
                    weekday=DAY_NAMES[weekday],
                    written=reading.day_text,
                )
    interval = 2 if reading.every_other_day else 1
    recurring = bool(reading.every_day or reading.every_other_day or days or len(times) > 1)
    if not recurring:
        return PlainRecurrence(
            datetime.combine(first, times[0], tzinfo=zone), None, tuple(times), (), False
        )
    if one_day:
        last = first
    elif until is None:
        raise InvalidInputError(
            "A repeated broadcast needs the last day of the campaign",
            code="schedule.until_missing",
        )
    elif until < first:
        raise InvalidInputError(
            "The last day comes before the first day", code="schedule.until_before_start"
        )
    else:
        last = until
    if days:
        # The first airing must itself match the rule: move to the first listed weekday.
        while WEEK[first.weekday()] not in days:
            first += timedelta(days=1)
        if first > last:
            raise InvalidInputError(
                "None of the days named falls between the start and the end of the campaign",
                code="schedule.no_day_in_period",
            )
    rule = _rule(times, days, interval, last, zone)
    daily = bool(reading.every_day) and not days
    return PlainRecurrence(
        datetime.combine(first, times[0], tzinfo=zone), rule, tuple(times), tuple(days), daily
    )


def airings(plan: PlainRecurrence, *, zone: ZoneInfo) -> list[datetime]:
    """Every airing of `plan` on the wall clock of `zone`, computed as broadcasts compute them."""
    return [
        t.astimezone(zone) for t in air_times(starts_at=plan.starts_at, rule=plan.rrule, zone=zone)
    ]
