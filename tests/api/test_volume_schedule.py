"""Volume by time of day: the window parser and resolver, and its REST routes.

Windows are local times of day in Asia/Ho_Chi_Minh (UTC+7, no summer time) while every
instant is UTC, so 05:59 local is 22:59 UTC the day before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from api.console.messages import say
from broadcast.delivery.dispatch import with_volumes
from broadcast.people.models import Role
from stations.errors import InvalidInputError
from stations.protocol import MediaItem, Priority, ProgrammeCommand
from stations.volume import MINUTES_PER_DAY, clock, parse_schedule
from tests.utils import UserFactory

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NIGHT = {
    "windows": [
        {"start": "21:00", "end": "24:00", "volume": 60},
        {"start": "00:00", "end": "06:00", "volume": 60},
    ],
    "default_volume": 100,
    "emergency_volume": 90,
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-12-01T22:59:00", 60),  # 05:59 on 2 December, local
        ("2026-12-01T23:00:00", 100),  # 06:00 local: the night window has ended
        ("2026-12-02T13:59:00", 100),  # 20:59 local
        ("2026-12-02T14:00:00", 60),  # 21:00 local
        ("2026-12-02T16:59:00", 60),  # 23:59 local
        ("2026-12-02T17:00:00", 60),  # midnight local, in the next window
    ],
)
def test_the_volume_follows_the_local_clock(instant: str, expected: int) -> None:
    assert parse_schedule(NIGHT).volume_at(utc(instant), ZONE) == expected


def test_the_whole_day_and_a_window_across_midnight() -> None:
    whole = parse_schedule({"windows": [{"start": "00:00", "end": "24:00", "volume": 50}]})
    assert whole.volume_at(utc("2026-12-01T16:59:00"), ZONE) == 50  # 23:59 local
    assert whole.volume_at(utc("2026-12-01T17:00:00"), ZONE) == 50  # 00:00 local
    assert whole.as_dict()["windows"] == [{"start": "00:00", "end": "24:00", "volume": 50}]


def test_a_window_across_midnight_and_the_emergency_volume() -> None:
    schedule = parse_schedule(
        {"windows": [{"start": "21:00", "end": "06:00", "volume": 40}], "emergency_volume": 80}
    )
    assert schedule.volume_at(utc("2026-12-01T20:00:00"), ZONE) == 40  # 03:00 local
    assert schedule.volume_at(utc("2026-12-01T05:00:00"), ZONE) == 100  # 12:00 local
    assert schedule.volume_at(utc("2026-12-01T20:00:00"), ZONE, emergency=True) == 80


def _command(air_at: datetime, priority: Priority, lengths: list[int]) -> ProgrammeCommand:
    items = [
        MediaItem(
            url=f"http://loa.test/media/{n:064x}.mp3",
            sha256=f"{n:064x}",
            bytes=1000,
            duration_ms=length,
            language="vi",
            title=f"Tin {n}",
        )
        for n, length in enumerate(lengths)
    ]
    return ProgrammeCommand(
        broadcast_id="7.1",
        air_at=air_at,
        expires_at=air_at + timedelta(minutes=15),
        priority=priority,
        version="v1",
        items=items,
    )


def test_each_item_gets_the_volume_at_its_own_air_time() -> None:
    # Starts at 20:59 local: the first one-minute item airs at 100 %, the next from 21:00.
    command = _command(utc("2026-12-01T13:59:00"), Priority.normal, [60_000, 60_000])
    got = with_volumes(command, parse_schedule(NIGHT), ZONE)
    assert [item.volume for item in got.items] == [100, 60]
    urgent = with_volumes(
        _command(utc("2026-12-01T13:59:00"), Priority.emergency, [60_000, 60_000]),
        parse_schedule(NIGHT),
        ZONE,
    )
    assert [item.volume for item in urgent.items] == [90, 90]


# --- the parser, against a minute-by-minute reading -------------------------------------

minutes = st.integers(min_value=0, max_value=MINUTES_PER_DAY)
windows = st.lists(st.tuples(minutes, minutes, st.integers(min_value=0, max_value=100)), max_size=5)


def _covered(start: int, end: int) -> set[int]:
    start = start % MINUTES_PER_DAY  # "24:00" as a start is midnight; as an end, 1440
    if start < end:
        return set(range(start, end))
    return set(range(start, MINUTES_PER_DAY)) | set(range(0, end))


@hyp_settings(max_examples=200, deadline=None)
@given(windows, st.integers(min_value=0, max_value=7 * MINUTES_PER_DAY - 1))
def test_parser_accepts_exactly_the_windows_that_do_not_overlap(
    raw: list[tuple[int, int, int]], probe: int
) -> None:
    data = {"windows": [{"start": clock(a), "end": clock(b), "volume": v} for a, b, v in raw]}
    if any(a % MINUTES_PER_DAY == b for a, b, _ in raw):
        with pytest.raises(InvalidInputError) as empty:
            parse_schedule(data)
        assert empty.value.code in ("volume.empty_window", "volume.overlap")
        return
    owner: dict[int, int] = {}
    overlapping = False
    for index, (a, b, _) in enumerate(raw):
        for minute in _covered(a, b):
            overlapping = overlapping or minute in owner
            owner.setdefault(minute, index)
    if overlapping:
        with pytest.raises(InvalidInputError) as refused:
            parse_schedule(data)
        assert refused.value.code == "volume.overlap"
        assert "trùng với khung giờ" in say(refused.value)
        return
    schedule = parse_schedule(data)
    moment = utc("2026-11-30T17:00:00") + timedelta(minutes=probe)  # local midnight + probe
    minute = probe % MINUTES_PER_DAY
    expected = raw[owner[minute]][2] if minute in owner else 100
    assert schedule.volume_at(moment, ZONE) == expected
    # What is stored reads back the same.
    assert parse_schedule(schedule.as_dict()) == schedule


# --- REST --------------------------------------------------------------------------------


def test_station_and_receiver_schedules_over_rest(
    client: TestClient, demo: dict[str, str], make_user: UserFactory
) -> None:
    admin = make_user(Role.admin)
    station = client.get("/api/v1/stations", params={"area_code": "02680"}, headers=admin).json()
    sid = station["items"][0]["id"]
    receivers = client.get(f"/api/v1/stations/{sid}/receivers", headers=admin).json()["items"]
    rid = receivers[0]["id"]

    none = client.get(f"/api/v1/stations/{sid}/volume-schedule", headers=admin).json()
    assert none["source"] is None and none["current_volume"] is None

    overlap = client.put(
        f"/api/v1/stations/{sid}/volume-schedule",
        json={
            "windows": [
                {"start": "21:00", "end": "06:00", "volume": 60},
                {"start": "05:00", "end": "07:00", "volume": 80},
            ]
        },
        headers=admin,
    )
    assert overlap.status_code == 422
    assert overlap.json()["reason"] == "volume.overlap"
    bad = client.put(
        f"/api/v1/stations/{sid}/volume-schedule",
        json={"windows": [{"start": "25:00", "end": "06:00", "volume": 60}]},
        headers=admin,
    )
    assert bad.status_code == 422 and bad.json()["reason"] == "volume.bad_time"
    loud = client.put(
        f"/api/v1/stations/{sid}/volume-schedule",
        json={"windows": [], "default_volume": 120},
        headers=admin,
    )
    assert loud.status_code == 422 and loud.json()["reason"] == "volume.bad_percent"

    put = client.put(f"/api/v1/stations/{sid}/volume-schedule", json=NIGHT, headers=admin)
    assert put.status_code == 200, put.text
    shown = client.get(f"/api/v1/stations/{sid}/volume-schedule", headers=admin).json()
    assert shown["source"] == "station" and shown["emergency_volume"] == 90
    assert [w["start"] for w in shown["windows"]] == ["00:00", "21:00"]
    assert shown["current_volume"] in (60, 100)

    inherited = client.get(f"/api/v1/receivers/{rid}/volume-schedule", headers=admin).json()
    assert inherited["source"] == "station"
    own = client.put(
        f"/api/v1/receivers/{rid}/volume-schedule",
        json={"windows": [], "default_volume": 30},
        headers=admin,
    )
    assert own.status_code == 200, own.text
    assert own.json() | {"windows": []} == {
        "windows": [],
        "default_volume": 30,
        "emergency_volume": 100,
        "source": "receiver",
        "current_volume": 30,
    }
    assert client.get(f"/api/v1/receivers/{rid}", headers=admin).json()["expected_volume"] == 30
    back = client.delete(f"/api/v1/receivers/{rid}/volume-schedule", headers=admin).json()
    assert back["source"] == "station"

    # Another commune's people see neither the station's schedule nor may change it.
    stranger = make_user(Role.admin, "02743")
    assert (
        client.get(f"/api/v1/stations/{sid}/volume-schedule", headers=stranger).status_code == 404
    )
    editor = make_user(Role.editor, "10")
    assert (
        client.put(
            f"/api/v1/stations/{sid}/volume-schedule", json=NIGHT, headers=editor
        ).status_code
        == 403
    )
    assert client.get(f"/api/v1/stations/{sid}/volume-schedule").status_code == 401
