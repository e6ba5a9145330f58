"""Blackout periods: airings inside one are refused or moved; emergencies ignore them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.console.messages import say
from broadcast.bulletins.models import AudioState, Translation
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.people.service import Principal, user_area
from broadcast.schedule import blackouts
from broadcast.schedule.blackouts import BlackoutChoice, daily_window_hit
from broadcast.schedule.service import (
    Scheduled,
    create_broadcast,
    move_one_airing,
    occurrences_of,
    scheduled_broadcast,
)
from stations.areas import Scope
from stations.errors import ConflictError
from stations.protocol import Priority
from stations.timeutil import as_utc
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.utils import UserFactory

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = datetime(2031, 3, 1, tzinfo=ZONE).date()
NOW = datetime(2031, 2, 1, tzinfo=UTC)


def local(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """A time on the wall clock of Vietnam, `day_offset` days after DAY."""
    return datetime.combine(DAY + timedelta(days=day_offset), time(hour, minute), tzinfo=ZONE)


def principal_of(session: Session, username: str) -> Principal:
    user = session.exec(select(User).where(User.username == username)).one()
    return Principal(user=user, area=user_area(session=session, user=user))


def add_daily(
    engine: Engine, area_code: str, start: time, end: time, reason: str = "Giờ nghỉ đêm"
) -> int:
    with transaction(engine) as ses:
        row = blackouts.create_blackout(
            session=ses,
            principal=principal_of(ses, "admin"),
            area_code=area_code,
            reason=reason,
            zone_name="Asia/Ho_Chi_Minh",
            daily_start=start,
            daily_end=end,
        )
        return row.id or 0


def add_dated(engine: Engine, area_code: str, start: datetime, end: datetime, reason: str) -> int:
    with transaction(engine) as ses:
        row = blackouts.create_blackout(
            session=ses,
            principal=principal_of(ses, "admin"),
            area_code=area_code,
            reason=reason,
            zone_name="Asia/Ho_Chi_Minh",
            starts_at=start,
            ends_at=end,
        )
        return row.id or 0


def schedule(
    engine: Engine,
    settings: Settings,
    bulletin: int,
    starts_at: datetime,
    rule: str | None = None,
    *,
    area: str = "02680",
    priority: Priority = Priority.normal,
    choice: BlackoutChoice = BlackoutChoice.refuse,
    now: datetime = NOW,
) -> Scheduled:
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        return scheduled_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin],
            area_codes=[area],
            starts_at=starts_at,
            rule=rule,
            priority=priority,
            now=now,
            blackout=choice,
        )


@pytest.fixture
def bulletin(engine: Engine, demo: dict[str, str]) -> int:
    return approved_bulletin(engine, "10", "Lịch tiêm phòng")


def test_a_nightly_window_across_midnight_refuses_with_the_airing_and_the_reason(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    add_daily(engine, "082", time(22), time(5))  # the district of Y Tý
    with pytest.raises(ConflictError) as refused:
        schedule(engine, settings, bulletin, local(0, 23, 30), "FREQ=DAILY;COUNT=3")
    error = refused.value
    assert error.code == "schedule.blackout"
    assert error.fields["count"] == 3
    assert error.fields["air_at"] == as_utc(local(0, 23, 30))
    assert error.fields["begins"] == as_utc(local(0, 22))
    assert error.fields["ends"] == as_utc(local(1, 5))
    shown = say(error, zone=ZONE)
    assert shown.startswith("3 lượt phát rơi vào giờ cấm phát, lượt đầu tiên lúc 23:30 01/03/2031")
    assert "từ 22:00 01/03/2031 đến 05:00 02/03/2031: Giờ nghỉ đêm" in shown
    # After midnight too, and the window's end itself is free.
    with pytest.raises(ConflictError):
        schedule(engine, settings, bulletin, local(0, 4, 59))
    schedule(engine, settings, bulletin, local(0, 5))
    schedule(engine, settings, bulletin, local(0, 21, 59))
    with Session(engine) as ses:
        assert len(ses.exec(select(blackouts.Blackout)).all()) == 1


def test_a_dated_range_refuses_only_the_airings_inside_it(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    add_dated(engine, "02680", local(1, 7), local(1, 11), "Thi tốt nghiệp")
    rule = "FREQ=DAILY;BYHOUR=6,9;BYMINUTE=0;COUNT=6"
    with pytest.raises(ConflictError) as refused:
        schedule(engine, settings, bulletin, local(0, 6), rule)
    assert refused.value.fields["count"] == 1
    assert refused.value.fields["air_at"] == as_utc(local(1, 9))
    assert "Thi tốt nghiệp" in say(refused.value, zone=ZONE)
    schedule(engine, settings, bulletin, local(1, 6))  # before the range
    schedule(engine, settings, bulletin, local(1, 11))  # at its end


def test_an_airing_that_would_run_into_a_blackout_is_refused_once_its_length_is_known(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    add_daily(engine, "02680", time(22), time(5))
    schedule(engine, settings, bulletin, local(0, 21, 50))  # no audio yet: the instant alone
    with transaction(engine) as ses:
        ses.add(
            Translation(
                bulletin_id=bulletin,
                language="vi",
                content_hash="x" * 64,
                audio_state=AudioState.ready,
                audio_duration_ms=15 * 60_000,
            )
        )
    with pytest.raises(ConflictError):
        schedule(engine, settings, bulletin, local(0, 21, 50))  # 21:50 + 15 min
    schedule(engine, settings, bulletin, local(0, 21, 45))  # ends at 22:00 itself


def test_an_ancestor_areas_blackout_applies_and_another_districts_does_not(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    add_daily(engine, "083", time(6), time(8), "Họp huyện Mường Khương")
    schedule(engine, settings, bulletin, local(0, 7))  # Y Tý lies in Bát Xát
    add_daily(engine, "10", time(6, 30), time(7, 30), "Lễ hội của tỉnh")
    with pytest.raises(ConflictError) as refused:
        schedule(engine, settings, bulletin, local(0, 7))
    assert refused.value.fields["reason"] == "Lễ hội của tỉnh"
    # A village under Y Tý is covered by the province's blackout as well.
    with pytest.raises(ConflictError):
        schedule(engine, settings, bulletin, local(0, 7), area="02680-01")


def test_an_emergency_goes_through_a_blackout(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    now = as_utc(local(0, 23))
    add_daily(engine, "10", time(22), time(5))
    with pytest.raises(ConflictError):
        schedule(engine, settings, bulletin, now, priority=Priority.priority, now=now)
    result = schedule(engine, settings, bulletin, now, priority=Priority.emergency, now=now)
    assert result.moved == []
    with Session(engine) as ses:
        (occ,) = occurrences_of(session=ses, broadcast_id=result.broadcast.id or 0)
    assert as_utc(occ.air_at) == now


def test_move_puts_the_airings_at_the_blackouts_end_and_says_which(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    add_daily(engine, "082", time(22), time(5))
    result = schedule(
        engine,
        settings,
        bulletin,
        local(0, 21),
        "FREQ=DAILY;BYHOUR=21,23;BYMINUTE=0;COUNT=4",
        choice=BlackoutChoice.move,
    )
    assert [(m.before, m.after, m.reason) for m in result.moved] == [
        (as_utc(local(0, 23)), as_utc(local(1, 5)), "Giờ nghỉ đêm"),
        (as_utc(local(1, 23)), as_utc(local(2, 5)), "Giờ nghỉ đêm"),
    ]
    with Session(engine) as ses:
        stored = occurrences_of(session=ses, broadcast_id=result.broadcast.id or 0)
    assert [(o.seq, as_utc(o.air_at)) for o in stored] == [
        (1, as_utc(local(0, 21))),
        (2, as_utc(local(1, 5))),
        (3, as_utc(local(1, 21))),
        (4, as_utc(local(2, 5))),
    ]
    assert all(as_utc(o.dispatch_at) < as_utc(o.air_at) < as_utc(o.expires_at) for o in stored)


def test_moving_one_airing_into_a_blackout_is_refused(
    engine: Engine, settings: Settings, bulletin: int
) -> None:
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin],
            area_codes=["02680"],
            starts_at=local(0, 6),
            rule="FREQ=DAILY;COUNT=3",
            now=NOW,
        )
    add_dated(engine, "02680", local(1, 12), local(1, 18), "Đám tang ở thôn Lao Chải")
    with Session(engine, expire_on_commit=False) as ses:
        editor = principal_of(ses, "bientap.batxat")
        with pytest.raises(ConflictError) as refused:
            move_one_airing(
                session=ses,
                principal=editor,
                broadcast_id=broadcast.id or 0,
                seq=2,
                air_at=local(1, 14),
                now=NOW,
            )
        ses.rollback()
        assert refused.value.code == "airing.in_blackout"
        assert say(refused.value, zone=ZONE) == (
            "Giờ mới 14:00 02/03/2031 rơi vào giờ cấm phát (12:00 02/03/2031 đến "
            "18:00 02/03/2031): Đám tang ở thôn Lao Chải"
        )
        occ = move_one_airing(
            session=ses,
            principal=editor,
            broadcast_id=broadcast.id or 0,
            seq=2,
            air_at=local(1, 18),
            now=NOW,
        )
        assert as_utc(occ.air_at) == as_utc(local(1, 18))


# --- REST ------------------------------------------------------------------------------


def test_rest_blackouts_are_scoped_and_refuse_or_move_a_broadcast(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    bulletin = approved_bulletin(engine, "082", "Phòng chống cháy rừng")
    editor = make_user(Role.editor, "082")
    other = make_user(Role.editor, "083")
    operator = make_user(Role.operator, "02680")
    nightly = {"reason": "Giờ nghỉ đêm", "daily_start": "22:00", "daily_end": "05:00"}
    url = "/api/v1/areas/082/blackouts"
    assert client.post(url, json=nightly, headers=operator).status_code == 403
    assert client.post(url, json=nightly, headers=other).status_code == 404
    created = client.post("/api/v1/areas/082/blackouts", json=nightly, headers=editor)
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["kind"] == "daily" and shown["area_code"] == "082"
    assert shown["daily_start"] == "22:00:00" and shown["timezone"] == "Asia/Ho_Chi_Minh"
    listed = client.get("/api/v1/areas/082/blackouts", headers=editor).json()
    assert [b["id"] for b in listed] == [shown["id"]]
    assert client.get("/api/v1/areas/082/blackouts", headers=other).status_code == 404
    assert client.delete(f"/api/v1/blackouts/{shown['id']}", headers=other).status_code == 404
    dated = {
        "reason": "Thi tốt nghiệp",
        "starts_at": "2031-03-02T07:00:00+07:00",
        "ends_at": "2031-03-02T06:00:00+07:00",
    }
    reversed_range = client.post("/api/v1/areas/02680/blackouts", json=dated, headers=editor)
    assert reversed_range.status_code == 422
    assert reversed_range.json()["reason"] == "blackout.bad_range"

    body = {
        "bulletin_ids": [bulletin],
        "area_codes": ["02680"],
        "starts_at": "2031-03-01T23:00:00+07:00",
        "rrule": "FREQ=DAILY;COUNT=2",
    }
    refused = client.post("/api/v1/broadcasts", json=body, headers=editor)
    assert refused.status_code == 409, refused.text
    assert refused.json()["reason"] == "schedule.blackout"
    assert "Giờ nghỉ đêm" in refused.json()["detail"]
    moved = client.post("/api/v1/broadcasts", json=body | {"blackout": "move"}, headers=editor)
    assert moved.status_code == 201, moved.text
    answer = moved.json()
    assert [m["after"] for m in answer["moved"]] == [
        "2031-03-01T22:00:00Z",
        "2031-03-02T22:00:00Z",
    ]
    assert [o["air_at"] for o in answer["occurrences"]] == [m["after"] for m in answer["moved"]]

    assert client.delete(f"/api/v1/blackouts/{shown['id']}", headers=editor).status_code == 204
    assert client.get("/api/v1/areas/082/blackouts", headers=editor).json() == []
    assert client.delete(f"/api/v1/blackouts/{shown['id']}", headers=editor).status_code == 404


# --- the overlap of a daily window -----------------------------------------------------

ORIGIN = datetime(2031, 1, 1, tzinfo=UTC)


def _in_window(moment: datetime, start: int, end: int) -> bool:
    minute = moment.astimezone(ZONE).hour * 60 + moment.astimezone(ZONE).minute
    return start <= minute < end if start < end else minute >= start or minute < end


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=60 * 24 * 30),
    length=st.integers(min_value=0, max_value=60 * 30),
    start=st.integers(min_value=0, max_value=24 * 60 - 1),
    end=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_a_daily_window_meets_an_airing_exactly_when_a_minute_of_it_lies_inside(
    offset: int, length: int, start: int, end: int
) -> None:
    """Minutes are the grain of every time here: checking each minute is exact."""
    if start == end:
        return
    air_at = ORIGIN + timedelta(minutes=offset)
    hit = daily_window_hit(
        air_at,
        air_at + timedelta(minutes=length),
        daily_start=time(start // 60, start % 60),
        daily_end=time(end // 60, end % 60),
        zone=ZONE,
    )
    minutes = [air_at + timedelta(minutes=m) for m in range(max(length, 1))]
    expected = any(_in_window(m, start, end) for m in minutes)
    assert (hit is not None) == expected
    if hit is not None:
        begins, ends = hit
        span = (end - start) % (24 * 60)
        assert ends - begins == timedelta(minutes=span)
        assert _in_window(begins, start, end)
        # The window found is the first one the airing meets.
        first_inside = next(m for m in minutes if _in_window(m, start, end))
        assert begins <= first_inside < ends
