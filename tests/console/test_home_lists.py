"""The home page says what waits for each person: approvals, rejections, and every alert."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.console.conftest import Login
from tests.utils import TEST_PASSWORD

API = "/api/v1"


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post(
        f"{API}/auth/token", data={"username": username, "password": TEST_PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _submitted(client: TestClient, editor: dict[str, str], title: str) -> int:
    body = {"title": title, "translations": [{"language": "vi", "text": f"{title}."}]}
    bulletin = client.post(f"{API}/bulletins", headers=editor, json=body).json()
    client.post(f"{API}/bulletins/{bulletin['id']}/submit", headers=editor).raise_for_status()
    return int(bulletin["id"])


def _text(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))


def test_approver_sees_what_waits_and_editor_sees_why_it_came_back(
    client: TestClient, login: Login
) -> None:
    editor = _bearer(client, "bientap.batxat")
    approver = _bearer(client, "duyet.batxat")
    waiting = _submitted(client, editor, "Lịch tiêm phòng gia súc")
    sent_back = _submitted(client, editor, "Thông báo họp thôn")
    client.post(
        f"{API}/bulletins/{sent_back}/reject",
        headers=approver,
        json={"reason": "Thiếu giờ họp và địa điểm"},
    ).raise_for_status()

    text = _text(login("duyet.batxat"))
    assert "Bản tin chờ duyệt (1)" in text
    assert "Lịch tiêm phòng gia súc" in text and "Thông báo họp thôn" not in text
    assert f'href="/bulletins/{waiting}"' in client.get("/").text

    text = _text(login("bientap.batxat"))
    assert "Bản tin bị từ chối (1)" in text
    assert "Thông báo họp thôn · Huyện Bát Xát · lý do: Thiếu giờ họp và địa điểm" in text
    assert "Bản tin chờ duyệt" not in text  # an editor approves nothing

    text = _text(login("vanhanh.yty"))
    assert "Bản tin chờ duyệt" not in text and "Bản tin bị từ chối" not in text


def test_the_alert_counter_counts_what_the_alert_list_lists(login: Login) -> None:
    text = _text(login("admin"))
    # The demo's six receivers have never connected: six alerts, each listed.
    listed = re.findall(r"Mất kết nối: [^·]+ · chưa từng kết nối", text)
    counter = re.search(r"(\d+) cảnh báo", text)
    assert counter and int(counter.group(1)) == len(listed) == 6
    assert "Cảnh báo (6)" in text
