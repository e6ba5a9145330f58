"""Schedules in Vietnamese words: what people read instead of an RRULE.

Table tests for the rules the console writes and the simple ones API clients send,
and a property test that for generated rules the times of day and the number of
airings in the summary are those of dateutil's expansion.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.schedule.describe import Span, airing_text, describe_schedule
from broadcast.schedule.recurrence import parse_plain

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 11, 30)
WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def words(rule: str | None, start: datetime, today: date | None = None) -> str:
    return describe_schedule(starts_at=start, rule=rule, zone=ZONE, today=today)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=ZONE)


@pytest.mark.parametrize(
    ("text", "first_day", "until", "expected"),
    [
        (
            "hằng ngày lúc 6:00 và 17:00",
            date(2026, 12, 3),
            date(2027, 1, 1),
            "Hằng ngày 06:00 và 17:00, từ 03/12 đến 01/01, 60 lượt",
        ),
        (
            "thứ hai và thứ năm lúc 6:00 và 17:30",
            date(2026, 12, 7),
            date(2026, 12, 31),
            "Hằng tuần vào Thứ Hai và Thứ Năm, 06:00 và 17:30, từ 07/12 đến 31/12, 16 lượt",
        ),
        (
            "thứ 2 đến thứ 6 lúc 6h30",
            date(2026, 12, 7),
            date(2026, 12, 18),
            "Hằng tuần từ Thứ Hai đến Thứ Sáu, 06:30, từ 07/12 đến 18/12, 10 lượt",
        ),
        (
            "cuối tuần lúc 8:00",
            date(2026, 12, 7),
            date(2026, 12, 20),
            "Hằng tuần vào Thứ Bảy và Chủ nhật, 08:00, từ 12/12 đến 20/12, 4 lượt",
        ),
        (
            "cách ngày lúc 6:00",
            date(2026, 12, 1),
            date(2026, 12, 9),
            "2 ngày một lần, 06:00, từ 01/12 đến 09/12, 5 lượt",
        ),
        (
            "thứ năm ngày 10/12 lúc 6:00 và 17:00",
            date(2026, 12, 1),
            None,
            "Ngày 10/12/2026 lúc 06:00 và 17:00, 2 lượt",
        ),
        ("lúc 6:00 ngày 3/12/2026", date(2026, 12, 1), None, "Một lần lúc 06:00 ngày 03/12/2026"),
    ],
)
def test_what_editors_write_is_read_back_in_words(
    text: str, first_day: date, until: date | None, expected: str
) -> None:
    plan = parse_plain(text, first_day=first_day, until=until, zone=ZONE)
    assert words(plan.rrule, plan.starts_at, TODAY) == expected


START = at(date(2026, 12, 1), 6)  # a Tuesday


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (
            "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;COUNT=60",
            "Hằng ngày 06:00 và 17:00, từ 01/12/2026 đến 30/12/2026, 60 lượt",
        ),
        (
            "RRULE:FREQ=DAILY;INTERVAL=3;COUNT=4",
            "3 ngày một lần, 06:00, từ 01/12/2026 đến 10/12/2026, 4 lượt",
        ),
        (
            "FREQ=WEEKLY;COUNT=3",
            "Hằng tuần vào Thứ Ba, 06:00, từ 01/12/2026 đến 15/12/2026, 3 lượt",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;COUNT=3",
            "2 tuần một lần vào Thứ Hai, 06:00, từ 14/12/2026 đến 11/01/2027, 3 lượt",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;COUNT=7",
            "Hằng ngày 06:00, từ 01/12/2026 đến 07/12/2026, 7 lượt",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=7;BYMINUTE=30;COUNT=4",
            "Hằng tháng vào ngày 1 và ngày 15, 07:30, từ 01/12/2026 đến 15/01/2027, 4 lượt",
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=2",
            "Hằng tháng vào ngày cuối tháng, 06:00, từ 31/12/2026 đến 31/01/2027, 2 lượt",
        ),
        (
            "FREQ=MONTHLY;INTERVAL=3;COUNT=2",
            "3 tháng một lần vào ngày 1, 06:00, từ 01/12/2026 đến 01/03/2027, 2 lượt",
        ),
        (
            # Mixed minutes the way the console writes them: 06:00 and 17:30 only.
            "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0,30;BYSECOND=0;BYSETPOS=1,4;COUNT=4",
            "Hằng ngày 06:00 và 17:30, từ 01/12/2026 đến 02/12/2026, 4 lượt",
        ),
        (
            "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=-1;COUNT=2",
            "Hằng ngày 17:30, từ 01/12/2026 đến 02/12/2026, 2 lượt",
        ),
        (
            "FREQ=DAILY;BYHOUR=6,7,8,9,10,11,12;BYMINUTE=0;COUNT=14",
            "Hằng ngày, 7 giờ phát từ 06:00 đến 12:00, từ 01/12/2026 đến 02/12/2026, 14 lượt",
        ),
        (
            "FREQ=DAILY;BYHOUR=6;UNTIL=20261203T165959Z",
            "Hằng ngày 06:00, từ 01/12/2026 đến 03/12/2026, 3 lượt",
        ),
        # Parts with no plain wording: a generic pattern, the real dates and count.
        ("FREQ=YEARLY;COUNT=2", "Lặp lại theo lịch riêng, từ 01/12/2026 đến 01/12/2027, 2 lượt"),
        (
            "FREQ=MONTHLY;BYDAY=1MO;COUNT=2",
            "Lặp lại theo lịch riêng, từ 07/12/2026 đến 04/01/2027, 2 lượt",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=6,17;BYMINUTE=0,30;BYSETPOS=1;COUNT=2",
            "Lặp lại theo lịch riêng, từ 03/12/2026 đến 07/12/2026, 2 lượt",
        ),
        (
            "FREQ=DAILY;BYMONTH=12;COUNT=2",
            "Lặp lại theo lịch riêng, từ 01/12/2026 đến 02/12/2026, 2 lượt",
        ),
        ("FREQ=DAILY;BYHOUR=6", "Hằng ngày 06:00"),  # endless: never stored, nothing counted
        ("not a rule", "Lặp lại theo lịch riêng"),
    ],
)
def test_rules_are_worded_never_shown_raw(rule: str, expected: str) -> None:
    shown = words(rule, START)
    assert shown == expected
    assert "FREQ" not in shown and "=" not in shown


def test_a_one_off_broadcast_is_one_airing_with_its_date() -> None:
    assert words(None, at(date(2026, 12, 3), 6)) == "Một lần lúc 06:00 ngày 03/12/2026"


def test_times_are_on_the_wall_clock_of_the_zone_whatever_the_offset_given() -> None:
    utc = datetime(2026, 12, 2, 23, 0, tzinfo=ZoneInfo("UTC"))  # 06:00 on 03/12 in Hà Nội
    assert words(None, utc) == "Một lần lúc 06:00 ngày 03/12/2026"
    assert airing_text(utc, ZONE) == "03/12/2026 06:00"


def test_years_are_left_out_only_for_a_campaign_of_this_year() -> None:
    rule = "FREQ=DAILY;BYHOUR=6;UNTIL=20270105T165959Z"
    start = at(date(2026, 12, 30), 6)
    assert words(rule, start, date(2026, 6, 1)).endswith("từ 30/12 đến 05/01, 7 lượt")
    assert words(rule, start, date(2025, 12, 1)).endswith("từ 30/12/2026 đến 05/01/2027, 7 lượt")


def test_a_stored_broadcast_counts_its_stored_airings() -> None:
    # A campaign created after its first days counts the airings it still has.
    rule = "FREQ=DAILY;BYHOUR=6;UNTIL=20261210T165959Z"
    span = Span(3, at(date(2026, 12, 8), 6), at(date(2026, 12, 10), 6))
    shown = describe_schedule(starts_at=START, rule=rule, zone=ZONE, span=span)
    assert shown == "Hằng ngày 06:00, từ 08/12/2026 đến 10/12/2026, 3 lượt"


# --- property: the words agree with dateutil ------------------------------------------------

CLOCK = re.compile(r"\b(\d\d):(\d\d)\b")
COUNT = re.compile(r", (\d+) lượt$")


@st.composite
def simple_rules(draw: st.DrawFn) -> tuple[str, datetime]:
    """A DAILY or WEEKLY rule with hours, minutes, maybe BYSETPOS, ending on COUNT or UNTIL.

    The first airing is the earliest time of a matching day, so the first day of the
    expansion holds every time of day the rule has.
    """
    hours = draw(st.lists(st.integers(0, 23), min_size=1, max_size=4, unique=True))
    minutes = draw(st.lists(st.integers(0, 59), min_size=1, max_size=3, unique=True))
    grid = sorted(time(h, m) for h in hours for m in minutes)
    weekly = draw(st.booleans())
    days = draw(st.lists(st.sampled_from(WEEK), min_size=1, max_size=7, unique=True))
    interval = draw(st.integers(1, 3))
    parts = ["FREQ=WEEKLY" if weekly else "FREQ=DAILY"]
    if interval > 1 and (weekly or draw(st.booleans())):
        parts.append(f"INTERVAL={interval}")
    if weekly or "INTERVAL" not in parts[-1]:
        parts.append("BYDAY=" + ",".join(days))
    else:
        days = WEEK
    parts.append("BYHOUR=" + ",".join(map(str, hours)))
    parts.append("BYMINUTE=" + ",".join(map(str, minutes)))
    kept = grid
    if not weekly and len(grid) > 1 and draw(st.booleans()):
        positions = draw(st.lists(st.integers(1, len(grid)), min_size=1, unique=True))
        parts.append("BYSETPOS=" + ",".join(map(str, positions)))
        kept = [grid[p - 1] for p in sorted(positions)]
    first_day = date(2026, 12, 7) + timedelta(days=draw(st.integers(0, 400)))
    while WEEK[first_day.weekday()] not in days:
        first_day += timedelta(days=1)
    if draw(st.booleans()):
        parts.append(f"COUNT={draw(st.integers(len(kept), 200))}")
    else:
        last = first_day + timedelta(days=draw(st.integers(0, 90)))
        end = datetime.combine(last, time(23, 59, 59), tzinfo=ZONE).astimezone(ZoneInfo("UTC"))
        parts.append(f"UNTIL={end:%Y%m%dT%H%M%SZ}")
    return ";".join(parts), datetime.combine(first_day, kept[0], tzinfo=ZONE)


@settings(max_examples=150, deadline=None)
@given(simple_rules())
def test_times_and_count_in_words_are_those_of_the_expansion(
    case: tuple[str, datetime],
) -> None:
    rule, start = case
    expansion = list(rrulestr(rule, dtstart=start))
    shown = words(rule, start)
    assert "FREQ" not in shown and "lượt" in shown
    count = COUNT.search(shown)
    assert count is not None, shown
    assert int(count.group(1)) == len(expansion)
    listed = sorted({f"{t:%H:%M}" for t in expansion})
    clocks = [f"{h}:{m}" for h, m in CLOCK.findall(shown)]
    if "giờ phát từ" in shown:  # many times: how many, the first and the last
        assert f"{len(listed)} giờ phát từ {listed[0]} đến {listed[-1]}" in shown
    else:
        assert clocks == listed, shown
