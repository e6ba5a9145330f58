"""POST /api/v1/schedule/parse: what a phrase in plain words means, as broadcasts will air it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from broadcast.people.models import Role
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.utils import Headers, UserFactory

URL = "/api/v1/schedule/parse"


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the district Bát Xát (082)."""
    return make_user(Role.editor, "082")


def test_a_phrase_gives_its_rule_and_first_airings(
    client: TestClient, make_user: UserFactory, demo: dict[str, str]
) -> None:
    body = {"text": "thứ 2 đến thứ 6 lúc 6:00 và 17:30", "starts_on": "2026-12-07",
            "until": "2026-12-31"}  # fmt: skip
    answer = client.post(URL, json=body, headers=make_user(Role.operator, "02680"))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["rrule"] == (
        "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,17;BYMINUTE=0,30;BYSECOND=0;"
        "BYSETPOS=1,4;UNTIL=20261231T165959Z"
    )
    assert found["times"] == ["06:00", "17:30"]
    assert found["weekdays"] == ["MO", "TU", "WE", "TH", "FR"]
    assert found["starts_at"] == "2026-12-07T06:00:00+07:00"
    assert found["first_airings"] == [
        "2026-12-07T06:00:00+07:00",
        "2026-12-07T17:30:00+07:00",
        "2026-12-08T06:00:00+07:00",
        "2026-12-08T17:30:00+07:00",
        "2026-12-09T06:00:00+07:00",
        "2026-12-09T17:30:00+07:00",
        "2026-12-10T06:00:00+07:00",
        "2026-12-10T17:30:00+07:00",
        "2026-12-11T06:00:00+07:00",
        "2026-12-11T17:30:00+07:00",
    ]
    assert found["airing_count"] == 2 * 19  # 19 weekdays from 7 to 31 December
    assert found["summary"] == (
        "Hằng tuần từ Thứ Hai đến Thứ Sáu, 06:00 và 17:30, từ 07/12/2026 đến 31/12/2026, 38 lượt"
    )
    assert found["first_airings_text"][:3] == [
        "07/12/2026 06:00",
        "07/12/2026 17:30",
        "08/12/2026 06:00",
    ]
    assert len(found["first_airings_text"]) == len(found["first_airings"])


def test_a_single_airing_has_no_rule(client: TestClient, editor: Headers) -> None:
    body = {"text": "ngày 10/12 lúc 7h", "starts_on": "2026-12-07"}
    found = client.post(URL, json=body, headers=editor).json()
    assert found["rrule"] is None
    assert found["first_airings"] == ["2026-12-10T07:00:00+07:00"]
    assert found["airing_count"] == 1
    assert found["summary"] == "Một lần lúc 07:00 ngày 10/12/2026"
    assert found["first_airings_text"] == ["10/12/2026 07:00"]


def test_the_first_day_is_today_in_hanoi_by_default(client: TestClient, editor: Headers) -> None:
    # 20:00 UTC on 6 December is already 7 December in Hà Nội.
    client.app.state.clock = lambda: datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    found = client.post(URL, json={"text": "lúc 7:15"}, headers=editor).json()
    assert found["first_airings"] == ["2026-12-07T07:15:00+07:00"]


def test_words_not_understood_are_named_in_a_422(client: TestClient, editor: Headers) -> None:
    headers = editor
    body = {"text": "hằng ngày lúc 6:00 trừ chủ nhật", "until": "2026-12-31"}
    answer = client.post(URL, json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid"
    assert answer.json()["detail"].startswith("Words not understood: 'trừ'.")
    answer = client.post(URL, json={"text": "mỗi tuần 2 buổi"}, headers=headers)
    assert answer.status_code == 422
    assert "'mỗi tuần 2 buổi' does not say which days and times" in answer.json()["detail"]


def test_bad_bodies_are_422_never_500(client: TestClient, editor: Headers) -> None:
    headers = editor
    for body in (
        {"text": ""},
        {"text": "lúc 6:00", "starts_on": "0001-01-01", "until": "9999-12-31"},
        {"text": "hằng ngày lúc 6:00", "starts_on": "2026-12-07", "until": "9998-12-31"},
        {"text": "lúc 6:00\x00"},
        {"text": "lúc 6:00", "other": 1},
        {"text": "x" * 501},
    ):
        answer = client.post(URL, json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail"]


def test_signing_in_is_needed(client: TestClient) -> None:
    assert client.post(URL, json={"text": "lúc 6:00"}).status_code == 401


def test_the_airings_are_those_a_broadcast_gets(
    client: TestClient, engine: Engine, editor: Headers
) -> None:
    body = {"text": "cách ngày lúc 6 giờ sáng và 5 giờ rưỡi chiều", "starts_on": "2031-03-03",
            "until": "2031-03-12"}  # fmt: skip
    found = client.post(URL, json=body, headers=editor).json()
    created = client.post(
        "/api/v1/broadcasts",
        json={
            "bulletin_ids": [approved_bulletin(engine, "082", "Phòng chống cháy rừng")],
            "area_codes": ["02680"],
            "starts_at": found["starts_at"],
            "rrule": found["rrule"],
        },
        headers=editor,
    )
    assert created.status_code == 201, created.text
    aired = [datetime.fromisoformat(o["air_at"]) for o in created.json()["occurrences"]]
    assert aired == [datetime.fromisoformat(a) for a in found["first_airings"]]
    assert len(aired) == found["airing_count"] == 10  # 3, 5, 7, 9, 11 March, twice each
    # The broadcast reads back in the same words as the phrase's preview.
    assert (
        created.json()["schedule_text"]
        == found["summary"]
        == ("2 ngày một lần, 06:00 và 17:30, từ 03/03/2031 đến 12/03/2031, 10 lượt")
    )
