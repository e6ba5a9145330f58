"""What receivers and the audit log say reaches the console in Vietnamese."""

from __future__ import annotations

import re

import pytest

from api.console.airing_details import vietnamese_detail
from tests.console.conftest import Login, csrf_of


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        (
            "cannot connect to the media server ([Errno 111] Connection refused)",
            "không tải được âm thanh: máy chủ từ chối kết nối",
        ),
        (
            "cannot connect to the media server ([Errno -2] Name or service not known)",
            "không tải được âm thanh: không tìm thấy địa chỉ máy chủ",
        ),
        (
            "the media server did not answer in time",
            "không tải được âm thanh: máy chủ không trả lời kịp",
        ),
        ("HTTP 404: no such file", "không tải được âm thanh: máy chủ không có tệp này (HTTP 404)"),
        ("HTTP 503: Service Unavailable", "không tải được âm thanh: máy chủ báo lỗi HTTP 503"),
    ],
)
def test_the_receiver_agents_reasons_are_said_in_vietnamese(detail: str, shown: str) -> None:
    assert vietnamese_detail(detail) == shown


def test_a_bulletins_history_names_languages_states_and_the_system_in_vietnamese(
    login: Login,
) -> None:
    client = login("bientap.batxat")
    form = client.get("/bulletins/new")
    created = client.post(
        "/bulletins/new",
        data={
            "title": "Phòng chống lũ quét",
            "priority": "normal",
            "text": "Bà con chú ý phòng chống lũ quét.",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    page = re.sub(r"\s+", " ", client.get(created.headers["location"].split("?")[0]).text)
    history = page[page.index("Lịch sử") :]
    assert "ngôn ngữ: Tiếng Việt" in history or "tiêu đề: Phòng chống lũ quét" in history
    for english in ("language:", "reason:", "previous:", "title:", ">system<"):
        assert english not in history


def test_the_english_check_of_the_browser_tests_catches_english_and_spares_vietnamese() -> None:
    from tests.console.conftest import english_on

    assert english_on("No engine speaks tiếng H'Mông (language: hmn)") == [
        "engine",
        "speaks",
        "language",
    ]
    assert english_on("Loa to, bà con no đủ; an toàn. Tên đăng nhập MQTT, tải XLSX") == []


def test_a_nul_character_in_a_console_address_is_refused_in_vietnamese(login: Login) -> None:
    client = login("bientap.batxat")
    page = client.get("/bulletins?q=a%00b")
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "ký tự không hợp lệ" in page.text and "NUL character" not in page.text
    api = client.get("/api/v1/bulletins?q=a%00b")
    assert api.status_code == 400 and api.json()["reason"] == "request.nul_character"
