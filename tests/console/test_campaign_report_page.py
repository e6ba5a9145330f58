"""The campaign page's "Báo cáo kết quả thực hiện": a period typed dd/mm/yyyy and two
downloads, the workbook and the official document, with the district's figures only."""

from __future__ import annotations

import html
import io
import re
from typing import TYPE_CHECKING

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo_campaign
from broadcast.people.models import Role
from stations.timeutil import utcnow
from tests.campaigns.scenario import Aired, air_the_campaign
from tests.console.conftest import (
    LiveServer,
    Login,
    english_on,
    phone,
    readable,
    shoot,
    sign_in,
)
from tests.utils import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def aired(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    demo: dict[str, str],
) -> Aired:
    """The scenario of tests/campaigns/scenario.py, read two days into the campaign."""
    return air_the_campaign(client, engine, settings, make_user(Role.editor, "10"))


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_campaign_page_offers_the_report_for_a_period_and_both_files_download(
    login: Login, aired: Aired
) -> None:
    client = login("bientap.batxat")
    page = client.get(f"/campaigns/{aired.campaign_id}")
    assert page.status_code == 200
    section = page.text.split('id="h-report"')[1].split("</section>")[0]
    text = _text(section)
    assert text.startswith(">Báo cáo kết quả thực hiện")
    assert not english_on(text), english_on(text)
    # The period defaults to the campaign's first day and today.
    assert 'value="01/03/2031"' in section and 'value="02/03/2031"' in section
    assert 'name="format" value="xlsx"' in section and 'name="format" value="docx"' in section

    url = f"/campaigns/{aired.campaign_id}/report?from=01/03/2031&to=02/03/2031"
    workbook = client.get(f"{url}&format=xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["content-type"] == XLSX
    assert ".xlsx" in workbook.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(workbook.content))["Theo xã"]
    communes = [row[1] for row in sheet.iter_rows(min_row=6, values_only=True)]
    assert communes == ["Xã A Mú Sung", "Xã Y Tý"]  # Bát Xát's border communes only

    document = client.get(f"{url}&format=docx")
    assert document.status_code == 200 and document.headers["content-type"] == DOCX
    texts = [p.text for p in Document(io.BytesIO(document.content)).paragraphs]
    assert "(Từ ngày 01/03/2031 đến ngày 02/03/2031)" in texts
    assert any(t.startswith("Trong kỳ từ ngày 01/03/2031") for t in texts)

    one_day = client.get(f"/campaigns/{aired.campaign_id}/report?from=2/3/2031&to=2/3/2031")
    sheet = load_workbook(io.BytesIO(one_day.content))["Theo huyện"]
    total = list(sheet.iter_rows(min_row=6, values_only=True))[-1]
    assert total[:3] == ("Tổng cộng", 2, 2)  # two station airings on 2 March, both missed


def test_a_day_typed_wrong_is_explained_in_vietnamese(login: Login, aired: Aired) -> None:
    client = login("bientap.batxat")
    answer = client.get(f"/campaigns/{aired.campaign_id}/report?from=31/02/2031&format=docx")
    assert answer.status_code == 422
    assert "Từ ngày: Ngày không hợp lệ (dạng ngày/tháng/năm" in _text(answer.text)
    reversed_ = client.get(f"/campaigns/{aired.campaign_id}/report?from=02/03/2031&to=01/03/2031")
    assert reversed_.status_code == 422
    assert "Ngày kết thúc phải sau ngày bắt đầu" in _text(reversed_.text)
    assert client.get("/campaigns/999/report?format=xlsx").status_code == 404


@pytest.mark.browser
def test_a_district_editor_downloads_the_report_from_a_phone(
    live_server: LiveServer, chromium: Browser
) -> None:
    with transaction(live_server.engine) as ses:
        zone = live_server.settings.zone
        campaign_id = seed_demo_campaign(session=ses, today=utcnow().astimezone(zone).date()).id
    page = phone(chromium, live_server.base_url, 390)
    sign_in(page, "bientap.batxat")
    page.goto(f"/campaigns/{campaign_id}")
    readable(page)
    section = page.locator("section[aria-labelledby=h-report]")
    assert "Báo cáo kết quả thực hiện" in section.inner_text()
    section.scroll_into_view_if_needed()
    shoot(page, "390-chien-dich-bao-cao")
    with page.expect_download() as download:
        section.locator("#report-docx").click()
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".docx")
    texts = [p.text for p in Document(str(path)).paragraphs]
    assert "BÁO CÁO" in texts
    with page.expect_download() as download:
        section.locator("#report-xlsx").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames[0] == "Tổng hợp"
