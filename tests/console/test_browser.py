"""The console in a real Chromium: from writing a bulletin to the XLSX report.

An editor writes a bulletin, an approver approves it, the editor schedules it for
an IP commune (Y Tý, 3 receivers) and a legacy one (Pha Long); simulated receivers
air it, the status page reaches "completed", Pha Long's operator confirms by hand,
and the XLSX report says 2 airings planned, 2 aired, none missed. Screenshots of
the main pages land in tests/artifacts/.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook

from broadcast.core.db import transaction
from broadcast.people.models import Role
from broadcast.people.service import create_user
from stations.areas import Scope
from stations.mqtt import BrokerAddress
from stations.simulate import SimReceiver, Simulation
from stations.timeutil import utcnow
from tests.console.conftest import LiveServer, phone, shoot, sign_in
from tests.utils import TEST_PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_login_and_stations_pages_on_a_phone(live_server: LiveServer, chromium: Browser) -> None:
    page = phone(chromium, live_server.base_url)
    page.goto("/")
    assert page.url.endswith("/login?next=/")
    page.fill("#f-username", "admin")
    page.fill("#f-password", "sai-mat-khau")
    page.click("button[type=submit]")
    assert "Sai tên đăng nhập hoặc mật khẩu" in page.inner_text("#e-password")
    shoot(page, "01-dang-nhap")
    sign_in(page, "admin")
    assert "Xin chào" in page.inner_text("h1")
    # Nothing is wider than the phone's screen (tables scroll inside their own box).
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    shoot(page, "02-trang-chu")
    page.goto("/stations")
    shoot(page, "03-dai-va-cum-loa")
    page.click("text=Đài truyền thanh xã Y Tý")
    page.fill("#f-name", "Cụm loa nhà văn hóa thôn")
    page.fill("#f-location", "Thôn Lao Chải")
    page.click("button:has-text('Tạo cụm loa')")
    password = page.inner_text("#mqtt-password")
    assert len(password) >= 16
    shoot(page, "04-mat-khau-cum-loa")
    page.goto(page.url.removesuffix("/receivers"))
    assert "Cụm loa nhà văn hóa thôn" in page.inner_text("main")
    assert page.locator("#mqtt-password").count() == 0


def _wait_text(page, url: str, selector: str, expected: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        if expected in page.inner_text(selector):
            return
        assert time.monotonic() < deadline, f"{expected!r} never appeared on {url}"
        time.sleep(0.5)


def test_bulletin_to_xlsx_report(
    live_server: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    settings, engine = live_server.settings, live_server.engine
    with transaction(engine) as ses:
        for name, role in (("bientap.tinh", Role.editor), ("duyet.tinh", Role.approver)):
            create_user(
                session=ses,
                username=name,
                password=TEST_PASSWORD,
                role=role,
                area_code="10",
                scope=Scope.everything(),
            )
    y_ty = sorted(
        rid for rid in live_server.receivers if rid in _receivers_of(live_server, "02680")
    )
    simulation = Simulation(
        [SimReceiver(rid, live_server.receivers[rid]) for rid in y_ty],
        BrokerAddress("127.0.0.1", settings.mqtt_embedded_port, None, None),
        cache_dir=tmp_path / "cache",
        prefix=settings.mqtt_topic_prefix,
        time_scale=0.0,
    )
    simulation.start(wait=20)
    try:
        _run_story(live_server, chromium, len(y_ty))
    finally:
        simulation.stop()


def _receivers_of(live_server: LiveServer, area_code: str) -> set[str]:
    from sqlmodel import Session, select

    from stations.models import Area, Receiver, Station

    with Session(live_server.engine) as ses:
        rows = ses.exec(
            select(Receiver.id)
            .join(Station, Receiver.station_id == Station.id)  # type: ignore[arg-type]
            .join(Area, Station.area_id == Area.id)  # type: ignore[arg-type]
            .where(Area.code == area_code)
        ).all()
    return set(rows)


def _run_story(live_server: LiveServer, chromium: Browser, receivers: int) -> None:
    zone = live_server.settings.zone
    # 1. The editor writes a bulletin.
    editor = phone(chromium, live_server.base_url)
    sign_in(editor, "bientap.tinh")
    editor.goto("/bulletins/new")
    editor.click("button:has-text('Lưu bản nháp')")
    assert "Hãy nhập tiêu đề" in editor.inner_text("#e-title")
    editor.fill("#f-title", "Phòng chống cháy rừng mùa khô")
    editor.select_option("#f-priority", "priority")
    editor.fill(
        "#f-text",
        "Từ ngày 1/12, UBND xã đề nghị bà con không đốt nương khi trời hanh khô. "
        "Gọi 114 khi thấy cháy.",
    )
    editor.click("button:has-text('Lưu bản nháp')")
    editor.wait_for_url("**/bulletins/*")
    bulletin_url = editor.url.split("?")[0]
    _wait_text(editor, bulletin_url, "#version", "Sẵn sàng")
    assert editor.locator("audio").count() == 1
    assert "một" in editor.inner_text("#normalized").lower()  # "1/12" is read out in words
    shoot(editor, "05-bien-tap-ban-tin")
    editor.click("button:has-text('Gửi duyệt')")
    assert "Chờ duyệt" in editor.inner_text("main")

    # 2. The approver refuses an empty rejection, then approves.
    approver = phone(chromium, live_server.base_url)
    sign_in(approver, "duyet.tinh")
    approver.goto("/bulletins?status=submitted")
    shoot(approver, "06-danh-sach-ban-tin")
    approver.click("text=Phòng chống cháy rừng mùa khô")
    approver.click("button:has-text('Từ chối')")
    assert "Hãy ghi lý do" in approver.inner_text("#e-reason")
    approver.click("button:has-text('Duyệt bản tin')")
    assert "Đã duyệt" in approver.inner_text("main")
    assert "Duyệt" in approver.inner_text("table")  # the history lists the approval
    shoot(approver, "07-duyet-ban-tin")

    # 3. The editor schedules it for the current minute, in plain words.
    local = utcnow().astimezone(zone)
    if local.second > 40:
        time.sleep(61 - local.second)
        local = utcnow().astimezone(zone)
    editor.goto(bulletin_url)
    editor.click("text=Lên lịch phát")
    editor.select_option("#f-area_codes", ["02680", "02743"])
    editor.fill("#f-when", "hằng ngày lúc")  # no time: refused next to the field
    editor.click("button:has-text('Lên lịch')")
    assert "Không đọc được giờ phát" in editor.inner_text("#e-when")
    editor.select_option("#f-area_codes", ["02680", "02743"])
    editor.fill("#f-when", f"lúc {local:%H:%M}")
    editor.click("button:has-text('Lên lịch')")
    editor.wait_for_url("**/broadcasts/*")
    broadcast_url = editor.url.split("?")[0]

    # 4. The status page polls until the receivers completed it.
    editor.wait_for_function(
        "n => document.querySelector('#aired-count') && "
        "Number(document.querySelector('#aired-count').textContent) >= n",
        arg=receivers,
        timeout=60_000,
    )
    assert "Đã phát xong" in editor.inner_text("#deliveries")
    shoot(editor, "08-trang-thai-phat")
    editor.goto("/schedule")
    shoot(editor, "09-lich-tuan")

    # 5. Pha Long's operator confirms that the legacy station aired it.
    operator = phone(chromium, live_server.base_url)
    sign_in(operator, "vanhanh.phalong")
    operator.goto("/operator")
    shoot(operator, "10-van-hanh-xa")
    aired = (local + timedelta(minutes=1)).strftime("%H:%M")
    operator.fill("input[name=aired_time]", aired)
    operator.fill("input[name=note]", "Phát qua loa có dây")
    operator.click("button:has-text('Xác nhận đã phát')")
    assert "Đã xác nhận đài đã phát" in operator.inner_text(".flash")
    editor.goto(broadcast_url)
    assert "Đã xác nhận" in editor.inner_text("#deliveries")
    assert editor.inner_text("#coverage").startswith("100%")

    # 6. The report and its XLSX download.
    editor.goto("/reports?area=10")
    shoot(editor, "11-bao-cao")
    with editor.expect_download() as download_info:
        editor.click("#download-xlsx")
    data = Path(download_info.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(data))["Phát thanh"]
    rows = [list(r) for r in sheet.iter_rows(min_row=4, values_only=True)]
    by_commune = {(r[0], r[2]): r for r in rows}
    # code, name, language, planned, aired, missed, pending, cancelled, minutes, coverage %
    assert by_commune[("02680", "Tất cả")][3:6] == [1, 1, 0]
    assert by_commune[("02680", "Tất cả")][9] == 100.0
    assert by_commune[("02743", "Tất cả")][3:6] == [1, 1, 0]
    total = next(r for r in rows if r[1] == "Tổng cộng")
    assert total[3:6] == [2, 2, 0]
    assert total[8] > 0  # minutes aired
