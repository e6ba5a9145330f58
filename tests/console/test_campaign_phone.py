"""A district editor follows the campaign on a 390 px phone: home, list and progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from broadcast.core.db import transaction
from broadcast.demo import seed_demo_campaign
from stations.timeutil import utcnow
from tests.console.conftest import LiveServer, phone, readable, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

CARD_LABELS = """
() => Array.from(document.querySelectorAll('#progress tbody td[data-label]'))
  .filter(td => td.offsetParent !== null)
  .map(td => getComputedStyle(td, '::before').content)
"""


def test_a_district_editor_sees_on_a_phone_which_communes_are_behind(
    live_server: LiveServer, chromium: Browser
) -> None:
    with transaction(live_server.engine) as ses:
        zone = live_server.settings.zone
        campaign_id = seed_demo_campaign(session=ses, today=utcnow().astimezone(zone).date()).id
    page = phone(chromium, live_server.base_url, 390)
    sign_in(page, "bientap.batxat")
    readable(page)
    section = page.locator("#campaigns-behind")
    assert "xã chậm tiến độ" in section.inner_text()
    section.locator("a").first.click()
    page.wait_for_url(f"**/campaigns/{campaign_id}")
    readable(page)
    labels = {label.strip('"') for label in page.evaluate(CARD_LABELS)}
    assert {"Xã", "Tình trạng", "Ngôn ngữ", "Đã phát", "Chỉ tiêu lượt"} <= labels
    assert page.locator("#progress thead th").first.is_hidden()
    assert page.locator("#progress tr.behind", has_text="Chậm tiến độ").count() > 0
    shoot(page, "390-chien-dich")
    page.goto("/campaigns")
    readable(page)
    page.goto("/bulletins/new")
    readable(page)
    assert page.locator("#f-campaign_theme option").count() == 1 + 1 + 4
