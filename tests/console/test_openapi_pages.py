"""The OpenAPI pages (/docs, /redoc) work without the internet: Loa serves every file they load."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from tests.live_http import serve_http
from tests.utils import TEST_PASSWORD, UserFactory, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route

ASSET_TYPES = {"script": "javascript", "stylesheet": "text/css", "icon": "image/"}


class Assets(HTMLParser):
    """The files a page asks for: <script src>, <link href>, by kind."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note each script and linked file."""
        values = {name: value or "" for name, value in attrs}
        if tag == "script" and values.get("src"):
            self.found.append(("script", values["src"]))
        elif tag == "link" and values.get("href"):
            rel = values.get("rel", "")
            self.found.append(("icon" if "icon" in rel else "stylesheet", values["href"]))


def assets_of(html: str) -> list[tuple[str, str]]:
    """The (kind, address) of every file `html` references."""
    parser = Assets()
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_openapi_pages_load_only_local_files(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200
    assets = assets_of(answer.text)
    assert any(kind == "script" for kind, _ in assets), answer.text
    for kind, address in assets:
        parts = urlsplit(address)
        assert not parts.scheme and not parts.netloc, f"{page} loads {address} from elsewhere"
        assert address.startswith("/docs/static/"), address
        served = client.get(address)
        assert served.status_code == 200, address
        assert ASSET_TYPES[kind] in served.headers["content-type"], (address, served.headers)
        assert len(served.content) > 1000, address
    # The browser is told to fetch nothing from another origin either.
    policy = answer.headers["content-security-policy"]
    assert "http" not in policy, policy
    assert "'self'" in policy


def test_openapi_description_keeps_its_address(client: TestClient) -> None:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    spec = answer.json()
    assert "/api/v1/auth/token" in spec["paths"]
    flows = spec["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"


@pytest.mark.browser
def test_swagger_ui_renders_and_authorizes_with_the_internet_cut_off(
    settings: Settings, engine: Engine, make_user: UserFactory, chromium: Browser
) -> None:
    make_user(Role.admin, username="docs-reader")
    app = create_app(settings.model_copy(update={"tts_online": False}), engine=engine)
    port = free_port()
    elsewhere: list[str] = []
    with serve_http(app, port) as base_url:
        origin = urlsplit(base_url).netloc

        def only_local(route: Route) -> None:
            if urlsplit(route.request.url).netloc == origin:
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        context = chromium.new_context(base_url=base_url)
        context.set_default_timeout(15_000)
        context.route("**/*", only_local)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/docs")

        # The operations are listed, grouped by tag.
        page.locator(".opblock-tag-section").first.wait_for()
        token_op = page.locator("#operations-auth-login_api_v1_auth_token_post")
        assert token_op.is_visible()
        assert page.locator(".opblock").count() > 20

        # Authorize with a username and password through the token endpoint.
        page.click(".auth-wrapper .btn.authorize")
        page.fill("#oauth_username", "docs-reader")
        page.fill("#oauth_password", TEST_PASSWORD)
        page.click(".modal-ux .auth-btn-wrapper .btn.modal-btn.authorize")
        page.locator(".modal-ux button:has-text('Logout')").wait_for()
        page.click(".modal-ux .btn-done")

        # A protected operation now answers 200 for that user.
        mine = page.locator("#operations-auth-my_tokens_api_v1_auth_api_tokens_get")
        mine.locator(".opblock-summary").click()
        mine.locator(".try-out__btn").click()
        mine.locator(".execute").click()
        status = mine.locator(".live-responses-table tr.response .response-col_status").first
        status.wait_for()
        assert status.inner_text().strip() == "200"
        assert "Bearer " in mine.locator(".curl").inner_text()

        page.goto("/redoc")
        page.locator("h1:has-text('Loa')").first.wait_for()
        context.close()
    assert elsewhere == []
    assert errors == []
