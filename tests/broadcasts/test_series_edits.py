"""Editing a series as calendars do: this airing, this and the following ones, or all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import publish_cancels
from broadcast.people.models import Role
from broadcast.schedule.service import air_times
from stations.models import Area, Station
from stations.protocol import Topics
from stations.timeutil import utcnow
from tests.audio import approved_bulletin, ensure_user
from tests.broadcasts.conftest import Wire
from tests.broadcasts.test_broadcasts import _send, deliveries, receivers_in
from tests.utils import Headers, UserFactory
from tts import Synthesizer

DAY = timedelta(days=1)


def _tomorrow_at(settings: Settings, hour: int) -> datetime:
    tomorrow = (utcnow() + DAY).astimezone(settings.zone).date()
    return datetime.combine(tomorrow, time(hour), tzinfo=settings.zone).astimezone(UTC)


def _series(client: TestClient, editor: Headers, bulletin_id: int, start: datetime) -> int:
    body = {
        "bulletin_ids": [bulletin_id],
        "area_codes": ["02680"],
        "starts_at": start.isoformat(),
        "rrule": "FREQ=DAILY;COUNT=5",
        "title": "Luật biên phòng",
    }
    created = client.post("/api/v1/broadcasts", json=body, headers=editor)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _show(client: TestClient, headers: Headers, bid: int) -> dict[str, Any]:
    shown = client.get(f"/api/v1/broadcasts/{bid}", headers=headers)
    assert shown.status_code == 200, shown.text
    return dict(shown.json())


def _times(detail: dict[str, Any]) -> list[datetime]:
    return [datetime.fromisoformat(o["air_at"]) for o in detail["occurrences"]]


def test_this_and_following_airings_move_to_a_new_time_and_more_areas(
    client: TestClient, settings: Settings, make_user: UserFactory, bulletin: int
) -> None:
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    bid = _series(client, editor, bulletin, start)
    body = {
        "scope": "following",
        "seq": 3,
        "starts_at": (start + 2 * DAY + timedelta(hours=1)).isoformat(),
        "area_codes": ["02680", "02800"],
    }
    edited = client.patch(f"/api/v1/broadcasts/{bid}", json=body, headers=editor)
    assert edited.status_code == 200, edited.text
    new = edited.json()
    assert new["id"] != bid
    assert (new["edited_from_id"], new["edited_from_seq"]) == (bid, 3)
    assert new["replaced_airings"] == [3, 4, 5] and new["cancelled_deliveries"] == 0
    # The same daily series, an hour later, from the third day to the fifth.
    assert _times(new) == [start + n * DAY + timedelta(hours=1) for n in (2, 3, 4)]
    assert sorted(new["area_codes"]) == ["02680", "02800"]
    assert new["bulletin_ids"] == [bulletin] and new["title"] == "Luật biên phòng"

    original = _show(client, editor, bid)
    assert [o["state"] for o in original["occurrences"]] == ["pending"] * 2 + ["cancelled"] * 3
    assert original["replaced_by_ids"] == [new["id"]]
    assert original["status"] == "scheduled"
    # Its wording counts the two airings it keeps, and says the others apart.
    assert original["schedule_text"].endswith(", 2 lượt (3 lượt đã hủy hoặc chuyển)")
    assert original["occurrence_count"] == 5
    assert new["schedule_text"].endswith(", 3 lượt")
    # Its rule now ends before the third day.
    assert "COUNT" not in original["rrule"]
    assert air_times(starts_at=start, rule=original["rrule"], zone=settings.zone) == [
        start,
        start + DAY,
    ]

    # The station's calendar shows the cut series and the new one.
    with Session(client.app.state.engine) as ses:  # type: ignore[attr-defined]
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
    feed = client.get(f"/api/v1/stations/{station.id}/schedule.ics", headers=editor).text
    events = {
        str(e["uid"]).split(".station-")[0]: e for e in Calendar.from_ical(feed).walk("VEVENT")
    }
    assert str(events[f"{bid}.3"]["status"]) == "CANCELLED"
    assert str(events[f"{new['id']}.1"]["status"]) == "CONFIRMED"
    assert events[f"{new['id']}.1"].decoded("dtstart") == start + 2 * DAY + timedelta(hours=1)


def test_a_series_whose_rule_names_its_hour_moves_to_the_new_time(
    client: TestClient, settings: Settings, make_user: UserFactory, bulletin: int
) -> None:
    """A daily 6:00 series written with BYHOUR/BYMINUTE, moved to 6:30 from its third day,
    airs at 6:30 on the third to fifth days, never again at 6:00."""
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    body = {
        "bulletin_ids": [bulletin],
        "area_codes": ["02680"],
        "starts_at": start.isoformat(),
        "rrule": "FREQ=DAILY;BYHOUR=6;BYMINUTE=0;COUNT=5",
    }
    created = client.post("/api/v1/broadcasts", json=body, headers=editor)
    assert created.status_code == 201, created.text
    bid = created.json()["id"]
    later = start + 2 * DAY + timedelta(minutes=30)
    for scope, seq in (("following", 3), ("all", None)):
        edit: dict[str, Any] = {"scope": scope, "starts_at": later.isoformat()}
        if seq:
            edit["seq"] = seq
        edited = client.patch(f"/api/v1/broadcasts/{bid}", json=edit, headers=editor)
        assert edited.status_code == 200, edited.text
        new = edited.json()
        assert _times(new) == [later + n * DAY for n in range(3)], scope
        bid = new["id"]


def test_a_twice_daily_series_moved_later_moves_both_of_its_hours(
    client: TestClient, settings: Settings, make_user: UserFactory, bulletin: int
) -> None:
    """BYHOUR=6,17 at :00, moved to 7:30 from its third airing: the rest air at 7:30 and
    18:30 (both hours move by as much), never at 6:00 or 17:00 again."""
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    body = {
        "bulletin_ids": [bulletin],
        "area_codes": ["02680"],
        "starts_at": start.isoformat(),
        "rrule": "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;COUNT=6",
    }
    created = client.post("/api/v1/broadcasts", json=body, headers=editor)
    assert created.status_code == 201, created.text
    evening = timedelta(hours=11)
    assert _times(created.json()) == [
        start + n * DAY + part for n in range(3) for part in (timedelta(0), evening)
    ]
    later = start + DAY + timedelta(hours=1, minutes=30)
    edit = {"scope": "following", "seq": 3, "starts_at": later.isoformat()}
    edited = client.patch(f"/api/v1/broadcasts/{created.json()['id']}", json=edit, headers=editor)
    assert edited.status_code == 200, edited.text
    assert _times(edited.json()) == [
        later + n * DAY + part for n in range(2) for part in (timedelta(0), evening)
    ]


def test_one_airing_already_sent_gets_a_cancel_then_the_new_version(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
    offline_speech: Synthesizer,
) -> None:
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    bid = _series(client, editor, bulletin, start)
    topics = Topics(settings.mqtt_topic_prefix)
    yty = receivers_in(engine, "02680")
    sent = _send(engine, settings, wire, start - timedelta(minutes=30))
    assert sorted(t for t, _ in sent) == sorted(topics.cmd(r) for r in yty)

    with transaction(engine) as ses:
        ensure_user(ses, "duyet.tinh", Role.approver, "10")
    other = approved_bulletin(
        engine,
        settings,
        offline_speech,
        title="Phòng chống lũ quét",
        area_code="10",
        author="admin",
        approver="duyet.tinh",
        texts={"vi": "Bà con không qua suối khi nước lên."},
    )
    body = {"scope": "this", "seq": 1, "bulletin_ids": [other]}
    edited = client.patch(f"/api/v1/broadcasts/{bid}", json=body, headers=editor)
    assert edited.status_code == 200, edited.text
    new = edited.json()
    assert new["replaced_airings"] == [1] and new["cancelled_deliveries"] == len(yty)
    assert _times(new) == [start] and new["rrule"] is None and new["bulletin_ids"] == [other]
    original = _show(client, editor, bid)
    assert [o["state"] for o in original["occurrences"]] == ["cancelled"] + ["pending"] * 4
    assert original["rrule"] == "FREQ=DAILY;COUNT=5"  # one airing taken out, the rule stays

    # Receivers that had the old programme get its cancel, then the new broadcast's.
    assert publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=start) == 3
    cancels = wire.sent()
    assert {json.loads(p)["type"] for _, p in cancels} == {"cancel"}
    assert {json.loads(p)["broadcast_id"] for _, p in cancels} == {f"{bid}.1"}
    again = _send(engine, settings, wire, start - timedelta(minutes=29))
    commands = [json.loads(p) for _, p in again]
    assert sorted(t for t, _ in again) == sorted(topics.cmd(r) for r in yty)
    assert {c["broadcast_id"] for c in commands} == {f"{new['id']}.1"}
    assert all(c["type"] == "programme" for c in commands)
    states = {d.state for d in deliveries(engine, bid).values()}
    assert states == {"cancelled"}


def test_all_airings_to_come_keep_what_has_aired(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    bid = _series(client, editor, bulletin, start)
    _send(engine, settings, wire, start - timedelta(minutes=30))
    # The first airing's time has passed: it is the as-run record, not to be edited.
    client.app.state.clock = lambda: start + timedelta(hours=2)  # type: ignore[attr-defined]
    body = {"scope": "all", "starts_at": (start + DAY + timedelta(hours=11)).isoformat()}
    edited = client.patch(f"/api/v1/broadcasts/{bid}", json=body, headers=editor)
    assert edited.status_code == 200, edited.text
    new = edited.json()
    assert new["replaced_airings"] == [2, 3, 4, 5] and new["edited_from_seq"] == 2
    assert _times(new) == [start + n * DAY + timedelta(hours=11) for n in (1, 2, 3, 4)]
    original = _show(client, editor, bid)
    assert [o["state"] for o in original["occurrences"]] == ["dispatched"] + ["cancelled"] * 4
    assert {d.state for d in deliveries(engine, bid).values()} == {"sent"}

    # Nothing left to edit of the original; the new one edits again as a whole.
    nothing = client.patch(f"/api/v1/broadcasts/{bid}", json={"scope": "all"}, headers=editor)
    assert nothing.status_code == 409 and nothing.json()["reason"] == "series.nothing_to_edit"
    once = client.patch(
        f"/api/v1/broadcasts/{new['id']}", json={"scope": "all", "rrule": None}, headers=editor
    )
    assert once.status_code == 200, once.text
    assert len(once.json()["occurrences"]) == 1
    assert _show(client, editor, new["id"])["status"] == "cancelled"  # all replaced


def test_edits_are_checked_and_scoped(
    client: TestClient, settings: Settings, make_user: UserFactory, bulletin: int
) -> None:
    editor = make_user(Role.editor, "10")
    start = _tomorrow_at(settings, 6)
    bid = _series(client, editor, bulletin, start)
    url = f"/api/v1/broadcasts/{bid}"

    def patch(body: dict[str, Any], headers: Headers = editor) -> tuple[int, str]:
        answer = client.patch(url, json=body, headers=headers)
        return answer.status_code, answer.json().get("reason", "")

    assert patch({"scope": "all"}, make_user(Role.operator, "02680"))[0] == 403
    assert patch({"scope": "all"}, make_user(Role.editor, "083"))[0] == 404
    assert patch({"scope": "following"}) == (422, "series.seq_required")
    assert patch({"scope": "this", "seq": 9}) == (404, "broadcast.airing_not_found")
    assert patch({"scope": "all", "rrule": "FREQ=DAILY"}) == (422, "rrule.endless")
    assert patch({"scope": "all", "bulletin_ids": []})[0] == 422
    assert patch({"scope": "sometimes"})[0] == 422
    assert client.post(f"{url}/airings/2/cancel", headers=editor).status_code == 200
    assert patch({"scope": "this", "seq": 2}) == (409, "series.airing_not_editable")
    # A refused edit changes nothing.
    shown = _show(client, editor, bid)
    assert [o["state"] for o in shown["occurrences"]].count("cancelled") == 1
    assert shown["replaced_by_ids"] == []
    assert client.post(f"{url}/cancel", headers=editor).status_code == 200
    assert patch({"scope": "all"}) == (409, "series.cancelled")
