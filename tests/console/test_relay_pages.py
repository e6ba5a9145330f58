"""The console's "Tiếp âm" page: relay sources listed, added and removed, in Vietnamese."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import unquote

from playwright.sync_api import Browser
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.relays.models import RelaySource
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Area
from stations.timeutil import utcnow
from tests.console.conftest import LiveServer, Login, csrf_of, phone, readable, sign_in


def test_an_editor_adds_and_removes_a_relay_source(login: Login) -> None:
    operator = login("vanhanh.yty")
    seen = operator.get("/relays")
    assert seen.status_code == 200
    assert "Chưa có nguồn tiếp âm nào." in seen.text and "Thêm nguồn tiếp âm" not in seen.text

    editor = login("bientap.laocai")
    page = editor.get("/relays")
    token = csrf_of(page.text)
    bad = editor.post(
        "/relays",
        data={"csrf_token": token, "name": "VOV1", "url": "rtsp://vov.vn/x", "area": "10"},
    )
    assert bad.status_code == 422
    assert "Địa chỉ luồng phát phải bắt đầu bằng http:// hoặc https://" in html.unescape(bad.text)
    added = editor.post(
        "/relays",
        data={
            "csrf_token": token,
            "name": "Đài PT-TH tỉnh",
            "url": "https://radio.laocai.example/live.m3u8",
            "area": "10",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "Đã thêm nguồn tiếp âm “Đài PT-TH tỉnh”" in unquote(added.headers["location"])
    listed = html.unescape(editor.get("/relays").text)
    assert "https://radio.laocai.example/live.m3u8" in listed and "Tỉnh Lào Cai" in listed
    # The commune's operator sees the province's source, and may not remove it.
    shown = html.unescape(login("vanhanh.yty").get("/relays").text)
    assert "Đài PT-TH tỉnh" in shown and "Xóa</button>" not in shown
    source_id = listed.split('action="/relays/', 1)[1].split("/", 1)[0]
    editor = login("bientap.laocai")
    token = csrf_of(editor.get("/relays").text)
    removed = editor.post(
        f"/relays/{source_id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "Chưa có nguồn tiếp âm nào." in editor.get("/relays").text


def test_the_relay_page_reads_in_vietnamese_on_a_phone(
    live_server: LiveServer, chromium: Browser
) -> None:
    page = phone(chromium, live_server.base_url, 360)
    sign_in(page, "bientap.laocai")
    page.goto("/relays")
    page.fill("#f-name", "VOV1")
    page.fill("#f-url", "https://stream.vov.vn/vov1.aac")
    page.select_option("#f-area", "10")
    page.click("button:has-text('Thêm nguồn')")
    page.wait_for_url(re.compile(r"/relays\?ok="))
    assert page.locator("#relay-sources", has_text="VOV1").count() == 1
    readable(page)


def test_what_relays_report_reads_in_vietnamese() -> None:
    from api.console.airing_details import vietnamese_detail
    from broadcast.delivery.dispatch import RELAY_UNSUPPORTED

    assert vietnamese_detail(RELAY_UNSUPPORTED) == (
        "Không gửi: cụm loa không báo hỗ trợ tiếp âm nên không được gửi lượt tiếp âm"
    )
    assert vietnamese_detail(f"Station 'Đài xã Y Tý': {RELAY_UNSUPPORTED}").startswith(
        "Đài xã Y Tý: Không gửi: cụm loa không báo hỗ trợ tiếp âm"
    )
    assert vietnamese_detail("relayed 2.9 s, lost 1.1 s over 1 reconnect") == (
        "đã tiếp âm 2,9 giây, mất 1,1 giây, kết nối lại 1 lần"
    )
    assert vietnamese_detail("relayed 4.0 s, lost 0.0 s") == "đã tiếp âm 4,0 giây, mất 0,0 giây"
    assert (
        vietnamese_detail(
            "stream unreachable for the whole window: http://x/vov1.mp3: Connection refused"
        )
        == "không kết nối được luồng tiếp âm suốt thời gian tiếp âm: máy chủ từ chối kết nối"
    )
    assert vietnamese_detail("unsupported item type: relay") == (
        "cụm loa không hỗ trợ loại nội dung này (relay)"
    )


def test_a_relay_broadcast_page_says_what_it_relays(
    login: Login, engine: Engine, settings: Settings
) -> None:
    with transaction(engine) as ses:
        province = ses.exec(select(Area).where(Area.code == "10")).one()
        source = RelaySource(area_id=province.id or 0, name="VOV1", url="https://vov.example/1")
        ses.add(source)
        ses.flush()
        relay = create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[],
            area_codes=["02680"],
            starts_at=utcnow() + timedelta(days=1),
            relay_source_id=source.id,
            duration_seconds=1800,
        )
    page = html.unescape(login("vanhanh.yty").get(f"/broadcasts/{relay.id}").text)
    assert "Tiếp âm VOV1 trong 30 phút mỗi lượt" in page
