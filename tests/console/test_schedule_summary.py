"""Schedules on the console are shown in Vietnamese words, and previewed before saving.

The broadcast page says "Hằng tuần vào Thứ Hai và Thứ Năm, 06:00 và 17:30, …" and no
page shows an RRULE; the scheduling form shows the summary and the first five airings
(dd/mm/yyyy HH:MM) of what was typed, with the *Xem trước* button or as the fields
change, and a preview saves nothing.
"""

from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.schedule.models import Broadcast
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import LiveServer, Login, csrf_of, shoot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
WHEN = "thứ hai và thứ năm lúc 6:00 và 17:30"


def _today() -> date:
    return datetime.now(ZONE).date()


def _next_monday() -> date:
    day = _today() + timedelta(days=3)
    return day + timedelta(days=-day.weekday() % 7)


def _dmy(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _expected(monday: date) -> tuple[str, list[str]]:
    """The summary and first five airings of WHEN from `monday` to the Thursday after next."""
    last = monday + timedelta(days=10)
    short = monday.year == _today().year  # a campaign of this year is dated without years
    dates = f"{monday:%d/%m} đến {last:%d/%m}" if short else f"{_dmy(monday)} đến {_dmy(last)}"
    summary = f"Hằng tuần vào Thứ Hai và Thứ Năm, 06:00 và 17:30, từ {dates}, 8 lượt"
    thursday = monday + timedelta(days=3)
    firsts = [
        f"{_dmy(monday)} 06:00",
        f"{_dmy(monday)} 17:30",
        f"{_dmy(thursday)} 06:00",
        f"{_dmy(thursday)} 17:30",
        f"{_dmy(monday + timedelta(days=7))} 06:00",
    ]
    return summary, firsts


def _text(page: str) -> str:
    """What a person reads: the page without its tags."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _form(client: TestClient, bulletin: int, monday: date, action: str) -> dict[str, object]:
    return {
        "bulletin_ids": [str(bulletin)],
        "area_codes": ["02680"],
        "first_day": _dmy(monday),
        "until": _dmy(monday + timedelta(days=10)),
        "when": WHEN,
        "priority": "normal",
        "action": action,
        "csrf_token": csrf_of(client.get("/schedule/new").text),
    }


def _broadcasts(engine: Engine) -> list[Broadcast]:
    with Session(engine) as ses:
        return list(ses.exec(select(Broadcast)).all())


def test_the_preview_button_shows_the_first_airings_and_saves_nothing(
    login: Login, engine: Engine
) -> None:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    monday = _next_monday()
    answer = client.post("/schedule/new", data=_form(client, bulletin, monday, "preview"))
    assert answer.status_code == 200
    summary, firsts = _expected(monday)
    shown = _text(answer.text)
    assert summary in shown
    for airing in firsts:
        assert airing in shown
    sixth = f"{_dmy(monday + timedelta(days=7))} 17:30"
    assert sixth not in shown  # five airings, then how many more
    assert "… và 3 lượt nữa" in shown
    assert "FREQ=" not in answer.text
    assert _broadcasts(engine) == []
    # The form comes back as typed, dates as dd/mm/yyyy.
    assert f'value="{_dmy(monday)}"' in answer.text


def test_a_preview_of_a_refused_phrase_says_why_and_saves_nothing(
    login: Login, engine: Engine
) -> None:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    data = _form(client, bulletin, _next_monday(), "preview") | {"when": "mỗi tuần 2 buổi"}
    answer = client.post("/schedule/new", data=data)
    assert answer.status_code == 422
    assert "chưa nói rõ phát vào những ngày nào, giờ nào" in _text(answer.text)
    assert "Chưa xem trước được" in _text(answer.text)
    assert _broadcasts(engine) == []


def test_the_preview_follows_the_fields_as_typed(login: Login, engine: Engine) -> None:
    client = login("bientap.batxat")
    monday = _next_monday()
    query = {"when": WHEN, "first_day": _dmy(monday), "until": _dmy(monday + timedelta(days=10))}
    answer = client.get("/schedule/preview", params=query)
    assert answer.status_code == 200
    summary, firsts = _expected(monday)
    assert summary in _text(answer.text)
    assert all(a in _text(answer.text) for a in firsts)
    wrong = client.get("/schedule/preview", params=query | {"first_day": "31/02/2026"})
    assert "Ngày không hợp lệ (dạng ngày/tháng/năm, ví dụ 01/12/2026)" in _text(wrong.text)
    assert _broadcasts(engine) == []


def test_the_new_form_previews_its_example_at_once(login: Login) -> None:
    page = _text(login("bientap.batxat").get("/schedule/new").text)
    today = _today()
    assert f"{_dmy(today)}" in page  # the first day, typed as dd/mm/yyyy
    assert "Hằng ngày 06:00 và 17:00, từ " in page
    assert "5 lượt phát đầu tiên" in page


def test_operators_do_not_preview_schedules(login: Login) -> None:
    client = login("vanhanh.yty")
    assert client.get("/schedule/preview", params={"when": WHEN}).status_code == 403


def test_the_broadcast_page_shows_the_schedule_in_words_and_no_rule_anywhere(
    login: Login, engine: Engine
) -> None:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    monday = _next_monday()
    saved = client.post(
        "/schedule/new", data=_form(client, bulletin, monday, "save"), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    url = saved.headers["location"].split("?")[0]
    (broadcast,) = _broadcasts(engine)
    assert broadcast.rrule and "FREQ=" in broadcast.rrule  # stored as a rule ...
    summary, _firsts = _expected(monday)
    page = client.get(url)
    assert f"Lịch: {summary}" in _text(page.text)  # ... shown in words
    week = f"/schedule?week={monday.isoformat()}"
    for path in (url, f"{url}/live", "/", "/schedule", week, "/schedule/new", "/operator"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "FREQ=" not in answer.text and "RRULE" not in answer.text, path


def test_a_one_off_broadcast_says_once_with_its_date(login: Login, engine: Engine) -> None:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    monday = _next_monday()
    data = _form(client, bulletin, monday, "save") | {"when": "lúc 7:15", "until": ""}
    saved = client.post("/schedule/new", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    page = _text(client.get(saved.headers["location"]).text)
    assert f"Lịch: Một lần lúc 07:15 ngày {_dmy(monday)}" in page


# --- in a real Chromium, on a phone -----------------------------------------------------------


@pytest.mark.browser
def test_a_phone_previews_a_schedule_as_it_is_typed_then_saves_it(
    live_server: LiveServer, chromium: Browser
) -> None:
    bulletin = approved_bulletin(live_server.engine, "082", "Lịch tiêm chủng")
    context = chromium.new_context(
        base_url=live_server.base_url,
        viewport={"width": 390, "height": 844},
        locale="en-US",  # dates stay dd/mm/yyyy whatever the browser's language
        timezone_id="America/New_York",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, "bientap.batxat")
    page.goto("/schedule/new")
    monday = _next_monday()
    summary, firsts = _expected(monday)
    page.select_option("#f-bulletin_ids", str(bulletin))
    page.fill("#f-first_day", _dmy(monday))
    page.fill("#f-until", _dmy(monday + timedelta(days=10)))
    page.fill("#f-when", WHEN)
    # The preview follows the typing, without a click.
    page.wait_for_function(
        "expected => document.querySelector('#preview-summary')?.innerText === expected",
        arg=summary,
    )
    assert page.locator("#preview-airings li .airing").all_inner_texts() == firsts
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _broadcasts(live_server.engine) == []
    shoot(page, "lich-xem-truoc")
    # The button previews too, and still saves nothing.
    page.click("button:has-text('Xem trước')")
    page.wait_for_load_state()
    assert page.inner_text("#preview-summary") == summary
    assert _broadcasts(live_server.engine) == []
    page.click("button:has-text('Lên lịch')")
    page.wait_for_url("**/broadcasts/*")
    assert page.inner_text("#schedule-text") == f"Lịch: {summary}"
    assert "FREQ=" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "lich-phat-bang-loi")
    context.close()
