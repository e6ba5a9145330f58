"""The station page's "Giờ cấm phát" section, and the scheduling form refusing or moving."""

from __future__ import annotations

import html
from datetime import timedelta
from urllib.parse import unquote

from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.settings import Settings
from broadcast.schedule.blackouts import Blackout
from stations.models import Area, Station
from stations.timeutil import utcnow
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of


def _station_of(engine: Engine, area_code: str) -> int:
    with Session(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        return ses.exec(select(Station.id).where(Station.area_id == area.id)).first() or 0


def test_an_editor_adds_lists_and_deletes_blackouts_on_the_station_page(
    login: Login, engine: Engine
) -> None:
    station_id = _station_of(engine, "02680")
    operator = login("vanhanh.yty")
    seen = operator.get(f"/stations/{station_id}")
    assert "Giờ cấm phát" in seen.text and "Thêm giờ cấm phát" not in seen.text

    client = login("bientap.batxat")
    page = client.get(f"/stations/{station_id}")
    # The section sits once, in the page's body (never in its <title>).
    assert page.text.count('id="blackouts"') == 1
    title = page.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title and "Giờ cấm phát" not in title
    assert "Giờ cấm phát" in page.text and "Chưa có giờ cấm phát." in page.text
    # The station's commune and its district are offered, not the province above them.
    assert 'value="02680"' in page.text and 'value="082"' in page.text
    assert 'value="10"' not in page.text
    token = csrf_of(page.text)
    added = client.post(
        f"/stations/{station_id}/blackouts",
        data={
            "area_code": "082",
            "kind": "daily",
            "daily_start": "22:00",
            "daily_end": "5h",
            "reason": "Giờ nghỉ đêm",
            "csrf_token": token,
        },
    )
    assert added.status_code == 200, added.text
    assert "Đã thêm giờ cấm phát" in added.text
    assert "Hằng ngày 22:00 đến 05:00 hôm sau" in added.text
    dated = client.post(
        f"/stations/{station_id}/blackouts",
        data={
            "area_code": "02680",
            "kind": "dated",
            "from_day": "10/03/2031",
            "from_time": "13:00",
            "to_day": "10/03/2031",
            "to_time": "17:00",
            "reason": "Đám tang ở thôn Lao Chải",
            "csrf_token": token,
        },
    )
    assert "Từ 13:00 10/03/2031 đến 17:00 10/03/2031" in dated.text
    no_reason = client.post(
        f"/stations/{station_id}/blackouts",
        data={"area_code": "082", "kind": "daily", "daily_start": "1:00", "daily_end": "2:00",
              "reason": " ", "csrf_token": token},
    )  # fmt: skip
    assert no_reason.status_code == 422 and "Hãy ghi lý do cấm phát" in no_reason.text

    with Session(engine) as ses:
        rows = ses.exec(select(Blackout).order_by(Blackout.id)).all()  # type: ignore[arg-type]
    assert [r.reason for r in rows] == ["Giờ nghỉ đêm", "Đám tang ở thôn Lao Chải"]
    gone = client.post(
        f"/stations/{station_id}/blackouts/{rows[1].id}/delete", data={"csrf_token": token}
    )
    assert "Đã xóa giờ cấm phát" in gone.text and "Đám tang" not in gone.text
    with Session(engine) as ses:
        assert ses.get(Blackout, rows[0].id) is not None


def test_the_scheduling_form_refuses_in_vietnamese_and_offers_to_move(
    login: Login, engine: Engine, settings: Settings
) -> None:
    bulletin = approved_bulletin(engine, "082", "Phòng chống cháy rừng")
    station_id = _station_of(engine, "02680")
    client = login("bientap.batxat")
    token = csrf_of(client.get(f"/stations/{station_id}").text)
    client.post(
        f"/stations/{station_id}/blackouts",
        data={"area_code": "082", "kind": "daily", "daily_start": "22:00",
              "daily_end": "05:00", "reason": "Giờ nghỉ đêm", "csrf_token": token},
    )  # fmt: skip
    first = (utcnow() + timedelta(days=2)).astimezone(settings.zone).date()
    form = {
        "bulletin_ids": [str(bulletin)],
        "area_codes": ["02680"],
        "first_day": f"{first:%d/%m/%Y}",
        "until": f"{first + timedelta(days=1):%d/%m/%Y}",
        "when": "hằng ngày lúc 6:00 và 23:00",
        "priority": "normal",
        "csrf_token": csrf_of(client.get("/schedule/new").text),
    }
    refused = client.post("/schedule/new", data=form | {"action": "save"})
    assert refused.status_code == 422
    text = html.unescape(refused.text)
    assert f"2 lượt phát rơi vào giờ cấm phát, lượt đầu tiên lúc 23:00 {first:%d/%m/%Y}" in text
    assert "Giờ nghỉ đêm" in text
    assert 'name="blackout" value="move"' in text and "Dời sang sau giờ cấm" in text

    moved = client.post("/schedule/new", data=form | {"blackout": "move"}, follow_redirects=False)
    assert moved.status_code == 303, moved.text
    flash = unquote(moved.headers["location"])
    nxt = first + timedelta(days=1)
    assert "Đã lên lịch 4 lượt phát. Đã dời 2 lượt ra sau giờ cấm phát (Giờ nghỉ đêm)" in flash
    assert f"{first:%d/%m/%Y} 23:00 → {nxt:%d/%m/%Y} 05:00" in flash
    page = client.get(moved.headers["location"])
    assert "Đã dời 2 lượt ra sau giờ cấm phát" in page.text
