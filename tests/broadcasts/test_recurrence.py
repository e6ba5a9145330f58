"""Plain-words recurrences: every phrase people write becomes the airings they meant, or a refusal.

Table tests for the phrases seen in the console, and property tests that write
phrases from the grammar (times with sáng/chiều/tối, weekday lists and ranges, every
day, filler) and check that the airings are exactly the ones written, and that a word
the parser does not know is always refused, never dropped.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadcast.schedule.recurrence import PlainRecurrence, airings, parse_plain
from stations.errors import InvalidInputError

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MONDAY = date(2026, 12, 7)
UNTIL = date(2026, 12, 31)
END = "UNTIL=20261231T165959Z"  # 31 December, 23:59:59 in Hà Nội
WEEK = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WORKDAYS = WEEK[:5]


def read(text: str, first_day: date = MONDAY, until: date | None = UNTIL) -> PlainRecurrence:
    return parse_plain(text, first_day=first_day, until=until, zone=ZONE)


def hhmm(plan: PlainRecurrence) -> list[str]:
    return [t.strftime("%H:%M") for t in plan.times]


def local(plan: PlainRecurrence) -> list[str]:
    """Every airing as a person reads it: 'Mon 07/12 06:00'."""
    return [a.strftime("%a %d/%m %H:%M") for a in airings(plan, zone=ZONE)]


# --- days and times that used to be misread ------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule", "first"),
    [
        (
            "thứ 2 hằng tuần lúc 6:00",
            f"FREQ=WEEKLY;BYDAY=MO;BYHOUR=6;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-07 06:00",
        ),
        (
            "thứ 5 hàng tuần 17 giờ",
            f"FREQ=WEEKLY;BYDAY=TH;BYHOUR=17;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-10 17:00",
        ),
    ],
)
def test_a_weekday_number_is_not_read_as_an_hour(text: str, rule: str, first: str) -> None:
    plan = read(text)
    assert plan.rrule == rule
    assert f"{plan.starts_at:%Y-%m-%d %H:%M}" == first


@pytest.mark.parametrize(
    ("text", "times"),
    [
        ("hằng ngày lúc 6 giờ sáng và 5 giờ chiều", ["06:00", "17:00"]),
        ("lúc 5h chiều", ["17:00"]),
        ("19 giờ tối", ["19:00"]),
        ("8 giờ tối", ["20:00"]),
        ("12 giờ trưa", ["12:00"]),
        ("1 giờ trưa", ["13:00"]),
        ("11 giờ đêm", ["23:00"]),
        ("12 giờ đêm", ["00:00"]),
        ("buổi sáng 6 giờ", ["06:00"]),
        ("sáng 6h30, chiều 5h30", ["06:30", "17:30"]),
        ("17:00 chiều", ["17:00"]),
    ],
)
def test_sang_chieu_toi_set_the_hour(text: str, times: list[str]) -> None:
    assert hhmm(read(text)) == times


@pytest.mark.parametrize(
    "text",
    ["lúc 6 giờ 30", "6h30", "6g30", "06:30", "6 giờ 30 phút", "6h30p", "6 rưỡi", "6 giờ rưỡi"],
)
def test_minutes_are_read_in_every_spelling(text: str) -> None:
    plan = read(text)
    assert hhmm(plan) == ["06:30"]
    assert plan.rrule is None and plan.starts_at == datetime(2026, 12, 7, 6, 30, tzinfo=ZONE)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("thứ 2 đến thứ 6 lúc 6:00", WORKDAYS),
        ("từ thứ hai đến thứ sáu lúc 6:00", WORKDAYS),
        ("T2-T6 lúc 6:00", WORKDAYS),
        ("T2 - T6 lúc 6:00", WORKDAYS),
        ("thứ 2 tới 6 lúc 6:00", WORKDAYS),
        ("thứ 2, 4, 6 lúc 6:00", ["MO", "WE", "FR"]),
        ("thứ 2,4,6 lúc 6:00", ["MO", "WE", "FR"]),
        ("thứ hai, tư và sáu lúc 6:00", ["MO", "WE", "FR"]),
        ("các ngày trong tuần lúc 6:00", WORKDAYS),
        ("ngày thường lúc 6:00", WORKDAYS),
        ("cuối tuần lúc 6:00", ["SA", "SU"]),
        ("thứ 6 đến thứ 2 lúc 6:00", ["MO", "FR", "SA", "SU"]),  # over the weekend
        ("mỗi thứ hai và thứ năm lúc 6:00", ["MO", "TH"]),
        ("vào các ngày thứ 3, 5 lúc 6:00", ["TU", "TH"]),
        ("hằng ngày từ thứ hai đến thứ sáu lúc 6:00", WORKDAYS),
    ],
)
def test_lists_and_ranges_of_days(text: str, days: list[str]) -> None:
    plan = read(text)
    assert list(plan.weekdays) == days
    assert f"BYDAY={','.join(days)};" in (plan.rrule or "")
    aired_on = {a.strftime("%a")[:2].upper() for a in airings(plan, zone=ZONE)}
    assert aired_on == set(days)


def test_a_date_is_the_only_airing_day() -> None:
    plan = read("ngày 10/12 lúc 7h")
    assert plan.rrule is None
    assert local(plan) == ["Thu 10/12 07:00"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ngày 10/12/2026 lúc 7:00", ["Thu 10/12 07:00"]),
        ("lúc 7h ngày 10 tháng 12", ["Thu 10/12 07:00"]),
        ("thứ năm, ngày 10/12 lúc 7h", ["Thu 10/12 07:00"]),  # the weekday names the date
        ("ngày 10/12 lúc 6:00 và 17:00", ["Thu 10/12 06:00", "Thu 10/12 17:00"]),
        ("ngày 5/1 lúc 7h", ["Tue 05/01 07:00"]),  # the next 5 January after the first day
    ],
)
def test_dates(text: str, expected: list[str]) -> None:
    assert local(read(text, until=None)) == expected


def test_a_date_starts_a_campaign_when_it_repeats() -> None:
    plan = read("từ ngày 28/12 hằng ngày lúc 6:00")
    assert local(plan) == [
        f"{d:%a %d/%m} 06:00" for d in (date(2026, 12, 28 + k) for k in range(4))
    ]


def test_every_other_day() -> None:
    plan = read("cách ngày lúc 6:00", until=date(2026, 12, 13))
    assert (
        plan.rrule == "FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=0;BYSECOND=0;UNTIL=20261213T165959Z"
    )
    assert local(plan) == [
        "Mon 07/12 06:00",
        "Wed 09/12 06:00",
        "Fri 11/12 06:00",
        "Sun 13/12 06:00",
    ]


def test_times_with_different_minutes_air_only_at_those_times() -> None:
    plan = read("thứ hai và thứ năm lúc 6:00 và 17:30", until=date(2026, 12, 13))
    assert local(plan) == [
        "Mon 07/12 06:00",
        "Mon 07/12 17:30",
        "Thu 10/12 06:00",
        "Thu 10/12 17:30",
    ]
    assert hhmm(read("hằng ngày lúc 6:00, 11:15 và 17:30")) == ["06:00", "11:15", "17:30"]


# --- what worked before keeps working ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule", "first"),
    [
        (
            "hằng ngày lúc 6:00 và 17:00",
            f"FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-07 06:00",
        ),
        ("mỗi ngày 6h30", f"FREQ=DAILY;BYHOUR=6;BYMINUTE=30;BYSECOND=0;{END}", "2026-12-07 06:30"),
        (
            "thứ hai và thứ năm 17:00",
            f"FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=17;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-07 17:00",
        ),
        (
            "chủ nhật 7:00",
            f"FREQ=WEEKLY;BYDAY=SU;BYHOUR=7;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-13 07:00",
        ),
        (
            "lúc 6:00 và 17:00",  # several times without days: every day
            f"FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0;{END}",
            "2026-12-07 06:00",
        ),
        ("Lúc 7:15.", None, "2026-12-07 07:15"),
    ],
)
def test_phrases_that_worked_still_work(text: str, rule: str | None, first: str) -> None:
    plan = read(text)
    assert plan.rrule == rule
    assert f"{plan.starts_at:%Y-%m-%d %H:%M}" == first


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mỗi tuần 2 buổi", "'mỗi tuần 2 buổi' does not say which days and times"),
        ("mỗi tuần hai buổi lúc 6:00", "'mỗi tuần hai buổi' does not say which days"),
        ("2 lần một ngày", "'2 lần một ngày' does not say which days and times"),
        ("hằng tuần lúc 6:00", "'hằng tuần' does not say which days"),
        ("cách tuần lúc 6:00", "Words not understood: 'cách tuần'"),
        ("hằng ngày lúc 6:00 trừ chủ nhật", "Words not understood: 'trừ'"),
        ("lúc 6 giờ kém 15", "Words not understood: 'kém 15'"),
        ("lúc 6 giờ đến 8 giờ", "Words not understood: 'đến'"),
        ("hằng ngày lúc 6:00 hoặc 7:00", "Words not understood: 'hoặc'"),
        ("lúc 6 và 17 giờ", "Words not understood: '6'"),
        ("sáng thứ hai lúc 6:00", "Words not understood: 'sáng'"),
        ("thứ 8 lúc 6:00", "Words not understood: 'thứ 8'"),
        ("3 giờ tối", "'3 giờ tối' is not a time of day: 'tối' goes with hours 6-11, 18-23"),
        ("17 giờ sáng", "'17 giờ sáng' is not a time of day: 'sáng' goes with hours 1-11"),
        ("25:00", "'25:00' is not a time of day"),
        ("6:60", "'6:60' is not a time of day"),
        ("6:5", "'6:5' is not a time of day"),
        ("31/2 lúc 6:00", "'31/2' is not a date"),
        ("ngày 10/12 và 15/12 lúc 6:00", "Only one date can be given: 'ngày 10/12', '15/12'"),
        ("thứ hai ngày 10/12 lúc 7h", "10/12/2026 falls on 'thứ năm', not on 'thứ hai'"),
        ("cách ngày thứ hai lúc 6:00", "'cách ngày' cannot be combined with 'thứ hai'"),
        ("hằng ngày cách ngày lúc 6:00", "'cách ngày' cannot be combined with 'hằng ngày'"),
        ("hằng ngày lúc", "No time of day found"),
        ("", "No time of day found"),
    ],
)
def test_what_is_not_understood_is_refused_and_named(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        read(text)
    assert message in str(refused.value)


def test_the_campaign_needs_its_last_day() -> None:
    with pytest.raises(InvalidInputError, match="needs the last day"):
        read("thứ 2 đến thứ 6 lúc 6:00", until=None)
    with pytest.raises(InvalidInputError, match="comes before the first day"):
        read("ngày 10/12 hằng ngày lúc 6:00", until=date(2026, 12, 9))
    with pytest.raises(InvalidInputError, match="None of the days named"):
        read("chủ nhật lúc 6:00", until=date(2026, 12, 9))


@pytest.mark.parametrize(
    ("first_day", "until"), [(date(1, 1, 1), None), (MONDAY, date(9999, 12, 31))]
)
def test_dates_no_calendar_holds_are_refused(first_day: date, until: date | None) -> None:
    with pytest.raises(InvalidInputError, match="Dates must lie between"):
        read("hằng ngày lúc 6:00", first_day=first_day, until=until)


def test_a_long_text_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="longer than 500"):
        read("lúc 6:00 " * 100)


# --- properties ---------------------------------------------------------------------------

DAY_WORDS = {
    "MO": ["thứ hai", "thứ 2", "T2", "Thứ Hai"],
    "TU": ["thứ ba", "thứ 3", "T3"],
    "WE": ["thứ tư", "thứ 4", "T4"],
    "TH": ["thứ năm", "thứ 5", "T5"],
    "FR": ["thứ sáu", "thứ 6", "T6"],
    "SA": ["thứ bảy", "thứ 7", "T7", "thứ bẩy"],
    "SU": ["chủ nhật", "CN", "Chủ Nhật"],
}
DAY_NUMBERS = {"MO": "2", "TU": "3", "WE": "4", "TH": "5", "FR": "6", "SA": "7"}
# How a 24-hour time may be written with a part of the day: hour written -> 24-hour hour.
PERIOD_HOURS = {
    "sáng": {h: h for h in range(1, 12)},
    "trưa": {11: 11, 12: 12, 1: 13, 2: 14},
    "chiều": {**{h: h + 12 for h in range(1, 8)}, **{h: h for h in range(13, 20)}},
    "tối": {**{h: h + 12 for h in range(6, 12)}, **{h: h for h in range(18, 24)}},
    "đêm": {9: 21, 10: 22, 11: 23, 12: 0},
}
# Words no rule knows; each must be named back, wherever it stands.
JUNK = ["nhà", "cơm", "trường", "xã", "mưa", "kém", "hoặc", "trừ", "khoảng", "hôm nay",
        "ngày mai", "tuần sau", "mười", "lịch", "am", "pm"]  # fmt: skip


@st.composite
def written_time(draw: st.DrawFn) -> tuple[str, time]:
    """A time of day and one way of writing it."""
    hour = draw(st.integers(0, 23))
    minute = draw(st.sampled_from([0, 5, 15, 30, 45, 59]))
    periods = [p for p, hours in PERIOD_HOURS.items() if hour in hours.values()]
    period = draw(st.sampled_from([None, *periods]))
    shown = hour
    if period is not None:
        shown = draw(st.sampled_from([h for h, h24 in PERIOD_HOURS[period].items() if h24 == hour]))
    forms = [
        f"{shown}:{minute:02d}",
        f"{shown:02d}:{minute:02d}",
        f"{shown}h{minute:02d}",
        f"{shown}g{minute}",
        f"{shown} giờ {minute}",
        f"{shown} giờ {minute} phút",
    ]
    if minute == 0:
        forms += [f"{shown}h", f"{shown} giờ", f"{shown}g"]
    if minute == 30:
        forms += [f"{shown} rưỡi", f"{shown} giờ rưỡi", f"{shown}h rưỡi"]
    text = draw(st.sampled_from(forms))
    if period is not None:
        text = draw(
            st.sampled_from([f"{text} {period}", f"{period} {text}", f"{text} buổi {period}"])
        )
    return text, time(hour, minute)


@st.composite
def written_days(draw: st.DrawFn) -> tuple[list[str], set[str] | None]:
    """Words naming days, and the days (None: every day; empty: no day named)."""
    kind = draw(st.sampled_from(["none", "daily", "list", "range", "numbers", "set"]))
    if kind == "none":
        return [], set()
    if kind == "daily":
        return [draw(st.sampled_from(["hằng ngày", "hàng ngày", "mỗi ngày"]))], None
    if kind == "set":
        text, days = draw(
            st.sampled_from(
                [
                    ("ngày thường", WORKDAYS),
                    ("các ngày trong tuần", WORKDAYS),
                    ("cuối tuần", ["SA", "SU"]),
                ]
            )
        )
        return [text], set(days)
    if kind == "range":
        first, last = sorted(draw(st.lists(st.integers(0, 6), min_size=2, max_size=2, unique=True)))
        a, b = (
            draw(st.sampled_from(DAY_WORDS[WEEK[first]])),
            draw(st.sampled_from(DAY_WORDS[WEEK[last]])),
        )
        shape = draw(
            st.sampled_from(
                ["{a} đến {b}", "từ {a} đến {b}", "{a} - {b}", "{a}-{b}", "{a} tới {b}"]
            )
        )
        return [shape.format(a=a, b=b)], set(WEEK[first : last + 1])
    if kind == "numbers":
        days = sorted(draw(st.sets(st.sampled_from(WEEK[:6]), min_size=2)), key=WEEK.index)
        sep = draw(st.sampled_from([", ", ",", " và "]))
        return ["thứ " + sep.join(DAY_NUMBERS[d] for d in days)], set(days)
    days = draw(st.lists(st.sampled_from(WEEK), min_size=1, max_size=7, unique=True))
    names = [draw(st.sampled_from(DAY_WORDS[d])) for d in days]
    seps = [draw(st.sampled_from([", ", " và ", ","])) for _ in names[1:]]
    text = names[0] + "".join(s + n for s, n in zip(seps, names[1:], strict=True))
    return [draw(st.sampled_from(["", "mỗi ", "các ngày ", "vào "])) + text], set(days)


@st.composite
def phrases(draw: st.DrawFn) -> tuple[list[str], set[time], set[str] | None]:
    """A phrase as a list of parts, with the times and days it names."""
    written = draw(st.lists(written_time(), min_size=1, max_size=4, unique_by=lambda w: w[1]))
    seps = [draw(st.sampled_from([" và ", ", ", " , "])) for _ in written[1:]]
    times_text = written[0][0] + "".join(s + w[0] for s, w in zip(seps, written[1:], strict=True))
    day_parts, days = draw(written_days())
    if days and draw(st.booleans()):
        day_parts = [*day_parts, draw(st.sampled_from(["hằng tuần", "hàng tuần"]))]
    time_parts = [draw(st.sampled_from(["", "lúc ", "vào lúc ", "vào "])) + times_text]
    parts = day_parts + time_parts if draw(st.booleans()) else time_parts + day_parts
    if draw(st.booleans()):
        parts = ["phát", *parts]
    return [p for p in parts if p], {t for _, t in written}, days


PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


@PROPERTY
@given(phrases())
def test_times_and_days_are_exactly_those_written(
    phrase: tuple[list[str], set[time], set[str] | None],
) -> None:
    parts, times, days = phrase
    plan = read(" ".join(parts), until=date(2026, 12, 20))
    assert set(plan.times) == times
    assert set(plan.weekdays) == (days or set())
    # And the broadcast airs at exactly those times on exactly those days.
    aired = airings(plan, zone=ZONE)
    if days == set() and len(times) == 1:  # no day named, one time: a single airing
        assert plan.rrule is None and aired == [datetime.combine(MONDAY, min(times), ZONE)]
        return
    every = days or set(WEEK)  # no day named, several times: every day
    two_weeks = [MONDAY + timedelta(days=k) for k in range(14)]
    expected = [(d, t) for d in two_weeks for t in times if WEEK[d.weekday()] in every]
    assert sorted((a.date(), a.time()) for a in aired) == sorted(expected)


@PROPERTY
@given(phrases(), st.data())
def test_a_word_not_understood_is_refused_never_dropped(
    phrase: tuple[list[str], set[time], set[str] | None], data: st.DataObject
) -> None:
    parts, _times, _days = phrase
    junk = data.draw(
        st.sampled_from(JUNK)
        | st.text("bcdfghjklmnpqrstvwxz", min_size=3, max_size=8).map(lambda w: w + "z")
    )
    where = data.draw(st.integers(0, len(parts)))
    text = " ".join([*parts[:where], junk, *parts[where:]])
    with pytest.raises(InvalidInputError) as refused:
        read(text, until=date(2026, 12, 20))
    assert "Words not understood" in str(refused.value)
    assert junk in str(refused.value)


@pytest.mark.parametrize("day", [MONDAY + timedelta(days=k) for k in range(7)])
def test_the_first_airing_matches_the_rule(day: date) -> None:
    plan = read("thứ 3 và thứ 6 lúc 6:00 và 17:30", first_day=day)
    assert airings(plan, zone=ZONE)[0] == plan.starts_at
    assert plan.starts_at.date() >= day
