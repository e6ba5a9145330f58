"""Dispatch sends what can air and never sends or counts what cannot.

A bulletin edited after it was scheduled, a programme blocked by a missing language,
bulletins over the slot's time budget: real bulletins with real audio, the service's own
programme builder, real SQLite; what the author reads through REST and the console.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.delivery.models import Delivery
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence, OccurrenceState
from stations.models import Area, Station
from tests.audio import approved_bulletin, ensure_user, tone_recording, version_audio
from tests.console.conftest import csrf_of
from tests.utils import TEST_PASSWORD, Headers, UserFactory
from tts import Synthesizer

T0 = datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)  # 06:00 in Hà Nội time
DUE = T0 - timedelta(minutes=30)  # the lookahead: when airing 1 is dispatched
EDITOR = "bientap.tinh"
builder = default_programme_builder


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """The province editor who schedules the broadcasts (and reads their status)."""
    return make_user(Role.editor, "10", username=EDITOR)


@pytest.fixture
def bulletins(
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> list[int]:
    """Two province bulletins, each a real 2-second Vietnamese recording (distinct tones)."""
    with transaction(engine) as ses:
        approver = ensure_user(ses, "duyet.tinh", Role.approver, "10")
    return [
        approved_bulletin(
            engine,
            settings,
            offline_speech,
            title=title,
            area_code="10",
            author="admin",
            approver=approver,
            recordings={"vi": tone_recording(tmp_path / f"{n}.mp3", freq=400 + 200 * n)},
        )
        for n, title in enumerate(("Phòng chống cháy rừng", "Tiêm chủng mở rộng"))
    ]


def schedule(
    client: TestClient,
    headers: Headers,
    bulletin_ids: list[int],
    areas: list[str],
    rrule: str | None = None,
) -> int:
    body = {"bulletin_ids": bulletin_ids, "area_codes": areas, "starts_at": T0.isoformat()}
    if rrule:
        body["rrule"] = rrule
    answer = client.post("/api/v1/broadcasts", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def station_id(engine: Engine, area_code: str) -> int:
    with Session(engine) as ses:
        return ses.exec(select(Station.id).join(Area).where(Area.code == area_code)).one() or 0


def rows_of(engine: Engine, broadcast_id: int) -> list[Delivery]:
    with Session(engine) as ses:
        return list(
            ses.exec(
                select(Delivery)
                .where(Delivery.broadcast_id == broadcast_id)
                .order_by(col(Delivery.id))
            ).all()
        )


def airings_of(engine: Engine, broadcast_id: int) -> list[Occurrence]:
    with Session(engine) as ses:
        return list(
            ses.exec(
                select(Occurrence)
                .where(Occurrence.broadcast_id == broadcast_id)
                .order_by(col(Occurrence.seq))
            ).all()
        )


def console_as(client: TestClient, username: str) -> TestClient:
    """Sign in through the console's login form."""
    client.cookies.clear()
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={"username": username, "password": TEST_PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def page_text(html: str) -> str:
    """What a person reads on a page: the text without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_bulletin_edited_after_scheduling_is_not_sent_and_not_counted(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    admin_headers: Headers,
    bulletins: list[int],
) -> None:
    first = bulletins[0]
    bid = schedule(client, editor, [first], ["082", "083"])  # Y Tý, A Mú Sung, Pha Long
    edited = client.patch(
        f"/api/v1/bulletins/{first}", json={"title": "Phòng chống cháy rừng mùa khô"},
        headers=admin_headers,
    )  # fmt: skip
    assert edited.status_code == 200 and edited.json()["status"] == "draft"

    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=DUE) == (1, 6)
    rows = rows_of(engine, bid)
    # Nothing airable: no command for any receiver, nothing for the legacy station.
    assert {r.state for r in rows} == {"no_content"}
    assert all(r.payload is None and r.sent_at is None for r in rows)
    assert all("changed after its approval" in (r.detail or "") for r in rows)
    (airing,) = airings_of(engine, bid)
    assert airing.state == OccurrenceState.no_content and airing.settled
    assert airing.detail and "changed after its approval" in airing.detail
    # Never retried, and no deadline turns it into anything else.
    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=DUE) == (0, 0)
    apply_deadlines(engine=engine, settings=settings, now=T0 + timedelta(hours=2))
    assert {r.state for r in rows_of(engine, bid)} == {"no_content"}

    status = client.get(f"/api/v1/broadcasts/{bid}/status", headers=editor).json()
    assert status["counts"] == {"no_content": 6} and status["aired"] == 0
    assert [(o["seq"], o["state"]) for o in status["occurrences"]] == [(1, "no_content")]
    assert "changed after its approval" in status["occurrences"][0]["detail"]
    assert {d["state"] for d in status["deliveries"]} == {"no_content"}
    shown = client.get(f"/api/v1/broadcasts/{bid}", headers=editor).json()
    assert shown["occurrences"][0]["state"] == "no_content"
    assert shown["occurrences"][0]["detail"] == status["occurrences"][0]["detail"]

    # The author sees it on the home page and on the broadcast's status page, in Vietnamese.
    console = console_as(client, EDITOR)
    home = page_text(console.get("/").text)
    assert "Không có nội dung để phát" in home and "đã bị sửa sau khi duyệt" in home
    assert f'href="/broadcasts/{bid}"' in console.get("/").text
    page = page_text(console.get(f"/broadcasts/{bid}").text)
    assert "Không có nội dung để phát: bản tin" in page
    assert "đã bị sửa sau khi duyệt" in page
    assert "changed after" not in page


def test_a_programme_blocked_by_a_missing_language_is_not_sent(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    bulletins: list[int],
) -> None:
    strict = settings.model_copy(update={"programme_require_all_languages": True})
    amu = station_id(engine, "02659")
    with transaction(engine) as ses:
        station = ses.get(Station, amu)
        assert station is not None
        station.languages = ["vi"]  # A Mú Sung now airs Vietnamese only: nothing missing
        ses.add(station)
    mixed = schedule(client, editor, [bulletins[0]], ["082"])
    only_yty = schedule(client, editor, [bulletins[1]], ["02680"])
    dispatch_due(engine=engine, settings=strict, builder=builder, now=DUE)

    yty = station_id(engine, "02680")
    rows = rows_of(engine, mixed)
    blocked = [r for r in rows if r.station_id == yty]
    assert len(blocked) == 3 and {r.state for r in blocked} == {"blocked"}
    assert all(r.payload is None and "'hmn'" in (r.detail or "") for r in blocked)
    sent = [r for r in rows if r.station_id == amu]
    assert {r.state for r in sent} == {"queued"} and all(r.payload for r in sent)
    (airing,) = airings_of(engine, mixed)
    assert airing.state == OccurrenceState.dispatched and "hmn" in (airing.detail or "")
    # An airing whose every station is blocked sends nothing at all.
    (alone,) = airings_of(engine, only_yty)
    assert alone.state == OccurrenceState.no_content and alone.detail
    assert {r.state for r in rows_of(engine, only_yty)} == {"blocked"}

    status = client.get(f"/api/v1/broadcasts/{mixed}/status", headers=editor).json()
    assert status["counts"] == {"blocked": 3, "queued": 2}
    console = console_as(client, EDITOR)
    page = page_text(console.get(f"/broadcasts/{mixed}").text)
    assert "Bị chặn" in page and "hmn" in page
    home = page_text(console.get("/").text)
    assert "Bị chặn" in home and "Đài truyền thanh xã Y Tý" in home


def test_bulletins_over_the_time_budget_are_carried_to_the_next_airing(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    bulletins: list[int],
) -> None:
    # Room for one 2-second bulletin: the second (2 s + the 1 s gap) does not fit.
    tight = settings.model_copy(update={"programme_max_minutes": 3 / 60})
    first, second = bulletins
    audio = {b: version_audio(engine, b, "vi").audio_sha256 for b in bulletins}
    bid = schedule(
        client, editor, bulletins, ["02680", "02743"], rrule="FREQ=DAILY;BYHOUR=6;COUNT=2"
    )
    yty, pha_long = station_id(engine, "02680"), station_id(engine, "02743")

    dispatch_due(engine=engine, settings=tight, builder=builder, now=DUE)
    one, two = airings_of(engine, bid)
    assert one.overflow == {str(yty): [second], str(pha_long): [second]}
    command = json.loads(next(r.payload for r in rows_of(engine, bid) if r.payload) or "{}")
    assert [i["sha256"] for i in command["items"]] == [audio[first]]

    # The next airing of the same broadcast airs the carried bulletin first, then its own.
    dispatch_due(engine=engine, settings=tight, builder=builder, now=DUE + timedelta(days=1))
    one, two = airings_of(engine, bid)
    assert two.state == OccurrenceState.dispatched
    second_rows = [r for r in rows_of(engine, bid) if r.occurrence_id == two.id and r.payload]
    command = json.loads(second_rows[0].payload or "{}")
    assert [i["sha256"] for i in command["items"]] == [audio[second]]
    # What did not fit in the last airing is shown as not aired, with the reason.
    assert two.overflow == {str(yty): [first], str(pha_long): [first]}
    assert two.detail and "no next airing" in two.detail

    shown = client.get(f"/api/v1/broadcasts/{bid}", headers=editor).json()
    assert shown["occurrences"][0]["overflow"] == {str(yty): [second], str(pha_long): [second]}
    console = console_as(client, EDITOR)
    page = page_text(console.get(f"/broadcasts/{bid}").text)
    assert "chuyển sang lượt sau" in page
    assert "không còn lượt phát sau: không được phát" in page


def test_an_airing_that_cannot_be_dispatched_is_given_up_at_its_expiry(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    bulletins: list[int],
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the fault is a SQLite trigger")
    bid = schedule(client, editor, [bulletins[0]], ["02680"])
    with engine.begin() as connection:  # a real database fault on every delivery row
        connection.execute(
            text(
                "CREATE TRIGGER refuse_delivery BEFORE INSERT ON delivery "
                "BEGIN SELECT RAISE(ABORT, 'refused by the refuse_delivery trigger'); END"
            )
        )
    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=DUE) == (0, 0)
    assert airings_of(engine, bid)[0].state == OccurrenceState.pending  # tried again later
    expired = T0 + timedelta(minutes=settings.programme_expiry_minutes)
    dispatch_due(engine=engine, settings=settings, builder=builder, now=expired)
    (airing,) = airings_of(engine, bid)
    assert airing.state == OccurrenceState.no_content and airing.settled
    assert airing.detail and "refused by the refuse_delivery trigger" in airing.detail
    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=expired) == (0, 0)


def test_an_edited_bulletin_is_left_out_and_the_rest_of_the_programme_airs(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    admin_headers: Headers,
    bulletins: list[int],
) -> None:
    edited, kept = bulletins
    bid = schedule(client, editor, bulletins, ["02680"])
    answer = client.patch(
        f"/api/v1/bulletins/{edited}", json={"priority": "priority"}, headers=admin_headers
    )
    assert answer.json()["status"] == "draft"
    dispatch_due(engine=engine, settings=settings, builder=builder, now=DUE)
    rows = rows_of(engine, bid)
    assert {r.state for r in rows} == {"queued"}
    command = json.loads(rows[0].payload or "{}")
    assert [i["sha256"] for i in command["items"]] == [
        version_audio(engine, kept, "vi").audio_sha256
    ]
    (airing,) = airings_of(engine, bid)
    assert airing.state == OccurrenceState.dispatched
    assert airing.detail and airing.detail.startswith(f"Left out: bulletin {edited} ")
    page = page_text(console_as(client, EDITOR).get(f"/broadcasts/{bid}").text)
    assert f"Không phát: bản tin {edited} «Phòng chống cháy rừng» đã bị sửa sau khi duyệt" in page
