"""Held CAP alerts in the console: listed in Vietnamese with their deadline, approved by a click."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi.testclient import TestClient

from stations.timeutil import utcnow
from tests.alerts.conftest import CAP_TYPE, flood_alert
from tests.console.conftest import (  # noqa: F401 - fixtures
    LiveServer,
    Login,
    chromium,
    csrf_of,
    live_server,
    login,
    phone,
    shoot,
    sign_in,
)
from tests.utils import TEST_PASSWORD, Headers

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def test_an_approver_sees_the_held_alert_and_releases_it(
    app: TestClient,
    centre: Headers,
    login: Login,  # noqa: F811
) -> None:
    answer = app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    assert answer.json()["state"] == "held"
    client = login("duyet.laocai")
    page = client.get("/alerts")
    assert page.status_code == 200
    assert "Chờ duyệt" in page.text and "Cảnh báo lũ quét, sạt lở đất" in page.text
    assert "05:40" in page.text  # airs anyway at the deadline, 10 minutes on (Hà Nội time)
    done = client.post(
        f"/alerts/{answer.json()['id']}/approve",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "Đã duyệt cảnh báo" in done.text and "Đang chuẩn bị phát" in done.text
    again = client.post(
        f"/alerts/{answer.json()['id']}/approve", data={"csrf_token": csrf_of(done.text)}
    )
    assert again.status_code == 422
    assert "không còn chờ duyệt" in again.text


def test_an_editor_sees_held_alerts_without_an_approve_button(
    app: TestClient,
    centre: Headers,
    login: Login,  # noqa: F811
) -> None:
    app.post("/api/v1/alerts/cap", content=flood_alert(), headers={**centre, **CAP_TYPE})
    page = login("bientap.laocai").get("/alerts")
    assert "Cảnh báo lũ quét" in page.text and "Duyệt phát ngay" not in page.text


@pytest.mark.browser
def test_an_approver_releases_a_held_alert_in_chromium(
    live_server: LiveServer,  # noqa: F811
    chromium: Browser,  # noqa: F811
) -> None:
    api = f"{live_server.base_url}/api/v1"
    with httpx.Client(timeout=30) as http:
        signed = http.post(
            f"{api}/auth/token", data={"username": "bientap.laocai", "password": TEST_PASSWORD}
        ).json()["access_token"]
        token = http.post(
            f"{api}/auth/api-tokens",
            json={"name": "Đài KTTV Lào Cai", "scopes": ["alerts"]},
            headers={"Authorization": f"Bearer {signed}"},
        ).json()["token"]
        document = flood_alert(sent=utcnow().replace(microsecond=0), expires=None)
        held = http.post(
            f"{api}/alerts/cap",
            content=document,
            headers={"Authorization": f"Bearer {token}", **CAP_TYPE},
        )
        assert held.status_code == 201, held.text
    page = phone(chromium, live_server.base_url)
    sign_in(page, "duyet.laocai")
    page.click("label.menu-button")  # the menu is folded on a phone
    page.click("nav.menu a[href='/alerts']")
    page.wait_for_url("**/alerts")
    assert "Cảnh báo lũ quét, sạt lở đất" in page.inner_text("main")
    shoot(page, "20-canh-bao-cho-duyet")
    page.click("button:has-text('Duyệt phát ngay')")
    assert "Đã duyệt cảnh báo" in page.inner_text("body")
    deadline = time.monotonic() + 60
    while "Đã lên lịch phát" not in page.inner_text("main"):
        assert time.monotonic() < deadline, "the approved alert was never scheduled"
        page.wait_for_timeout(300)
        page.goto("/alerts")
    page.click("text=Xem lịch phát")
    page.wait_for_url("**/broadcasts/*")
    assert "Cảnh báo lũ quét" in page.inner_text("main")
    shoot(page, "21-canh-bao-da-phat")
