"""The console on a 390 px phone: a one-line header with a menu, tables as cards."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.console.conftest import LiveServer, phone, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

WIDTH = 390

# What each visible card cell shows before its value: the column's name.
CARD_LABELS = """
() => Array.from(document.querySelectorAll('table.cards tbody td[data-label]'))
  .filter(td => td.offsetParent !== null)
  .map(td => [getComputedStyle(td, '::before').content, td.getBoundingClientRect().width])
"""


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{page.url} is {width} px wide"


def test_header_is_one_line_with_a_menu(live_server: LiveServer, chromium: Browser) -> None:
    page = phone(chromium, live_server.base_url, WIDTH)
    sign_in(page, "admin")
    header = page.locator("header.top")
    assert header.bounding_box()["height"] < 60  # type: ignore[index]
    assert page.locator("nav.menu").is_hidden()
    page.click("label.menu-button")
    assert page.locator("nav.menu a:has-text('Báo cáo')").is_visible()
    page.click("nav.menu a:has-text('Đài & cụm loa')")
    page.wait_for_url("**/stations")
    assert page.locator("nav.menu").is_hidden()


def test_receivers_bulletins_and_reports_are_cards(
    live_server: LiveServer, chromium: Browser
) -> None:
    page = phone(chromium, live_server.base_url, WIDTH)
    sign_in(page, "admin")
    page.goto("/stations")
    page.click("text=Đài truyền thanh xã Y Tý")
    page.wait_for_url("**/stations/*")
    _fits(page)
    cells = page.evaluate(CARD_LABELS)
    labels = {label.strip('"') for label, _ in cells}
    assert {"Mã", "Tên", "Trạng thái", "Lần cuối"} <= labels
    # Each value sits on its own line of the card, the card as wide as the screen allows.
    assert all(width > WIDTH * 0.75 for _, width in cells)
    assert page.locator("table.cards thead th").first.is_hidden()
    # The demo's receivers have never connected, and the page says so in words.
    assert page.locator("td[data-label='Lần cuối']").all_inner_texts() == ["Chưa từng kết nối"] * 3
    shoot(page, "390-cum-loa")
    for path in (
        "/",
        "/bulletins",
        "/stations",
        "/reports",
        "/schedule",
        "/operator",
        "/emergency-templates",
        "/areas/02680",
    ):
        page.goto(path)
        _fits(page)
    page.goto("/reports")
    shoot(page, "390-bao-cao")
