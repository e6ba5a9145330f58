"""Fixtures of the console tests: signing in through the login form, CSRF tokens."""

from __future__ import annotations

import gc
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app, settle_heap
from broadcast.bulletins.rendering import RenderWorker
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo
from broadcast.runtime.background import start_background
from tests.utils import TEST_PASSWORD, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CSRF_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


Login = Callable[[str], TestClient]


@pytest.fixture
def login(client: TestClient, demo: dict[str, str]) -> Login:
    """Sign in through the form as a demo user (admin, bientap.batxat, duyet.batxat, ...)."""

    def _login(username: str) -> TestClient:
        client.cookies.clear()
        page = client.get("/login")
        answer = client.post(
            "/login",
            data={
                "username": username,
                "password": TEST_PASSWORD,
                "csrf_token": csrf_of(page.text),
                "next": "/",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return client

    return _login


# --- a real server and a real Chromium ---------------------------------------------------


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SERVICE_PASSWORD = "console-test-service-password"


@dataclass
class LiveServer:
    """The whole service on a free port: HTTP app, embedded broker, worker, render worker."""

    base_url: str
    settings: Settings
    engine: Engine
    receivers: dict[str, str]
    port: int


@pytest.fixture
def live_server(settings: Settings, engine: Engine) -> Iterator[LiveServer]:
    """uvicorn in a thread, plus the background services `loa serve` runs."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    live = settings.model_copy(
        update={
            "tts_online": False,
            "public_base_url": base_url,
            "mqtt_password": SERVICE_PASSWORD,
            "mqtt_embedded_port": free_port(),
            "scheduler_interval_seconds": 0.2,
            "ingest_flush_ms": 10,
            "render_poll_seconds": 0.2,
        }
    )
    with transaction(engine) as ses:
        seeded = seed_demo(session=ses, admin_username="admin", admin_password=TEST_PASSWORD)
    app = create_app(live, engine=engine)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    background = start_background(live, engine)
    app.state.background = background
    renderer = RenderWorker(engine, live)
    renderer.start()
    app.state.renderer = renderer
    # As `loa serve` does once ready: this process's heap holds every earlier test's
    # objects, and a full collection walking it in the middle of a page load stalls
    # the server; frozen for this test, given back to the collector after it.
    settle_heap()
    try:
        yield LiveServer(base_url, live, engine, seeded.receivers, port)
    finally:
        gc.unfreeze()
        renderer.stop()
        background.stop()
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (skipped when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def phone(browser: Browser, base_url: str, width: int = 360, height: int = 740) -> Page:
    """A new phone-sized page (360 x 740 px unless told), in Vietnamese."""
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def shoot(page: Page, name: str) -> None:
    """Save a full-page screenshot to tests/artifacts/ for people to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, username: str) -> None:
    """Sign in through the login form."""
    page.goto("/login")
    page.fill("#f-username", username)
    page.fill("#f-password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/login"))


# Words that only English sentences have (none is also a Vietnamese word written without
# marks, as "to", "no" or "an" are): any of them on a page is untranslated text.
ENGLISH_WORDS = frozenset(
    [
        "the",
        "and",
        "of",
        "is",
        "are",
        "was",
        "were",
        "not",
        "with",
        "for",
        "from",
        "this",
        "that",
        "cannot",
        "could",
        "error",
        "failed",
        "invalid",
        "required",
        "missing",
        "found",
        "none",
        "true",
        "false",
        "null",
        "undefined",
        "language",
        "system",
        "reason",
        "previous",
        "title",
        "pending",
        "scheduled",
        "approved",
        "draft",
        "submitted",
        "queued",
        "sent",
        "received",
        "downloaded",
        "started",
        "completed",
        "rejected",
        "cancelled",
        "expired",
        "missed",
        "confirmed",
        "blocked",
        "priority",
        "normal",
        "emergency",
        "receiver",
        "receivers",
        "station",
        "stations",
        "bulletin",
        "bulletins",
        "broadcast",
        "broadcasts",
        "delivery",
        "airing",
        "please",
        "click",
        "login",
        "logout",
        "password",
        "username",
        "submit",
        "save",
        "cancel",
        "delete",
        "edit",
        "status",
        "report",
        "next",
        "back",
        "ready",
        "rendering",
        "unknown",
        "engine",
        "speaks",
        "recording",
        "online",
        "offline",
        "never",
        "seen",
        "connection",
        "refused",
        "because",
        "must",
        "should",
        "only",
        "has",
        "have",
        "been",
        "there",
        "which",
        "when",
        "where",
        "your",
        "you",
    ]
)
# Technical tokens a Vietnamese page may show as they are.
ALLOWED_TOKENS = frozenset({"MQTT", "IP", "XLSX", "CSV", "HTTP", "URL", "UBND", "eSpeak", "NG"})


def english_on(text: str) -> list[str]:
    """The English words in a page's visible text."""
    words = re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?", text)
    return [w for w in words if w not in ALLOWED_TOKENS and w.lower() in ENGLISH_WORDS]


def readable(page: Page) -> None:
    """The page fits the phone's width (no sideways scrolling) and says nothing in English."""
    page.wait_for_load_state("load")
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"{page.url}: {width} px wide on a {screen} px screen"
    english = english_on(page.inner_text("body"))
    assert not english, f"{page.url} shows English: {english}"
