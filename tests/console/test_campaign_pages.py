"""Campaigns in the console: who is behind and in which language, on the home page of a
district and on the campaign's page; bulletins written and listed by campaign and theme."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import Bulletin
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from tests.campaigns.scenario import T0, Aired, air_the_campaign
from tests.console.conftest import Login, csrf_of, english_on
from tests.utils import UserFactory


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
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_district_sees_its_communes_behind_on_its_home_page(login: Login, aired: Aired) -> None:
    client = login("bientap.batxat")
    home = client.get("/")
    assert home.status_code == 200
    text = " ".join(_text(home.text).split())
    assert "Xã chậm tiến độ chiến dịch" in text
    # Bát Xát: A Mú Sung is behind, Y Tý is not.
    assert "1/2 xã chậm tiến độ" in text
    assert f'href="/campaigns/{aired.campaign_id}"' in home.text
    province = " ".join(_text(login("bientap.laocai").get("/").text).split())
    assert "2/3 xã chậm tiến độ" in province
    operator = login("vanhanh.yty").get("/").text
    assert "Xã chậm tiến độ chiến dịch" not in operator


def test_the_campaign_page_puts_the_communes_behind_first_with_their_languages(
    login: Login, aired: Aired
) -> None:
    client = login("bientap.batxat")
    listed = client.get("/campaigns")
    assert listed.status_code == 200 and "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023" in listed.text
    page = client.get(f"/campaigns/{aired.campaign_id}")
    assert page.status_code == 200
    text = " ".join(_text(page.text).split())
    assert not english_on(text), english_on(text)
    assert "1/2 xã chậm tiến độ" in text
    progress = page.text.split('id="progress"')[1].split("</table>")[0]
    rows = re.findall(r"<tr( class=\"behind\")?>(.*?)</tr>", progress, re.S)
    first = _text(rows[1][1]) if rows[0][1].count("<th>") else _text(rows[0][1])
    assert "Xã A Mú Sung" in first
    behind_rows = [" ".join(_text(r).split()) for cls, r in rows if cls]
    # A Mú Sung aired nothing in Dao: that row says so.
    assert any("Xã A Mú Sung" in r and "Chậm tiến độ" in r and "Dao" in r for r in behind_rows), (
        behind_rows
    )
    assert not any("Xã Y Tý" in r for r in behind_rows)
    assert "Xã Pha Long" not in text  # another district's commune
    assert client.get("/campaigns/999").status_code == 404


def test_a_bulletin_is_written_for_a_campaigns_theme_and_listed_by_it(
    login: Login, aired: Aired, engine: Engine
) -> None:
    client = login("bientap.batxat")
    form = client.get("/bulletins/new")
    law = aired.themes["phap-luat"]
    assert f'value="{aired.campaign_id}-{law}"' in form.text
    answer = client.post(
        "/bulletins/new",
        data={
            "csrf_token": csrf_of(form.text),
            "title": "Luật Biên phòng Việt Nam",
            "priority": "normal",
            "campaign_theme": f"{aired.campaign_id}-{law}",
            "area_code": "02680",
            "text": "Luật Biên phòng Việt Nam có hiệu lực từ ngày 1 tháng 1 năm 2022.",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    with Session(engine) as ses:
        row = ses.exec(select(Bulletin).where(Bulletin.title == "Luật Biên phòng Việt Nam")).one()
        assert (row.campaign_id, row.theme_id) == (aired.campaign_id, law)
    wrong = client.post(
        "/bulletins/new",
        data={
            "csrf_token": csrf_of(form.text),
            "title": "Sai nội dung",
            "priority": "normal",
            "campaign_theme": f"{aired.campaign_id}-{aired.themes['giao-luu'] + 100}",
            "text": "Nội dung.",
        },
    )
    assert wrong.status_code == 422
    assert "không thuộc chiến dịch" in wrong.text
    province = login("bientap.laocai")
    listed = province.get(f"/bulletins?campaign_theme={aired.campaign_id}-{law}").text
    assert "Luật Biên phòng Việt Nam" in listed and "Giao lưu hữu nghị" not in listed
    whole = province.get(f"/bulletins?campaign_theme={aired.campaign_id}").text
    assert "Luật Biên phòng Việt Nam" in whole and "Giao lưu hữu nghị" in whole


def test_the_schedule_form_offers_only_a_themes_approved_bulletins(
    login: Login, aired: Aired
) -> None:
    client = login("bientap.laocai")
    everything = client.get("/schedule/new").text
    assert "Luật Biên giới quốc gia" in everything and "Giao lưu hữu nghị" in everything
    law = client.get(
        f"/schedule/new?campaign_theme={aired.campaign_id}-{aired.themes['phap-luat']}"
    ).text
    options = law.split('id="f-bulletin_ids"')[1].split("</select>")[0]
    assert "Luật Biên giới quốc gia" in options and "Giao lưu hữu nghị" not in options
    assert f'value="{aired.campaign_id}-{aired.themes["phap-luat"]}" selected' in law


def test_the_weeks_summary_counts_only_the_last_seven_days(
    login: Login, aired: Aired, client: TestClient
) -> None:
    page = login("bientap.batxat")
    client.app.state.clock = lambda: T0 + timedelta(days=8)  # type: ignore[attr-defined]
    whole = " ".join(_text(page.get(f"/campaigns/{aired.campaign_id}").text).split())
    assert "Tiến độ từ 01/03/2031 đến 09/03/2031" in whole
    week = " ".join(_text(page.get(f"/campaigns/{aired.campaign_id}?week=1").text).split())
    # Nothing aired from 3 to 9 March: both communes of Bát Xát fall behind that week.
    assert "Tiến độ từ 03/03/2031 đến 09/03/2031: 2/2 xã chậm tiến độ" in week
    assert "Từ đầu chiến dịch" in week
