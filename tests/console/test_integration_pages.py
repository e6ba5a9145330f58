"""The console's "Tích hợp (webhook)" pages and the statistics download on the reports page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine

from broadcast.core.settings import Settings
from broadcast.reports.statistics import FIELDS
from broadcast.webhooks.sender import WebhookSender
from tests.console.conftest import (
    LiveServer,
    Login,
    csrf_of,
    english_on,
    phone,
    readable,
    sign_in,
)
from tests.webhooks.hook_receiver import HookReceiver, documented_verifier, hook_receiver

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def endpoint() -> Iterator[HookReceiver]:
    """A webhook endpoint on a free local port."""
    with hook_receiver() as receiver:
        yield receiver


def visible(page: str) -> str:
    """The text of a page's body, without its tags."""
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_an_admin_subscribes_sees_the_secret_once_and_reads_the_log(
    login: Login, engine: Engine, settings: Settings, endpoint: HookReceiver
) -> None:
    client = login("admin")
    page = client.get("/integrations")
    assert page.status_code == 200
    assert "Tích hợp (webhook)" in page.text and "Chưa có đăng ký nào." in page.text
    assert 'href="/integrations"' in client.get("/").text
    created = client.post(
        "/integrations",
        data={
            "url": endpoint.url,
            "events": ["broadcast.completed", "broadcast.missed"],
            "description": "Hệ thống thông tin nguồn tỉnh",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert created.status_code == 201, created.text
    secret = html.unescape(re.search(r'id="secret-value">([^<]+)<', created.text).group(1))  # type: ignore[union-attr]
    assert secret.startswith("whsec_") and "chỉ hiện một lần" in created.text
    assert "Đài đã phát xong, Đài bỏ lỡ lượt phát" in created.text
    listed = client.get("/integrations")
    assert secret not in listed.text and endpoint.url in listed.text
    assert english_on(visible(listed.text)) == []

    sub_id = int(re.search(r'href="/integrations/(\d+)"', listed.text).group(1))  # type: ignore[union-attr]
    detail = client.get(f"/integrations/{sub_id}")
    assert "Chưa gửi sự kiện nào." in detail.text and secret not in detail.text
    sent = client.post(f"/integrations/{sub_id}/test", data={"csrf_token": csrf_of(detail.text)})
    assert "Đã xếp sự kiện thử vào hàng gửi" in sent.text
    endpoint.answers.append(500)
    WebhookSender(engine, settings).send_due()
    log = client.get(f"/integrations/{sub_id}").text
    assert "Thử kết nối" in log and "Chờ gửi lại" in log and "Mã trả lời HTTP 500" in log
    assert english_on(visible(log)) == []
    [request] = endpoint.got()
    assert documented_verifier()(secret, request.headers, request.body)

    off = client.post(
        f"/integrations/{sub_id}/active", data={"active": "0", "csrf_token": csrf_of(log)}
    )
    assert "Đã tắt gửi sự kiện" in off.text and 'id="sub-state">Đã tắt' in off.text
    rotated = client.post(
        f"/integrations/{sub_id}/rotate-secret", data={"csrf_token": csrf_of(off.text)}
    )
    assert 'id="secret-value"' in rotated.text and secret not in rotated.text
    assert 'id="previous-secret"' not in client.get(f"/integrations/{sub_id}").text
    # Rotated again, the old secret kept signing for a day: the page says until when.
    overlapped = client.post(
        f"/integrations/{sub_id}/rotate-secret",
        data={"keep_previous_hours": "24", "csrf_token": csrf_of(off.text)},
    )
    assert 'id="secret-value"' in overlapped.text
    shown = client.get(f"/integrations/{sub_id}").text
    assert 'id="previous-secret">Khóa bí mật cũ vẫn ký kèm đến ' in shown
    assert english_on(visible(shown)) == []
    gone = client.post(f"/integrations/{sub_id}/delete", data={"csrf_token": csrf_of(log)})
    assert "Đã xóa đăng ký webhook" in gone.text and "Chưa có đăng ký nào." in gone.text


def test_a_bad_address_is_refused_in_vietnamese_and_editors_have_no_access(
    login: Login,
) -> None:
    client = login("admin")
    page = client.get("/integrations")
    refused = client.post(
        "/integrations",
        data={"url": "ftp://tinh.gov.vn", "events": ["*"], "csrf_token": csrf_of(page.text)},
    )
    assert refused.status_code == 422
    assert "Địa chỉ nhận phải bắt đầu bằng http:// hoặc https://" in refused.text
    assert 'value="ftp://tinh.gov.vn"' in refused.text
    none = client.post(
        "/integrations", data={"url": "https://tinh.gov.vn/hook", "csrf_token": csrf_of(page.text)}
    )
    assert none.status_code == 422 and "Hãy chọn ít nhất một loại sự kiện" in none.text

    editor = login("bientap.batxat")
    denied = editor.get("/integrations")
    assert denied.status_code == 403 and "Không có quyền" in denied.text
    assert 'href="/integrations"' not in editor.get("/").text


def test_the_reports_page_offers_the_statistics_per_station_and_day(login: Login) -> None:
    client = login("bientap.batxat")
    page = client.get("/reports?from=01/12/2026&to=03/12/2026")
    assert "Thống kê theo đài và ngày (CSV)" in page.text
    link = html.unescape(re.search(r'id="download-statistics" href="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    answer = client.get(link)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    lines = answer.text.splitlines()
    assert lines[0].split(",") == FIELDS
    # Bát Xát's two IP stations, three days each.
    assert len(lines) == 1 + 2 * 3
    assert {line.split(",")[0] for line in lines[1:]} == {"2026-12-01", "2026-12-02", "2026-12-03"}
    too_long = client.get("/reports/statistics.csv?from=01/01/2026&to=30/06/2026")
    assert too_long.status_code == 422 and "Một báo cáo gồm tối đa 92 ngày" in too_long.text


@pytest.mark.browser
def test_the_integration_pages_read_in_vietnamese_on_a_phone(
    live_server: LiveServer, chromium: Browser, endpoint: HookReceiver
) -> None:
    page = phone(chromium, live_server.base_url, 390)
    sign_in(page, "admin")
    page.goto("/integrations")
    readable(page)
    page.fill("#f-url", endpoint.url)
    page.check("input[name=events][value='broadcast.completed']")
    page.click("button:has-text('Thêm đăng ký')")
    assert page.locator("#secret-value").inner_text().startswith("whsec_")
    readable(page)
    page.click("text=Xem đăng ký và nhật ký gửi")
    page.wait_for_url("**/integrations/*")
    page.click("#send-test")
    page.wait_for_load_state("load")
    assert "Đã xếp sự kiện thử vào hàng gửi" in page.inner_text("body")
    readable(page)
