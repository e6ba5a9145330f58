"""A station's week at a glance: airings with their lengths, blackouts, conflicts, gaps.

Broadcasts are scheduled through the service, as the REST route does; the week is read
through REST and the console like a culture centre would.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.reports.timeline import station_week
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Area, Station
from tests.broadcasts.conftest import Wire
from tests.broadcasts.test_broadcast_listing import counted
from tests.broadcasts.test_broadcasts import _send
from tests.utils import UserFactory

MONDAY = date(2031, 3, 3)
Y_TY = "02680"


def _at(settings: Settings, day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=settings.zone)


def _schedule(
    engine: Engine,
    settings: Settings,
    bulletin: int,
    starts_at: datetime,
    rule: str | None = None,
    areas: tuple[str, ...] = (Y_TY,),
) -> int:
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        made = create_broadcast(
            session=ses,
            settings=settings,
            actor=admin,
            scope=Scope.everything(),
            bulletin_ids=[bulletin],
            area_codes=list(areas),
            starts_at=starts_at,
            rule=rule,
            now=starts_at - timedelta(days=30),
        )
        return made.id or 0


def _hours(engine: Engine, *, filler_on: bool) -> None:
    """Y Tý's station announces 05:30-07:00; one filler track; filler on or off."""
    with transaction(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == Y_TY)).one()
        station.filler = {
            "enabled": filler_on,
            "windows": [{"start": "05:30", "end": "07:00"}],
            "tracks": [
                {"sha256": "b" * 64, "bytes": 4000, "duration_ms": 2000, "title": "Nhạc hiệu"}
            ],
        }
        ses.add(station)


def _local(settings: Settings, spans: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [
        tuple(  # type: ignore[misc]
            datetime.fromisoformat(s[k]).astimezone(settings.zone).strftime("%H:%M")
            for k in ("start", "end")
        )
        for s in spans
    ]


def _station(engine: Engine) -> Station:
    with Session(engine) as ses:
        return ses.exec(select(Station).join(Area).where(Area.code == Y_TY)).first()  # type: ignore[return-value]


def test_the_week_places_airings_blackouts_and_marks_conflicts(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
) -> None:
    editor = make_user(Role.editor, "10")
    nightly = {"reason": "Giờ nghỉ đêm", "daily_start": "22:00", "daily_end": "05:00"}
    assert (
        client.post("/api/v1/areas/10/blackouts", json=nightly, headers=editor).status_code == 201
    )
    # Daily at 06:00 for three days; a district broadcast at 06:00:30 on Monday overlaps it.
    daily = _schedule(engine, settings, bulletin, _at(settings, MONDAY, 6), "FREQ=DAILY;COUNT=3")
    clash = _schedule(engine, settings, bulletin, _at(settings, MONDAY, 6, 0, 30), areas=("082",))
    evening = _schedule(engine, settings, bulletin, _at(settings, MONDAY + timedelta(days=1), 17))
    station = _station(engine)

    answer = client.get(
        f"/api/v1/stations/{station.id}/week", params={"week": "2031-03-05"}, headers=editor
    )
    assert answer.status_code == 200, answer.text
    week = answer.json()
    assert week["week_start"] == "2031-03-03" and week["timezone"] == "Asia/Ho_Chi_Minh"
    assert [d["date"] for d in week["days"]] == [
        (MONDAY + timedelta(days=i)).isoformat() for i in range(7)
    ]
    monday, tuesday, wednesday, thursday = week["days"][:4]
    # The one-minute bulletin airs 06:00-06:01; the district's at 06:00:30 overlaps it.
    shown = [(a["ref"], a["start"], a["end"], a["conflict"]) for a in monday["airings"]]
    assert shown == [
        (f"{daily}.1", "2031-03-02T23:00:00Z", "2031-03-02T23:01:00Z", True),
        (f"{clash}.1", "2031-03-02T23:00:30Z", "2031-03-02T23:01:30Z", True),
    ]
    assert monday["conflicts"] == 2 and all(a["estimated"] for a in monday["airings"])
    assert [(a["ref"], a["conflict"]) for a in tuesday["airings"]] == [
        (f"{daily}.2", False),
        (f"{evening}.1", False),
    ]
    assert [a["ref"] for a in wednesday["airings"]] == [f"{daily}.3"]
    assert thursday["airings"] == [] and thursday["conflicts"] == 0
    # The nightly blackout: 00:00-05:00 and 22:00-24:00 of each local day.
    assert [(b["start"], b["end"], b["reason"]) for b in thursday["blackouts"]] == [
        ("2031-03-05T17:00:00Z", "2031-03-05T22:00:00Z", "Giờ nghỉ đêm"),
        ("2031-03-06T15:00:00Z", "2031-03-06T17:00:00Z", "Giờ nghỉ đêm"),
    ]

    # Outside the caller's area the station does not exist.
    other = make_user(Role.editor, "083")
    assert client.get(f"/api/v1/stations/{station.id}/week", headers=other).status_code == 404


def test_a_dispatched_airing_has_its_programmes_length_and_gaps_follow_the_windows(
    engine: Engine, settings: Settings, bulletin: int, wire: Wire
) -> None:
    day = MONDAY
    _schedule(engine, settings, bulletin, _at(settings, day, 6))
    _send(engine, settings, wire, _at(settings, day, 5, 45))
    station = _station(engine)
    with Session(engine) as ses:
        area = ses.get(Area, station.area_id)
        assert area is not None
        week = station_week(
            session=ses,
            scope=Scope.everything(),
            station=station,
            area=area,
            monday=MONDAY,
            zone=settings.zone,
            windows=[(time(5, 30), time(6, 30)), (time(23, 0), time(1, 0))],
        )
    first, second = week.days[:2]
    (block,) = first.blocks
    assert not block.estimated and block.end - block.start == timedelta(minutes=1)
    local = [
        (g.start.astimezone(settings.zone).time(), g.end.astimezone(settings.zone).time())
        for g in first.gaps
    ]
    # Sunday night's window runs to 01:00; 05:30-06:00 and 06:01-06:30 around the
    # airing; 23:00 to midnight, the rest of that window being Tuesday's.
    assert local == [
        (time(0), time(1)),
        (time(5, 30), time(6)),
        (time(6, 1), time(6, 30)),
        (time(23), time(0)),
    ]
    assert [g.end - g.start for g in second.gaps] == [
        timedelta(hours=1),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_the_week_shows_the_stations_hours_as_gaps_or_filler_less_blackouts(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
) -> None:
    editor = make_user(Role.editor, "10")
    assert (
        client.post(
            f"/api/v1/areas/{Y_TY}/blackouts",
            json={"reason": "Giờ chào cờ", "daily_start": "06:30", "daily_end": "06:45"},
            headers=editor,
        ).status_code
        == 201
    )
    _schedule(engine, settings, bulletin, _at(settings, MONDAY, 6))
    station = _station(engine)
    url = f"/api/v1/stations/{station.id}/week?week=2031-03-03"

    # Without broadcast hours: no gap, no filler.
    monday = client.get(url, headers=editor).json()["days"][0]
    assert monday["gaps"] == [] and monday["filler"] == []

    # Hours announced, filler off: the window less the airing is a gap; nothing filled.
    _hours(engine, filler_on=False)
    monday = client.get(url, headers=editor).json()["days"][0]
    assert _local(settings, monday["gaps"]) == [("05:30", "06:00"), ("06:01", "07:00")]
    assert monday["filler"] == []

    # Filler on: the gaps less the blackout are filled; the gaps themselves stay.
    _hours(engine, filler_on=True)
    week = client.get(url, headers=editor).json()
    monday, tuesday = week["days"][:2]
    assert _local(settings, monday["gaps"]) == [("05:30", "06:00"), ("06:01", "07:00")]
    assert _local(settings, monday["filler"]) == [
        ("05:30", "06:00"),
        ("06:01", "06:30"),
        ("06:45", "07:00"),
    ]
    assert _local(settings, tuesday["filler"]) == [("05:30", "06:30"), ("06:45", "07:00")]

    # A caller's own windows still draw the gaps; filler keeps to the station's hours.
    with Session(engine) as ses:
        area = ses.get(Area, station.area_id)
        assert area is not None
        mine = station_week(
            session=ses,
            scope=Scope.everything(),
            station=ses.get(Station, station.id) or station,
            area=area,
            monday=MONDAY,
            zone=settings.zone,
            windows=[(time(17), time(18))],
        )
    first = mine.days[0]
    assert [(g.end - g.start) for g in first.gaps] == [timedelta(hours=1)]
    assert [(f.end - f.start) for f in first.filler] == [
        timedelta(minutes=30),
        timedelta(minutes=29),
        timedelta(minutes=15),
    ]


def test_the_week_runs_the_same_statements_for_few_and_many_airings(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
) -> None:
    editor = make_user(Role.editor, "10")
    _hours(engine, filler_on=True)  # gaps and filler drawn too
    station = _station(engine)
    url = f"/api/v1/stations/{station.id}/week?week=2031-03-03"
    client.get(url, headers=editor)  # the app's first request
    statements = {}
    made = 0
    for total in (2, 20):
        for n in range(made, total):
            _schedule(engine, settings, bulletin, _at(settings, MONDAY, 6, n), "FREQ=DAILY;COUNT=7")
        made = total
        with counted(engine) as seen:
            answer = client.get(url, headers=editor)
        assert answer.status_code == 200
        assert sum(len(d["airings"]) for d in answer.json()["days"]) == 7 * total
        assert all(d["filler"] for d in answer.json()["days"])
        statements[total] = len(seen)
    assert statements[2] == statements[20], statements
