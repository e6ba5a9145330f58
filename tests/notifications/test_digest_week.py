"""Which week the latest weekly digest tells, for any moment, weekday and hour."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from broadcast.notifications.digests import digest_week

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@given(
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2040, 1, 1)),
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
)
def test_the_digest_tells_the_seven_days_before_the_latest_digest_moment(
    now: datetime, weekday: int, hour: int
) -> None:
    now = now.replace(tzinfo=UTC)
    start = digest_week(now=now, zone=ZONE, weekday=weekday, hour=hour)
    day = start + timedelta(days=7)  # the day the digest is written
    moment = datetime.combine(day, time(hour), ZONE)
    assert day.weekday() == weekday
    assert moment <= now < moment + timedelta(days=7)


def test_monday_seven_o_clock_in_ha_noi() -> None:
    monday = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)  # 07:00 local
    assert str(digest_week(now=monday, zone=ZONE, weekday=0, hour=7)) == "2031-02-24"
    before = monday - timedelta(seconds=1)
    assert str(digest_week(now=before, zone=ZONE, weekday=0, hour=7)) == "2031-02-17"
