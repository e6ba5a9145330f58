"""The station page's "Âm lượng theo giờ" section and the volume each receiver reports."""

from __future__ import annotations

import html
import re

from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from stations.models import Area, Receiver, Station
from stations.timeutil import utcnow
from tests.console.conftest import Login, csrf_of, english_on


def _station_of(engine: Engine, area_code: str) -> int:
    with Session(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        return ses.exec(select(Station.id).where(Station.area_id == area.id)).first() or 0


def _visible(page: str, section: str) -> str:
    part = page.split(f'id="{section}"', 1)[1].split("</section>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", part))


def test_an_admin_sets_the_volume_by_hour_and_sees_receivers_that_differ(
    login: Login, engine: Engine
) -> None:
    station_id = _station_of(engine, "02680")
    with transaction(engine) as ses:
        receiver = ses.exec(select(Receiver).where(Receiver.station_id == station_id)).first()
        assert receiver is not None
        receiver.reported_volume, receiver.reported_volume_at = 35, utcnow()
        rid = receiver.id
        ses.add(receiver)

    admin = login("admin")
    page = admin.get(f"/stations/{station_id}")
    text = _visible(page.text, "volume")
    assert "Âm lượng theo giờ" in text and "chưa đặt lịch âm lượng" in text
    assert not english_on(text), english_on(text)
    token = csrf_of(page.text)

    overlapping = admin.post(
        f"/stations/{station_id}/volume",
        data={
            "volume_windows": "21:00-06:00 60\n05:00-07:00 80",
            "default_volume": "100",
            "emergency_volume": "100",
            "csrf_token": token,
        },
    )
    assert overlapping.status_code == 422
    assert "Khung giờ 2 trùng với khung giờ 1 (lúc 05:00)" in _visible(overlapping.text, "volume")

    # The whole day at one level: whatever the hour of the test, the station is at 50 %.
    saved = admin.post(
        f"/stations/{station_id}/volume",
        data={
            "volume_windows": "00:00-24:00 50",
            "default_volume": "100",
            "emergency_volume": "90",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 200, saved.text
    assert "Đã lưu lịch âm lượng của đài" in saved.text
    now = _visible(saved.text, "volume")
    assert "phát ở mức 50 %" in now and "tin khẩn cấp: 90 %" in now
    with Session(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None and station.volume_schedule is not None
        assert station.volume_schedule["windows"] == [
            {"start": "00:00", "end": "24:00", "volume": 50}
        ]
    row = saved.text.split(rid, 1)[1].split("</tr>", 1)[0]
    assert "35 %" in row and "Khác lịch: lịch đặt 50 %" in html.unescape(row)

    removed = admin.post(
        f"/stations/{station_id}/volume", data={"action": "remove", "csrf_token": token}
    )
    assert "Đã bỏ lịch âm lượng của đài" in removed.text
    assert "Khác lịch" not in removed.text
