"""A voice announcement from the console: recorded in the browser, checked, sent."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import Bulletin, BulletinStatus, Translation
from broadcast.people.models import AuditEvent
from broadcast.schedule.models import Broadcast
from tests.audio import tone_recording
from tests.console.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    Login,
    csrf_of,
    readable,
    sign_in,
)
from tts.audio import ffmpeg_exe


def _send(
    client: TestClient, recording: Path | None, *, priority: str, areas: list[str], title: str
) -> object:
    page = client.get("/announce")
    assert page.status_code == 200
    files = (
        {"recording": (recording.name, recording.read_bytes(), "audio/mpeg")}
        if recording is not None
        else {"recording": ("", b"", "application/octet-stream")}
    )
    return client.post(
        "/announce",
        data={
            "csrf_token": csrf_of(page.text),
            "title": title,
            "area_codes": areas,
            "priority": priority,
        },
        files=files,
        follow_redirects=False,
    )


def test_an_editors_announcement_waits_for_an_approver(
    login: Login, engine: Engine, tmp_path: Path
) -> None:
    client = login("bientap.batxat")
    answer = _send(
        client, tone_recording(tmp_path / "a.mp3", 3000), priority="emergency",
        areas=["02680"], title="Nước lũ dâng",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/bulletins/")
    with Session(engine) as ses:
        bulletin = ses.exec(select(Bulletin).where(Bulletin.title == "Nước lũ dâng")).one()
        assert bulletin.status == BulletinStatus.submitted
        assert bulletin.priority == "emergency"
        (version,) = ses.exec(
            select(Translation).where(Translation.bulletin_id == bulletin.id)
        ).all()
        # Levelled like every uploaded recording: about 3 s of broadcast-ready audio.
        assert version.language == "vi" and version.audio_state == "ready"
        assert 2500 <= (version.audio_duration_ms or 0) <= 3500
        assert ses.exec(select(Broadcast)).all() == []
    # The approver of the district finds it waiting on their home page.
    home = login("duyet.batxat").get("/")
    assert "Nước lũ dâng" in home.text


def test_an_admins_emergency_airs_at_once(login: Login, engine: Engine, tmp_path: Path) -> None:
    client = login("admin")
    answer = _send(
        client, tone_recording(tmp_path / "b.mp3", 3000), priority="emergency",
        areas=["02680", "02743"], title="Sạt lở đất",
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/broadcasts/")
    with Session(engine) as ses:
        broadcast = ses.get(Broadcast, int(location.split("/")[2].split("?")[0]))
        assert broadcast is not None
        assert broadcast.priority == "emergency"
        assert sorted(broadcast.area_codes) == ["02680", "02743"]
        (bulletin_id,) = broadcast.bulletin_ids
        bulletin = ses.get(Bulletin, bulletin_id)
        assert bulletin is not None and bulletin.status == BulletinStatus.approved
        approval = ses.exec(
            select(AuditEvent).where(
                AuditEvent.action == "bulletin.approve", AuditEvent.object_id == str(bulletin_id)
            )
        ).one()
        assert (approval.detail or {}).get("rule") == "admin_voice_emergency"
    shown = client.get(location)
    assert "Sạt lở đất" in shown.text


@pytest.mark.parametrize(
    ("recording", "areas", "title", "said"),
    [
        (False, ["02680"], "Tin", "Hãy ghi âm hoặc chọn tệp ghi âm"),
        (True, [], "Tin", "Chọn địa bàn cần nghe thông báo"),
        (True, ["02680"], " ", "Thông báo cần có tiêu đề"),
        ("silent", ["02680"], "Tin", "Bản ghi âm không có tiếng"),
    ],
)
def test_a_bad_announcement_is_refused_in_vietnamese_and_stores_nothing(
    login: Login,
    engine: Engine,
    tmp_path: Path,
    recording: bool | str,
    areas: list[str],
    title: str,
    said: str,
) -> None:
    path = None
    if recording == "silent":
        path = tmp_path / "silent.wav"
        subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
             "anullsrc=r=16000:cl=mono", "-t", "2", str(path)],
            check=True,
        )  # fmt: skip
    elif recording:
        path = tone_recording(tmp_path / "c.mp3", 2000)
    client = login("bientap.batxat")
    answer = _send(client, path, priority="normal", areas=areas, title=title)
    assert answer.status_code == 422
    assert said in answer.text  # type: ignore[attr-defined]
    with Session(engine) as ses:
        assert ses.exec(select(Bulletin).where(Bulletin.title == title.strip())).all() == []


def test_an_operator_cannot_announce(login: Login) -> None:
    assert login("vanhanh.yty").get("/announce").status_code == 403


@pytest.mark.browser
def test_an_announcement_recorded_with_the_microphone_airs(
    live_server: LiveServer, tmp_path: Path
) -> None:
    """Chromium records from a fake microphone (a spoken WAV), plays it back, sends it."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    spoken = tmp_path / "mic.wav"
    subprocess.run(
        ["espeak-ng", "-v", "vi", "-w", str(spoken),
         "Thông báo khẩn: nước lũ đang dâng, bà con lên chỗ cao ngay."],
        check=True,
    )  # fmt: skip
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={spoken}",
    ]
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        context = browser.new_context(
            base_url=live_server.base_url,
            viewport={"width": 390, "height": 800},
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            permissions=["microphone"],
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        sign_in(page, "admin")
        page.goto("/announce")
        readable(page)
        page.fill("#f-title", "Lũ quét ở Y Tý")
        page.select_option("#f-area_codes", ["02680"])
        page.select_option("#f-priority", "emergency")
        page.click("[data-record]")
        page.wait_for_selector("[data-recording]", state="attached")
        # Two seconds of speech on the page's own clock, then stop.
        expect(page.locator("[data-elapsed]")).to_have_text(re.compile(r"0:0[2-9]"))
        page.click("[data-stop]")
        page.wait_for_selector("[data-recorded]", state="attached")
        assert int(page.get_attribute("[data-recorder]", "data-recorded") or 0) > 1000
        assert page.eval_on_selector("[data-playback]", "a => a.src").startswith("blob:")
        assert page.eval_on_selector("#f-recording", "i => i.files.length") == 1
        page.on("dialog", lambda dialog: dialog.accept())
        page.click("form[action='/announce'] button[type=submit]")
        page.wait_for_url("**/broadcasts/*")
        assert "Lũ quét ở Y Tý" in page.inner_text("main")
        readable(page)
        browser.close()
    with Session(live_server.engine) as ses:
        (broadcast,) = ses.exec(select(Broadcast).where(Broadcast.title == "Lũ quét ở Y Tý"))
        (version,) = ses.exec(
            select(Translation).where(Translation.bulletin_id == broadcast.bulletin_ids[0])
        )
        # The browser's Opus recording, decoded and levelled like any upload.
        assert version.audio_state == "ready" and (version.audio_duration_ms or 0) >= 1500
