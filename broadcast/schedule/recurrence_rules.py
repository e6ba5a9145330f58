"""Named token rules of plain-words recurrences, and the meanings they give.

Each rule reads at a cursor (broadcast/schedule/recurrence_lexer.py) and answers how many
tokens it takes and what they mean, or None. RULES lists them; the tokenizer takes
the longest match at each position, so "mỗi tuần 2 buổi" (a count) wins over "mỗi
tuần" (every week) and "6 giờ" (a time) over a bare "6" continuing "thứ 2, 4, 6".
Meanings are only read here; broadcast/schedule/recurrence.py puts them together.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcast.schedule import recurrence_words as words
from broadcast.schedule.recurrence_lexer import Cursor, Match, Rule

# --- meanings ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    """A time as written: the hour before any sáng/chiều/tối, and the minutes."""

    hour: int
    minute: int
    well_formed: bool = True  # False for "6:5" (minutes after a colon take two digits)


@dataclass(frozen=True, slots=True)
class Period:
    """A part of the day ("sáng", "chiều", ...), the key of words.PERIODS."""

    name: str


@dataclass(frozen=True, slots=True)
class Day:
    """One day of the week."""

    code: str


@dataclass(frozen=True, slots=True)
class DaySet:
    """Several days at once ("ngày thường", "cuối tuần")."""

    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EveryDay:
    """ "hằng ngày"."""


@dataclass(frozen=True, slots=True)
class EveryOtherDay:
    """ "cách ngày": every second day."""


@dataclass(frozen=True, slots=True)
class EveryWeek:
    """The named days come back every week ("hằng tuần", "mỗi thứ hai")."""


@dataclass(frozen=True, slots=True)
class StartsFrom:
    """The date that follows is where a campaign starts ("từ ngày 10/12")."""


@dataclass(frozen=True, slots=True)
class DateWords:
    """A calendar date as written; the year may be missing."""

    day: int
    month: int
    year: int | None


@dataclass(frozen=True, slots=True)
class Count:
    """ "mỗi tuần 2 buổi": a number of airings without their days and times."""


@dataclass(frozen=True, slots=True)
class ListSep:
    """ "và", a comma."""


@dataclass(frozen=True, slots=True)
class RangeSep:
    """ "đến", "-": between the two ends of a range of days."""


@dataclass(frozen=True, slots=True)
class Filler:
    """A word with no meaning of its own here ("lúc", "vào", "phát")."""


# --- rules -------------------------------------------------------------------------------


def clock(c: Cursor) -> Match | None:
    """6:00, 06:30, 6h, 6h30, 6g30, 6h30p, 17 giờ, 6 giờ 30 phút, 6 rưỡi, 6 giờ rưỡi."""
    hour = c.number(0)
    if hour is None:
        return None
    if c.sign(1) == ":":
        minutes = c.digits(2)
        if minutes is None or len(minutes) > 2:
            return None
        taken = 3 + c.phrase(words.HOUR_MARKS, 3)  # "6:00h", "6:00 giờ"
        return taken, Clock(hour, int(minutes), well_formed=len(minutes) == 2)
    if c.phrase(words.HALF_HOUR, 1):
        return 2, Clock(hour, 30)
    mark = c.phrase(words.HOUR_MARKS, 1)
    if not mark:
        return None
    if c.phrase(words.HALF_HOUR, 1 + mark):
        return 2 + mark, Clock(hour, 30)
    minute = c.number(1 + mark)
    if minute is None or c.phrase(words.NOT_MINUTES_AFTER, 2 + mark):
        return 1 + mark, Clock(hour, 0)
    return 2 + mark + c.phrase(words.MINUTE_MARKS, 2 + mark), Clock(hour, minute)


def period(c: Cursor) -> Match | None:
    """sáng, trưa, chiều, tối, đêm (also "buổi sáng")."""
    prefix = c.phrase(words.PERIOD_PREFIX)
    found = c.lookup(words.PERIOD_WORDS, prefix)
    return (prefix + found[0], Period(found[1])) if found else None


def _weekday_code(c: Cursor, offset: int) -> str | None:
    number = c.number(offset, digits=1)
    if number is not None:
        return words.WEEKDAY_NUMBERS.get(number)
    found = c.lookup(words.WEEKDAY_WORDS, offset)
    return found[1] if found else None


def weekday(c: Cursor) -> Match | None:
    """thứ hai ... thứ bảy, thứ 2 ... thứ 7, T2 ... T7, chủ nhật, CN."""
    sunday = c.phrase(words.SUNDAY)
    if sunday:
        return sunday, Day("SU")
    prefix = c.phrase(words.WEEKDAY_PREFIXES)
    if prefix:
        code = _weekday_code(c, prefix)
        return (prefix + 1, Day(code)) if code else None
    if c.phrase(words.SHORT_WEEKDAY_PREFIX) and c.number(1, digits=1) is not None:
        code = words.WEEKDAY_NUMBERS.get(c.number(1, digits=1) or 0)
        return (2, Day(code)) if code else None
    return None


def weekday_continued(c: Cursor) -> Match | None:
    """A bare day after a day and a separator: the 4 and 6 of "thứ 2, 4, 6", "T2-6"."""
    if len(c.before) < 2:
        return None
    separator, day = c.before[-1].value, c.before[-2].value
    if not isinstance(separator, ListSep | RangeSep) or not isinstance(day, Day):
        return None
    code = _weekday_code(c, 0)
    return (1, Day(code)) if code else None


def day_set(c: Cursor) -> Match | None:
    """ngày thường, các ngày trong tuần (Monday to Friday), cuối tuần (Saturday, Sunday)."""
    found = c.lookup(words.DAY_SETS)
    return (found[0], DaySet(found[1])) if found else None


def every_day(c: Cursor) -> Match | None:
    """hằng ngày, hàng ngày, mỗi ngày."""
    taken = c.phrase(words.EVERY_DAY)
    return (taken, EveryDay()) if taken else None


def every_other_day(c: Cursor) -> Match | None:
    """cách ngày, cách một ngày, 2 ngày một lần."""
    taken = c.phrase(words.EVERY_OTHER_DAY)
    return (taken, EveryOtherDay()) if taken else None


def every_week(c: Cursor) -> Match | None:
    """hằng tuần, hàng tuần, mỗi tuần."""
    taken = c.phrase(words.EVERY_WEEK)
    return (taken, EveryWeek()) if taken else None


def _a_day_follows(c: Cursor) -> bool:
    return weekday(c) is not None or day_set(c) is not None


def before_day(c: Cursor) -> Match | None:
    """mỗi, các, vào, từ right before a day ("mỗi thứ hai", "từ thứ hai đến thứ sáu")."""
    for table, meaning in (
        (words.BEFORE_DAY_REPEATING, EveryWeek()),
        (words.BEFORE_DAY, Filler()),
    ):
        for phrase in table:
            taken = c.phrase((phrase,))
            if taken and _a_day_follows(c.moved(taken)):
                return taken, meaning
    return None


def starts_from(c: Cursor) -> Match | None:
    """từ, kể từ, bắt đầu từ right before a date: the first day of a campaign."""
    taken = c.phrase(words.BEFORE_START_DATE)
    if taken and date(c.moved(taken)) is not None:
        return taken, StartsFrom()
    return None


def _year(text: str | None) -> int | None:
    if text is None or len(text) not in (2, 4):
        return None
    return int(text) + (2000 if len(text) == 2 else 0)


def date(c: Cursor) -> Match | None:
    """10/12, ngày 10/12/2026, ngày 10 tháng 12 (năm 2026), mùng 2/9."""
    prefix = c.phrase(words.DATE_PREFIXES)
    day = c.number(prefix)
    if day is None:
        return None
    if c.sign(prefix + 1) == "/":
        month = c.number(prefix + 2)
        if month is None:
            return None
        year = _year(c.digits(prefix + 4)) if c.sign(prefix + 3) == "/" else None
        return prefix + (5 if year is not None else 3), DateWords(day, month, year)
    month_word = c.phrase(words.MONTH_WORD, prefix + 1)
    if not month_word:
        return None
    month = c.number(prefix + 1 + month_word)
    if month is None:
        return None
    taken = prefix + 2 + month_word
    year_word = c.phrase(words.YEAR_WORD, taken)
    year = _year(c.digits(taken + year_word)) if year_word else None
    return taken + (year_word + 1 if year is not None else 0), DateWords(day, month, year)


def count(c: Cursor) -> Match | None:
    """mỗi tuần 2 buổi, 2 lần một ngày: how many airings, but not which days and times."""
    taken = c.phrase(words.COUNT_BEFORE)
    number = 1 if c.number(taken) is not None else c.phrase(words.COUNT_NUMBER_WORDS, taken)
    if not number or not c.phrase(words.COUNT_UNITS, taken + number):
        return None
    taken += number + 1
    return taken + c.phrase(words.COUNT_AFTER, taken), Count()


def list_separator(c: Cursor) -> Match | None:
    """và, a comma."""
    taken = c.phrase(words.LIST_WORDS)
    return (taken, ListSep()) if taken else None


def range_separator(c: Cursor) -> Match | None:
    """đến, tới, a dash."""
    taken = c.phrase(words.RANGE_WORDS)
    return (taken, RangeSep()) if taken else None


def filler(c: Cursor) -> Match | None:
    """lúc, vào, phát, full stops."""
    taken = c.phrase(words.FILLERS)
    return (taken, Filler()) if taken else None


RULES: tuple[Rule, ...] = tuple(
    Rule(f.__name__, f)
    for f in (
        clock,
        period,
        weekday,
        weekday_continued,
        day_set,
        every_day,
        every_other_day,
        every_week,
        before_day,
        starts_from,
        date,
        count,
        list_separator,
        range_separator,
        filler,
    )
)
