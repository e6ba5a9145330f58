"""The scheduling form reads times in plain words and explains, in Vietnamese, what it refused."""

from __future__ import annotations

import html
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.schedule.models import Broadcast, Occurrence
from stations.timeutil import as_utc
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def _next_monday() -> date:
    day = date.today() + timedelta(days=3)
    return day + timedelta(days=-day.weekday() % 7)


def _post(login: Login, engine: Engine, when: str, first_day: date, until: date) -> str:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    csrf = csrf_of(client.get("/schedule/new").text)
    answer = client.post(
        "/schedule/new",
        data={
            "bulletin_ids": [str(bulletin)],
            "area_codes": ["02680"],
            "first_day": first_day.isoformat(),
            "until": until.isoformat(),
            "when": when,
            "priority": "normal",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert answer.status_code == (303 if answer.status_code == 303 else 422)
    return html.unescape(answer.text) if answer.status_code == 422 else answer.headers["location"]


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        ("mỗi tuần 2 buổi", "“mỗi tuần 2 buổi” chưa nói rõ phát vào những ngày nào, giờ nào"),
        ("hằng tuần lúc 6:00", "“hằng tuần” chưa nói rõ phát vào những ngày nào"),
        ("hằng ngày lúc 6:00 cách tuần", "Không hiểu: 'cách tuần'"),
        ("hằng ngày lúc 6:00 trừ chủ nhật", "Không hiểu: 'trừ'"),
        ("lúc 25:00", "“25:00” không phải giờ hợp lệ"),
        ("3 giờ tối", "“3 giờ tối” không phải giờ hợp lệ: “tối” chỉ đi với giờ 6-11, 18-23"),
        ("31/2 lúc 6:00", "“31/2” không phải ngày hợp lệ"),
        ("ngày 10/12 và 15/12 lúc 6:00", "Chỉ ghi được một ngày"),
        ("thứ hai ngày 10/12/2030 lúc 7h", "Ngày 10/12/2030 là “thứ ba”, không phải “thứ hai”"),
        ("cách ngày thứ hai lúc 6:00", "Không ghi được “cách ngày” cùng với “thứ hai”"),
        ("chủ nhật lúc 6:00", "Không có ngày nào đã chọn nằm trong thời gian phát"),
        ("lúc 6:00 " * 60, "Nội dung giờ phát dài quá 500 ký tự"),
    ],
)
def test_the_form_says_in_vietnamese_which_words_it_refused(
    login: Login, engine: Engine, when: str, shown: str
) -> None:
    monday = _next_monday()
    page = _post(login, engine, when, monday, monday + timedelta(days=2))
    assert shown in page
    assert "Không thực hiện được" not in page  # not the untranslated fallback
    with Session(engine) as ses:
        assert ses.exec(select(Broadcast)).all() == []


def test_a_first_day_no_calendar_holds_is_refused_not_a_server_error(
    login: Login, engine: Engine
) -> None:
    page = _post(login, engine, "hằng ngày lúc 6:00", date(1, 1, 1), date(1, 1, 2))
    assert "Ngày phải nằm trong khoảng 1970-01-02 đến 9998-12-31" in page


def test_weekdays_with_different_minutes_air_at_those_times_only(
    login: Login, engine: Engine
) -> None:
    monday = _next_monday()
    location = _post(
        login, engine, "thứ 2 đến thứ 6 lúc 6:00 và 17:30", monday, monday + timedelta(days=11)
    )
    assert location.startswith("/broadcasts/")
    with Session(engine) as ses:
        airs = [as_utc(o.air_at).astimezone(ZONE) for o in ses.exec(select(Occurrence)).all()]
    assert len(airs) == 20  # two weeks of five days, twice a day
    assert {a.strftime("%H:%M") for a in airs} == {"06:00", "17:30"}
    assert {a.weekday() for a in airs} == {0, 1, 2, 3, 4}
