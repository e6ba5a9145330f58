"""The console in a real Chromium at phone width: the README's first broadcast.

As the README tells it, with the demo's users: the province's editor writes a bulletin
and uploads a H'Mông recording, the approver approves it from the home page, the editor
schedules it daily for an IP commune (Y Tý, its 3 demo receivers run by the simulator as
`loa simulate --station-id 1` runs them) and a legacy one (Pha Long); the receivers air
it, Pha Long's operator plays, downloads and confirms the programme, the broadcast
reaches 100 % and the XLSX report says 2 airings planned, 2 aired, none missed. Every
page visited fits the screen and shows no English. Screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from openpyxl import load_workbook

from stations.mqtt import BrokerAddress
from stations.simulate import SimReceiver, Simulation
from stations.timeutil import utcnow
from tests.audio import tone_recording
from tests.console.conftest import LiveServer, phone, readable, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

WIDTH = 390  # a common phone screen, in CSS pixels


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


def test_the_readme_story_on_a_390px_phone(
    live_server: LiveServer, chromium: Browser, tmp_path: Path
) -> None:
    """README, "A first broadcast", steps 1 to 5, as the demo users, on a 390 px screen."""
    settings = live_server.settings
    y_ty = sorted(_receivers_of(live_server, "02680"))
    # Step 4: `loa simulate --station-id 1` runs Y Tý's own demo receivers.
    simulation = Simulation(
        [SimReceiver(rid, live_server.receivers[rid]) for rid in y_ty],
        BrokerAddress("127.0.0.1", settings.mqtt_embedded_port, None, None),
        cache_dir=tmp_path / "cache",
        prefix=settings.mqtt_topic_prefix,
        time_scale=0.0,
    )
    simulation.start(wait=20)
    try:
        _run_story(live_server, chromium, len(y_ty), tmp_path)
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


def _run_story(live_server: LiveServer, chromium: Browser, receivers: int, tmp_path: Path) -> None:
    zone = live_server.settings.zone
    base = live_server.base_url
    # 1. The province's editor writes a bulletin in Vietnamese and adds a H'Mông recording.
    editor = phone(chromium, base, width=WIDTH)
    sign_in(editor, "bientap.laocai")
    readable(editor)
    editor.goto("/bulletins/new")
    editor.click("button:has-text('Lưu bản nháp')")
    assert "Hãy nhập tiêu đề" in editor.inner_text("#e-title")
    readable(editor)
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
    assert "máy đọc eSpeak NG" in editor.inner_text("#version")
    readable(editor)
    shoot(editor, "05-bien-tap-ban-tin")
    editor.goto(f"{bulletin_url}?lang=hmn")
    editor.set_input_files("#f-recording", str(tone_recording(tmp_path / "hmn.mp3", 4000)))
    editor.click("button:has-text('Tải lên')")
    _wait_text(editor, f"{bulletin_url}?lang=hmn", "#version", "Sẵn sàng")
    assert "bản ghi âm tải lên" in editor.inner_text("#version")
    readable(editor)
    editor.click("button:has-text('Gửi duyệt')")
    assert "Chờ duyệt" in editor.inner_text("main")
    readable(editor)

    # 2. The province's approver finds it waiting on the home page and approves it.
    approver = phone(chromium, base, width=WIDTH)
    sign_in(approver, "duyet.laocai")
    assert "Bản tin chờ duyệt (1)" in approver.inner_text("main")
    readable(approver)
    approver.click("text=Phòng chống cháy rừng mùa khô")
    approver.click("button:has-text('Từ chối')")
    assert "Hãy ghi lý do" in approver.inner_text("#e-reason")
    approver.click("button:has-text('Duyệt bản tin')")
    assert "Đã duyệt" in approver.inner_text("main")
    readable(approver)
    shoot(approver, "07-duyet-ban-tin")

    # 3. The editor schedules it for Y Tý and Pha Long, daily, in plain words: the first
    # airing in the next minute or so (receivers air at air time on the wall clock).
    now = utcnow().astimezone(zone)
    air = (now + timedelta(minutes=1 if now.second < 30 else 2)).replace(second=0, microsecond=0)
    editor.goto(bulletin_url)
    editor.click("text=Lên lịch phát")
    editor.select_option("#f-area_codes", ["02680", "02743"])
    editor.fill("#f-when", f"hằng ngày lúc {air:%H:%M}")
    editor.fill("#f-first_day", f"{air:%d/%m/%Y}")
    editor.fill("#f-until", f"{air + timedelta(days=1):%d/%m/%Y}")
    editor.click("button:has-text('Xem trước')")
    preview = editor.inner_text("#preview")
    assert f"Hằng ngày {air:%H:%M}" in preview and "2 lượt" in preview, preview
    readable(editor)
    editor.click("button:has-text('Lên lịch')")
    editor.wait_for_url("**/broadcasts/*")
    broadcast_url = editor.url.split("?")[0]
    assert "Hằng ngày" in editor.inner_text("#schedule-text")
    readable(editor)

    # 5. The status page polls until Y Tý's clusters aired it.
    editor.wait_for_function(
        "n => document.querySelector('#aired-count') && "
        "Number(document.querySelector('#aired-count').textContent) >= n",
        arg=receivers,
        timeout=150_000,
    )
    assert "Đã phát xong" in editor.inner_text("#deliveries")
    readable(editor)
    shoot(editor, "08-trang-thai-phat")
    editor.goto("/schedule")
    readable(editor)
    shoot(editor, "09-lich-tuan")

    # Pha Long's operator plays and downloads the programme, airs it, and confirms it.
    operator = phone(chromium, base, width=WIDTH)
    sign_in(operator, "vanhanh.phalong")
    operator.goto("/operator")
    readable(operator)
    shoot(operator, "10-van-hanh-xa")
    player = operator.locator("audio[aria-label='Nghe chương trình cần phát']")
    assert player.count() == 1
    heard = operator.request.get(base + str(player.get_attribute("src")))
    assert heard.status == 200 and heard.headers["content-type"] == "audio/mpeg"
    with operator.expect_download() as saved:
        operator.click("text=Tải chương trình (.mp3) để phát trên đài")
    assert Path(saved.value.path()).read_bytes() == heard.body()
    operator.fill("input[name=note]", "Phát qua loa có dây")
    operator.click("button:has-text('Xác nhận đã phát')")
    assert "Đã xác nhận đài đã phát" in operator.inner_text(".flash")
    readable(operator)
    editor.goto(broadcast_url)
    assert "Đã xác nhận" in editor.inner_text("#deliveries")
    assert editor.inner_text("#coverage").startswith("100%")
    readable(editor)

    # The coverage report of the day, typed dd/mm/yyyy, and its XLSX download.
    editor.goto("/reports?area=10")
    editor.fill("#f-from", f"{air:%d/%m/%Y}")
    editor.fill("#f-to", f"{air:%d/%m/%Y}")
    editor.click("button:has-text('Xem báo cáo')")
    readable(editor)
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
