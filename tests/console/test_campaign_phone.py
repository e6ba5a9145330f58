"""A district editor follows the campaign on a 390 px phone: home, list and progress."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlmodel import col, select

from broadcast.core.db import transaction
from broadcast.demo import seed_demo_campaign
from stations.models import Area, Language, Station
from stations.timeutil import utcnow
from tests.console.conftest import LiveServer, phone, readable, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

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


BEHIND = """
() => Array.from(document.querySelectorAll('#behind li')).map(li => ({
  commune: li.querySelector('.commune').innerText,
  languages: Array.from(li.querySelectorAll('.language')).map(s => s.innerText),
}))
"""


def screen_height(page: Page) -> int:
    return int(page.evaluate("window.innerHeight"))


def test_on_a_390x844_phone_the_behind_communes_come_first_with_their_languages(
    live_server: LiveServer, chromium: Browser
) -> None:
    with transaction(live_server.engine) as ses:
        zone = live_server.settings.zone
        campaign_id = seed_demo_campaign(session=ses, today=utcnow().astimezone(zone).date()).id
        names = {lang.code: lang.name for lang in ses.exec(select(Language)).all()}
        aired = {
            area.name: [names[code] for code in station.languages or []]
            for station, area in ses.exec(
                select(Station, Area).join(Area, col(Station.area_id) == col(Area.id))
            ).all()
        }
    page = phone(chromium, live_server.base_url, 390, 844)
    sign_in(page, "bientap.batxat")  # a district editor of the demo (Bát Xát)
    readable(page)
    page.locator("#campaigns-behind a").first.click()
    page.wait_for_url(f"**/campaigns/{campaign_id}")
    readable(page)
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen == 390
    # The communes behind come first, each with the languages it is behind in.
    assert page.locator("main section#behind").is_visible()
    box = page.locator("#behind").bounding_box()
    assert box is not None and box["y"] < screen_height(page)
    table = page.locator("#progress").bounding_box()
    assert table is not None and box["y"] < table["y"]
    behind = page.evaluate(BEHIND)
    # Nothing of the campaign aired yet in Bát Xát: both its communes are behind, in every
    # language their stations air.
    assert {row["commune"] for row in behind} == {"Xã Y Tý", "Xã A Mú Sung"}
    for row in behind:
        assert row["languages"] and set(row["languages"]) <= set(aired[row["commune"]])
    shoot(page, "390x844-chien-dich-xa-cham")
