"""The console's "Mẫu tin khẩn cấp": an editor writes and records a H'Mông template, an approver
reviews it after listening, and every page speaks Vietnamese only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from broadcast.bulletins.media import synthesizer
from broadcast.core.db import transaction
from broadcast.demo import DEMO_TEMPLATE_NAME, seed_demo_templates
from tests.audio import tone_recording
from tests.console.conftest import (
    LiveServer,
    Login,
    csrf_of,
    english_on,
    phone,
    readable,
    shoot,
    sign_in,
)
from tts import Synthesizer

if TYPE_CHECKING:
    from playwright.sync_api import Browser


def text_of(html: str) -> str:
    """What a person reads on a page: the text without tags, spaces collapsed."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def vietnamese(html: str) -> str:
    text = text_of(html)
    assert english_on(text) == [], english_on(text)
    return text


@pytest.fixture
def console(client: TestClient, offline_speech: Synthesizer, login: Login) -> Login:
    client.app.state.synthesizer = offline_speech  # type: ignore[attr-defined]
    return login


def test_an_editor_records_a_template_and_an_approver_reviews_it(
    console: Login, tmp_path: Path
) -> None:
    phrase = tone_recording(tmp_path / "phrase.mp3", 900, freq=350)
    name = tone_recording(tmp_path / "yty.mp3", 500, freq=560)
    web = console("bientap.laocai")
    page = web.get("/emergency-templates")
    assert page.status_code == 200
    assert "Chưa có mẫu tin khẩn cấp nào" in vietnamese(page.text)
    made = web.post(
        "/emergency-templates",
        data={
            "csrf_token": csrf_of(page.text),
            "area": "10",
            "hazard": "flash_flood",
            "language": "hmn",
            "name": "Lũ quét - tiếng Mông",
        },
        follow_redirects=True,
    )
    assert made.status_code == 200 and "Đã tạo mẫu tin" in made.text
    url = str(made.url).split("?")[0]
    tid = url.rsplit("/", 1)[1]
    for kind, slot in (("phrase", ""), ("slot", "place"), ("phrase", "")):
        added = web.post(
            f"/emergency-templates/{tid}/parts/add",
            data={"csrf_token": csrf_of(made.text), "kind": kind, "slot": slot},
            follow_redirects=True,
        )
        assert added.status_code == 200, added.text
    nameless = web.post(
        f"/emergency-templates/{tid}/parts/add",
        data={"csrf_token": csrf_of(made.text), "kind": "slot", "slot": ""},
    )
    assert nameless.status_code == 422
    assert "ô điền cần có tên hợp lệ" in vietnamese(nameless.text)
    for position in (1, 3):
        with phrase.open("rb") as handle:
            up = web.post(
                f"/emergency-templates/{tid}/recording/{position}",
                data={"csrf_token": csrf_of(made.text)},
                files={"recording": ("p.mp3", handle, "audio/mpeg")},
                follow_redirects=True,
            )
        assert up.status_code == 200 and "Đã tải bản thu" in up.text
    with name.open("rb") as handle:
        up = web.post(
            f"/emergency-templates/{tid}/slot-recording",
            data={"csrf_token": csrf_of(made.text), "slot": "place", "value": "Xã Y Tý"},
            files={"recording": ("yty.mp3", handle, "audio/mpeg")},
            follow_redirects=True,
        )
    shown = vietnamese(up.text)
    assert "Xã Y Tý" in shown and "Chưa duyệt" in shown

    heard = web.post(
        f"/emergency-templates/{tid}/preview",
        data={"csrf_token": csrf_of(up.text), "place": "Xã Y Tý, Xã A Mú Sung", "time": ""},
    )
    assert heard.status_code == 200
    listened = vietnamese(heard.text)
    assert "Ô điền: Xã Y Tý — bản thu" in listened
    assert "Ô điền: Xã A Mú Sung — máy đọc tiếng Việt" in listened
    player = re.search(r'<audio controls src="([^"]+)"', heard.text)
    assert player is not None
    assert web.get(player.group(1)).headers["content-type"] == "audio/mpeg"

    # Its author cannot review it; another approver of the province can.
    refused = web.post(f"/emergency-templates/{tid}/review", data={"csrf_token": csrf_of(up.text)})
    assert refused.status_code == 422 and "Chưa duyệt" in vietnamese(refused.text)
    web = console("duyet.laocai")
    page = web.get(f"/emergency-templates/{tid}")
    reviewed = web.post(
        f"/emergency-templates/{tid}/review",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=True,
    )
    assert "Đã duyệt mẫu tin" in vietnamese(reviewed.text)
    listed = vietnamese(web.get("/emergency-templates?area=02680").text)
    assert "Lũ quét - tiếng Mông" in listed and "Đang dùng" in listed


def test_the_demo_template_reads_well_on_a_phone_and_plays_its_preview(
    live_server: LiveServer, chromium: Browser
) -> None:
    with transaction(live_server.engine) as ses:
        made = seed_demo_templates(
            session=ses,
            settings=live_server.settings,
            synthesizer=synthesizer(live_server.settings),
        )
    assert made
    page = phone(chromium, live_server.base_url, 390)
    sign_in(page, "duyet.laocai")
    page.goto("/emergency-templates?area=02680")
    readable(page)
    assert "Đang dùng" in page.inner_text("body")
    page.click(f"text={DEMO_TEMPLATE_NAME}")
    page.wait_for_url("**/emergency-templates/*")
    readable(page)
    page.click("text=Ghép và nghe thử")
    page.wait_for_selector("section.card audio[controls]:not([preload])")
    readable(page)
    body = page.inner_text("body")
    assert "Xã Y Tý — bản thu" in body and "Xã A Mú Sung — máy đọc tiếng Việt" in body
    shoot(page, "390-mau-tin-khan-cap")
