"""Console pages with ids that cannot exist (too large, not a number) answer a Vietnamese page."""

from __future__ import annotations

import importlib
import pkgutil
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import console
from api.console.web import ConsoleRoute
from broadcast.schedule.models import Broadcast
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of

BAD_IDS = [str(2**31), str(2**63), str(2**64), "1" + "0" * 30, "abc", "0"]


def _console_routes_with_ids() -> list[tuple[str, str, list[str]]]:
    """(method, path, integer path parameters) of every console route that has one."""
    found = []
    for module in pkgutil.iter_modules(console.__path__):
        router = getattr(importlib.import_module(f"api.console.{module.name}"), "router", None)
        for route in router.routes if router is not None else []:
            if not isinstance(route, ConsoleRoute):
                continue
            ints = [f.name for f in route.dependant.path_params if f.field_info.annotation is int]
            if ints:
                found.extend((method, route.path, ints) for method in sorted(route.methods))
    return found


def _fill(path: str, ints: list[str], value: str) -> str:
    for name in ints:
        path = path.replace("{" + name + "}", value)
    for name, other in (("language", "vi"), ("action", "submit"), ("kind", "intro")):
        path = path.replace("{" + name + "}", other)
    return path


@pytest.fixture
def admin_console(login: Login) -> TestClient:
    """An admin signed in to the console; a server error is answered, not raised."""
    signed_in = login("admin")
    answering = TestClient(signed_in.app, raise_server_exceptions=False)
    answering.cookies = signed_in.cookies
    return answering


def test_every_console_id_that_cannot_exist_gives_a_vietnamese_not_found_page(
    admin_console: TestClient,
) -> None:
    routes = _console_routes_with_ids()
    assert len({path for _m, path, _i in routes}) >= 10
    csrf = csrf_of(admin_console.get("/stations").text)
    for method, path, ints in routes:
        for value in BAD_IDS:
            url = _fill(path, ints, value)
            data = {"csrf_token": csrf} if method == "POST" else None
            answer = admin_console.request(method, url, data=data)
            assert answer.status_code == 404, (method, url, answer.text[:300])
            assert answer.headers["content-type"].startswith("text/html")
            assert "Không tìm thấy" in answer.text, (method, url)


def test_the_largest_id_is_simply_not_found(admin_console: TestClient) -> None:
    for url in ("/stations", "/bulletins", "/broadcasts"):
        answer = admin_console.get(f"{url}/{2**31 - 1}")
        assert answer.status_code == 404 and "Không tìm thấy" in answer.text


def test_schedule_forms_with_ids_that_cannot_exist_show_the_form_again(
    login: Login, engine: Engine
) -> None:
    own = approved_bulletin(engine, "082", "Bản tin huyện Bát Xát")
    signed_in = login("bientap.batxat")
    client = TestClient(signed_in.app, raise_server_exceptions=False)
    client.cookies = signed_in.cookies
    csrf = csrf_of(client.get("/schedule/new").text)
    first_day = (date.today() + timedelta(days=2)).isoformat()
    for bad in (str(2**64), "²", "١"):  # too large; digits Python reads but a form should not
        answer = client.post(
            "/schedule/new",
            data={
                "bulletin_ids": [str(own), bad],
                "area_codes": ["02680"],
                "first_day": first_day,
                "when": "lúc 7:15",
                "csrf_token": csrf,
            },
        )
        assert answer.status_code == 422, (bad, answer.text[:300])
        assert 'id="e-bulletin_ids"' in answer.text, bad
        emergency = client.post(
            "/schedule/emergency",
            data={"bulletin_id": bad, "area_codes": ["02680"], "csrf_token": csrf},
        )
        assert emergency.status_code == 422, (bad, emergency.text[:300])
        assert "Chọn bản tin khẩn cấp đã duyệt" in emergency.text
    emergency = client.post(
        "/schedule/emergency",
        data={"bulletin_id": str(own), "area_codes": ["không có mã"], "csrf_token": csrf},
    )
    assert emergency.status_code == 422, emergency.text[:300]
    assert "Dữ liệu không hợp lệ" in emergency.text
    with Session(engine) as ses:
        assert ses.exec(select(Broadcast)).all() == []


def test_the_operator_confirmation_with_ids_that_cannot_exist_is_refused_in_vietnamese(
    login: Login,
) -> None:
    signed_in = login("vanhanh.phalong")
    client = TestClient(signed_in.app, raise_server_exceptions=False)
    client.cookies = signed_in.cookies
    csrf = csrf_of(client.get("/operator").text)
    for field in ("broadcast_id", "station_id"):
        data = {"broadcast_id": "1", "station_id": "1", "aired_time": "6:05", "csrf_token": csrf}
        for bad in (str(2**64), "abc"):
            answer = client.post("/operator/confirm", data={**data, field: bad})
            assert answer.status_code == 422, (field, bad, answer.text[:300])
            assert answer.headers["content-type"].startswith("text/html")
            assert '<html lang="vi">' in answer.text
