"""A station's week in the console: a bar per day on a wide screen, a list on a phone."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.bulletins.models import AudioState, Translation
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import User
from broadcast.schedule.blackouts import create_blackout
from broadcast.schedule.models import Occurrence, OccurrenceState
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Area, Station
from tests.audio import principal_of
from tests.broadcasts.test_broadcast_listing import approved_bulletin
from tests.console.conftest import LiveServer, Login, phone, readable, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MONDAY = date(2031, 3, 3)
Y_TY = "02680"


def _week_with_a_clash(engine: Engine, settings: Settings) -> tuple[int, list[int]]:
    """Y Tý's station and two broadcasts of a one-minute bulletin on Monday 06:00 and
    06:00:30: they overlap."""
    bulletin = approved_bulletin(engine, "Phòng chống cháy rừng")
    ids = []
    with transaction(engine) as ses:
        ses.add(
            Translation(
                bulletin_id=bulletin,
                language="vi",
                text="Bà con chú ý phòng chống cháy rừng.",
                content_hash="0" * 64,
                audio_state=AudioState.ready,
                audio_duration_ms=60_000,
            )
        )
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        for second in (0, 30):
            starts_at = datetime.combine(MONDAY, time(6, 0, second), tzinfo=settings.zone)
            made = create_broadcast(
                session=ses,
                settings=settings,
                actor=admin,
                scope=Scope.everything(),
                bulletin_ids=[bulletin],
                area_codes=["082"],
                starts_at=starts_at,
                now=datetime(2031, 1, 1, tzinfo=settings.zone),
            )
            ids.append(made.id or 0)
        station = ses.exec(select(Station).join(Area).where(Area.code == Y_TY)).first()
        assert station is not None
        return station.id or 0, ids


def test_the_week_page_marks_the_clash_and_links_each_airing(
    login: Login, engine: Engine, settings: Settings
) -> None:
    station_id, (first, second) = _week_with_a_clash(engine, settings)
    client: TestClient = login("bientap.batxat")
    station_page = client.get(f"/stations/{station_id}")
    assert f'href="/stations/{station_id}/week"' in station_page.text
    html = client.get(f"/stations/{station_id}/week?week=2031-03-05").text
    assert "Tuần phát:" in html and "Thứ Hai 03/03" in html and "2 lượt trùng giờ" in html
    assert html.count('data-kind="airing"') == 2
    for ref in (f"{first}.1", f"{second}.1"):
        assert re.search(rf'data-ref="{re.escape(ref)}" data-conflict="1"', html)
    assert "06:00–06:01" in html and "(ước tính)" in html
    assert f'href="/broadcasts/{second}#luot-1"' in html


def _hours(engine: Engine, station_id: int, *, filler_on: bool) -> None:
    """The station announces 05:30-07:00 and has a filler track; filler on or off."""
    with transaction(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None
        station.filler = {
            "enabled": filler_on,
            "windows": [{"start": "05:30", "end": "07:00"}],
            "tracks": [
                {"sha256": "a" * 64, "bytes": 4000, "duration_ms": 2000, "title": "Nhạc hiệu"}
            ],
        }
        ses.add(station)


def _hours_with_one_airing(engine: Engine, settings: Settings, *, filler_on: bool) -> int:
    """Y Tý's station announces 05:30-07:00, airs a one-minute bulletin at 06:00 on
    Monday, and its commune is blacked out daily 06:30-06:45; filler on or off."""
    station_id, ids = _week_with_a_clash(engine, settings)
    _hours(engine, station_id, filler_on=filler_on)
    with transaction(engine) as ses:
        # Only the 06:00 airing: the other one is cancelled.
        for occurrence in ses.exec(select(Occurrence).where(Occurrence.broadcast_id == ids[1])):
            occurrence.state = OccurrenceState.cancelled
            ses.add(occurrence)
        create_blackout(
            session=ses,
            principal=principal_of(ses, "admin"),
            area_code=Y_TY,
            reason="Giờ chào cờ",
            zone_name=settings.timezone,
            daily_start=time(6, 30),
            daily_end=time(6, 45),
        )
    return station_id


def _monday(html: str) -> str:
    return html.split('data-day="2031-03-03"', 1)[1].split("</section>", 1)[0]


def _listed(day: str, kind: str) -> list[str]:
    return re.findall(rf'data-kind="{kind}">([^<]+)</li>', day)


def test_with_filler_on_the_rest_of_the_hours_is_filler_but_not_the_blackout(
    login: Login, engine: Engine, settings: Settings
) -> None:
    station_id = _hours_with_one_airing(engine, settings, filler_on=True)
    client = login("bientap.batxat")
    html = client.get(f"/stations/{station_id}/week?week=2031-03-03").text
    legend = html.split('id="timeline-legend"', 1)[1].split("</ul>", 1)[0]
    assert "Phát nền" in legend and "Khoảng trống" in legend
    monday = _monday(html)
    # Filler fills the window around the airing, except the blackout's quarter hour,
    # which stays silent (a gap).
    assert _listed(monday, "filler") == [
        "05:30–06:00 Phát nền",
        "06:01–06:30 Phát nền",
        "06:45–07:00 Phát nền",
    ]
    assert _listed(monday, "gap") == ["06:30–06:45 Khoảng trống: chưa có gì để phát"]
    assert monday.count('class="band filler"') == 3 and monday.count('class="band gap"') == 1
    # Tuesday: nothing airs, the whole window is filler.
    tuesday = html.split('data-day="2031-03-04"', 1)[1].split("</section>", 1)[0]
    assert _listed(tuesday, "filler") == ["05:30–06:30 Phát nền", "06:45–07:00 Phát nền"]


def test_with_filler_off_the_same_time_shows_as_gaps(
    login: Login, engine: Engine, settings: Settings
) -> None:
    station_id = _hours_with_one_airing(engine, settings, filler_on=False)
    client = login("bientap.batxat")
    monday = _monday(client.get(f"/stations/{station_id}/week?week=2031-03-03").text)
    assert _listed(monday, "filler") == [] and 'class="band filler"' not in monday
    assert _listed(monday, "gap") == [
        "05:30–06:00 Khoảng trống: chưa có gì để phát",
        "06:01–07:00 Khoảng trống: chưa có gì để phát",
    ]


@pytest.mark.browser
def test_on_a_phone_the_week_is_a_list_per_day(live_server: LiveServer, chromium: Browser) -> None:
    station_id, _ids = _week_with_a_clash(live_server.engine, live_server.settings)
    _hours(live_server.engine, station_id, filler_on=True)
    page = phone(chromium, live_server.base_url, 390)
    sign_in(page, "bientap.batxat")
    page.goto(f"/stations/{station_id}/week?week=2031-03-03")
    readable(page)
    assert not page.locator(".timeline-bar").first.is_visible()
    monday = page.locator('section[data-day="2031-03-03"] .timeline-list')
    assert monday.is_visible()
    text = monday.inner_text()
    assert "06:00–06:01" in text and "Trùng giờ" in text
    assert "05:30–06:00 Phát nền" in text and "06:01–07:00 Phát nền" in text
    shoot(page, "station-week-phone")
