"""The console's scheduling forms refuse bulletins and areas outside the editor's subtree."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.schedule.models import Broadcast
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of


def broadcasts(engine: Engine) -> list[Broadcast]:
    with Session(engine) as ses:
        return list(ses.exec(select(Broadcast)).all())


def _form(bulletin: int, area: str, csrf: str) -> dict[str, object]:
    return {
        "bulletin_ids": [str(bulletin)],
        "area_codes": [area],
        "first_day": (date.today() + timedelta(days=2)).isoformat(),
        "when": "lúc 7:15",
        "priority": "normal",
        "csrf_token": csrf,
    }


def test_the_schedule_form_refuses_a_bulletin_of_another_district(
    login: Login, engine: Engine
) -> None:
    other = approved_bulletin(engine, "083", "Bản tin huyện Mường Khương")
    client = login("bientap.batxat")
    page = client.get("/schedule/new")
    assert f"#{other} " not in page.text  # not offered
    answer = client.post("/schedule/new", data=_form(other, "02680", csrf_of(page.text)))
    assert answer.status_code == 422
    assert f"Không tìm thấy bản tin {other}" in answer.text
    assert broadcasts(engine) == []


def test_the_schedule_form_refuses_an_area_of_another_district(
    login: Login, engine: Engine
) -> None:
    own = approved_bulletin(engine, "082", "Bản tin huyện Bát Xát")
    client = login("bientap.batxat")
    csrf = csrf_of(client.get("/schedule/new").text)
    answer = client.post("/schedule/new", data=_form(own, "02743", csrf))
    assert answer.status_code == 422
    assert "Không tìm thấy địa bàn &#39;02743&#39;" in answer.text
    assert broadcasts(engine) == []
    done = client.post("/schedule/new", data=_form(own, "02680", csrf), follow_redirects=False)
    assert done.status_code == 303
    assert [b.area_codes for b in broadcasts(engine)] == [["02680"]]


def test_the_emergency_button_refuses_a_bulletin_of_another_district(
    login: Login, engine: Engine
) -> None:
    other = approved_bulletin(engine, "083", "Cảnh báo lũ quét")
    client = login("bientap.batxat")
    csrf = csrf_of(client.get("/schedule").text)
    answer = client.post(
        "/schedule/emergency",
        data={"bulletin_id": str(other), "area_codes": ["02680"], "csrf_token": csrf},
    )
    assert answer.status_code == 422
    assert f"Không tìm thấy bản tin {other}" in answer.text
    assert broadcasts(engine) == []
