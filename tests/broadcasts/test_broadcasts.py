"""Scheduling, dispatch, ingestion, deadlines and the status API.

Commands go through the service's MQTT publisher to the embedded broker, where a client
hears what receivers would get; acknowledgements are fed to the ingestor as messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from sqlmodel import Session, select

from broadcast.bulletins.media import media_url
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import (
    default_programme_builder,
    dispatch_due,
    publish_cancels,
    publish_queued,
    resend_to_online,
)
from broadcast.delivery.ingest import SEEN_WRITE, AckIngestor
from broadcast.delivery.models import Delivery, DeliveryEvent, DeliveryState
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence
from broadcast.schedule.service import air_times
from stations.errors import InvalidInputError
from stations.models import Area, Receiver, Station
from stations.mqtt import Message
from stations.protocol import Topics
from stations.timeutil import as_utc, utcnow
from tests.audio import version_audio
from tests.broadcasts.conftest import Wire
from tests.utils import Headers, UserFactory

ZONE_OFFSET = "+07:00"
T0 = datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)  # 06:00 in Hà Nội time


# The service's own programme builder: programmes hold the bulletin's real audio.
builder = default_programme_builder


def ack(topics: Topics, rid: str, ref: str, state: str, at: datetime, **extra: str) -> Message:
    body = {"broadcast_id": ref, "state": state, "at": at.isoformat(), **extra}
    return Message(topics.ack(rid), json.dumps(body).encode(), 1, False)


def receivers_in(engine: Engine, area_code: str) -> list[str]:
    with Session(engine) as ses:
        return sorted(
            r.id
            for r in ses.exec(
                select(Receiver).join(Station).join(Area).where(Area.code == area_code)
            ).all()
        )


def deliveries(engine: Engine, broadcast_id: int) -> dict[str, Delivery]:
    with Session(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
        return {r.target: r for r in rows}


def test_rrule_is_computed_in_local_time_and_stored_utc(settings: Settings) -> None:
    start = datetime.fromisoformat(f"2031-03-01T06:00:00{ZONE_OFFSET}")
    times = air_times(
        starts_at=start,
        rule="FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;BYSECOND=0;UNTIL=20310302T120000Z",
        zone=settings.zone,
    )
    assert [t.isoformat() for t in times] == [
        "2031-02-28T23:00:00+00:00",
        "2031-03-01T10:00:00+00:00",
        "2031-03-01T23:00:00+00:00",
        "2031-03-02T10:00:00+00:00",
    ]
    with pytest.raises(InvalidInputError, match="never ends"):
        air_times(starts_at=start, rule="FREQ=DAILY", zone=settings.zone)


def test_schedule_permissions_and_scope(
    client: TestClient, make_user: UserFactory, bulletin: int
) -> None:
    body = {
        "bulletin_ids": [bulletin],
        "area_codes": ["02680"],
        "starts_at": f"2031-03-01T06:00:00{ZONE_OFFSET}",
        "rrule": "FREQ=DAILY;BYHOUR=6,17;BYMINUTE=0;COUNT=6",
    }
    operator = make_user(Role.operator, "02680")
    assert client.post("/api/v1/broadcasts", json=body, headers=operator).status_code == 403
    other = make_user(Role.editor, "083")  # Mường Khương cannot target Y Tý
    assert client.post("/api/v1/broadcasts", json=body, headers=other).status_code == 404
    editor = make_user(Role.editor, "10")  # the bulletin is the province's
    created = client.post("/api/v1/broadcasts", json=body, headers=editor)
    assert created.status_code == 201, created.text
    data = created.json()
    assert len(data["occurrences"]) == 6
    assert data["occurrences"][0]["air_at"].startswith("2031-02-28T23:00:00")
    assert data["occurrences"][0]["ref"] == f"{data['id']}.1"
    listed = client.get("/api/v1/broadcasts", headers=operator).json()
    assert [b["id"] for b in listed["items"]] == [data["id"]]
    assert (
        listed["items"][0]["schedule_text"]
        == data["schedule_text"]
        == ("Hằng ngày 06:00 và 17:00, từ 01/03/2031 đến 03/03/2031, 6 lượt")
    )
    assert listed["items"][0]["rrule"] == body["rrule"]  # the rule itself is still given
    assert client.get("/api/v1/broadcasts", headers=other).json()["total"] == 0
    assert client.get(f"/api/v1/broadcasts/{data['id']}", headers=other).status_code == 404
    bad = {**body, "rrule": "FREQ=DAILY"}
    assert client.post("/api/v1/broadcasts", json=bad, headers=editor).status_code == 422


def _schedule(client: TestClient, headers: Headers, bulletin: int, areas: list[str]) -> int:
    body = {"bulletin_ids": [bulletin], "area_codes": areas, "starts_at": T0.isoformat()}
    response = client.post("/api/v1/broadcasts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _send(engine: Engine, settings: Settings, wire: Wire, now: datetime) -> list[tuple[str, bytes]]:
    """Dispatch what is due at `now` and publish its commands; what receivers got."""
    dispatch_due(engine=engine, settings=settings, builder=builder, now=now)
    topics = Topics(settings.mqtt_topic_prefix)
    publish_queued(engine=engine, publisher=wire.publisher, topics=topics, now=now)
    return wire.sent()


def test_dispatch_ingest_status_and_deadlines(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["082"])  # Y Tý (3) + A Mú Sung (2)
    topics = Topics(settings.mqtt_topic_prefix)
    # Not due before the lookahead window.
    assert dispatch_due(
        engine=engine, settings=settings, builder=builder, now=T0 - timedelta(minutes=31)
    ) == (0, 0)
    now = T0 - timedelta(minutes=30)
    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=now) == (1, 5)
    # A second pass (or a restarted worker) sends nothing twice.
    assert dispatch_due(engine=engine, settings=settings, builder=builder, now=now) == (0, 0)
    publisher = wire.publisher
    assert publish_queued(engine=engine, publisher=publisher, topics=topics, now=now) == 5
    assert publish_queued(engine=engine, publisher=publisher, topics=topics, now=now) == 0
    sent = wire.sent()
    assert len(sent) == 5  # each receiver got its command once
    command = json.loads(sent[0][1])
    assert command["type"] == "programme" and command["broadcast_id"] == f"{bid}.1"
    # The bulletin's one-minute recording, as published under its digest.
    audio = version_audio(engine, bulletin, "vi")
    assert [(i["sha256"], i["bytes"], i["duration_ms"]) for i in command["items"]] == [
        (audio.audio_sha256, audio.audio_bytes, 60_000)
    ]
    assert command["items"][0]["url"] == media_url(settings, audio.audio_sha256 or "")

    yty = receivers_in(engine, "02680")
    amu = receivers_in(engine, "02659")
    ref = f"{bid}.1"
    ing = AckIngestor(engine, topics)
    t = T0 - timedelta(minutes=20)
    ing.process(
        [
            # Out of order and duplicated: completed before started, received twice.
            ack(topics, yty[0], ref, "received", t),
            ack(topics, yty[0], ref, "completed", T0 + timedelta(minutes=1)),
            ack(topics, yty[0], ref, "received", t),
            ack(topics, yty[0], ref, "started", T0),
            ack(topics, yty[0], ref, "downloaded", t),
            ack(topics, yty[1], ref, "received", t),
            ack(topics, yty[1], ref, "downloaded", t),
            ack(topics, amu[0], ref, "failed", t, detail="sha256 mismatch"),
            # Garbage, an unknown airing, and a receiver never sent this one.
            Message(topics.ack(yty[2]), b"\xff" * 10, 1, False),
            Message(topics.ack(yty[2]), b"{" * 5000, 1, False),
            ack(topics, yty[2], f"{bid}.99", "completed", t),
            ack(topics, "rx-nobody", ref, "completed", t),
        ]
    )
    assert ing.stats.malformed == 2 and ing.stats.unknown == 2
    ing.process([ack(topics, yty[0], ref, "completed", T0 + timedelta(minutes=1))])  # again
    rows = deliveries(engine, bid)
    assert rows[yty[0]].state == "completed"
    assert rows[yty[0]].started_at is not None and rows[yty[0]].downloaded_at is not None
    assert rows[yty[1]].state == "downloaded"
    assert rows[amu[0]].state == "failed" and rows[amu[0]].detail == "sha256 mismatch"
    with Session(engine) as ses:
        events = ses.exec(
            select(DeliveryEvent).where(DeliveryEvent.delivery_id == rows[yty[0]].id)
        ).all()
        assert sorted(e.state for e in events) == [
            "completed",
            "downloaded",
            "received",
            "sent",
            "started",
        ]

    # Deadlines: nothing before air + duration + grace; then missed and expired.
    assert apply_deadlines(engine=engine, settings=settings, now=T0)["missed"] == 0
    late = T0 + timedelta(minutes=16)  # past expiry (15 min) and 1 min + 300 s grace
    counts = apply_deadlines(engine=engine, settings=settings, now=late)
    assert counts == {"expired": 2, "missed": 1, "settled": 1}
    rows = deliveries(engine, bid)
    assert rows[yty[1]].state == "missed"
    assert rows[yty[2]].state == "expired" and rows[amu[1]].state == "expired"

    status = client.get(f"/api/v1/broadcasts/{bid}/status", headers=editor).json()
    assert status["counts"] == {"completed": 1, "missed": 1, "expired": 2, "failed": 1}
    assert status["aired"] == 1 and status["total"] == 5
    assert {a["key"] for a in status["areas"]} == {"02680", "02659"}
    operator = make_user(Role.operator, "02680")
    mine = client.get(f"/api/v1/broadcasts/{bid}/status", headers=operator).json()
    assert mine["total"] == 3  # only Y Tý's receivers

    rx = client.get(f"/api/v1/receivers/{yty[0]}", headers=editor).json()
    sent_to = dict(sent)
    assert rx["programme_version"] == json.loads(sent_to[topics.cmd(yty[0])])["version"]
    assert rx["programme_broadcast_id"] == ref


def test_cancel_sends_cancel_to_receivers_that_have_not_aired(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    topics = Topics(settings.mqtt_topic_prefix)
    now = T0 - timedelta(minutes=30)
    _send(engine, settings, wire, now)
    yty = receivers_in(engine, "02680")
    AckIngestor(engine, topics).process([ack(topics, yty[0], f"{bid}.1", "started", T0)])
    response = client.post(f"/api/v1/broadcasts/{bid}/cancel", headers=editor)
    assert response.status_code == 200 and response.json()["cancelled_deliveries"] == 2
    assert publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=now) == 2
    sent = wire.sent()
    assert sorted(t for t, _ in sent) == sorted(topics.cmd(r) for r in yty[1:])
    assert json.loads(sent[0][1]) == {"type": "cancel", "broadcast_id": f"{bid}.1"}
    assert deliveries(engine, bid)[yty[0]].state == "started"
    assert client.post(f"/api/v1/broadcasts/{bid}/cancel", headers=editor).status_code == 409


def _cancelled_on_air(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    editor: Headers,
    bulletin: int,
    wire: Wire,
) -> tuple[int, Topics, str, list[str]]:
    """Y Tý's airing sent, one receiver airing it, the broadcast cancelled and the cancels
    published: (broadcast id, topics, the receiver on air, the others)."""
    bid = _schedule(client, editor, bulletin, ["02680"])
    topics = Topics(settings.mqtt_topic_prefix)
    _send(engine, settings, wire, T0 - timedelta(minutes=30))
    on_air, *others = receivers_in(engine, "02680")
    ingestor = AckIngestor(engine, topics, clock=lambda: T0 + timedelta(seconds=30))
    ingestor.process([ack(topics, on_air, f"{bid}.1", "started", T0)])
    assert client.post(f"/api/v1/broadcasts/{bid}/cancel", headers=editor).status_code == 200
    publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=T0)
    wire.sent()
    return bid, topics, on_air, others


def test_an_airing_cancelled_while_on_air_settles_when_its_receivers_end(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid, topics, on_air, others = _cancelled_on_air(
        client, engine, settings, editor, bulletin, wire
    )
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        assert (airing.state, airing.settled) == ("cancelled", False)  # still on air there
    # The receiver on air finishes the minute-long bulletin: the as-run record has it.
    done = T0 + timedelta(seconds=61)
    ingestor = AckIngestor(engine, topics, clock=lambda: done)
    ingestor.process([ack(topics, on_air, f"{bid}.1", "completed", done)])
    states = {r: d.state for r, d in deliveries(engine, bid).items()}
    assert states == {on_air: "completed", **dict.fromkeys(others, "cancelled")}
    # The airing settles past its deadline: until then a receiver that aired it before
    # the cancel reached it may still report.
    assert apply_deadlines(engine=engine, settings=settings, now=done)["settled"] == 0
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        deadline = as_utc(airing.deadline_at)
    assert apply_deadlines(engine=engine, settings=settings, now=deadline)["settled"] == 1


def test_an_airing_on_air_when_cancelled_is_missed_if_its_receiver_never_ends_it(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid, _topics, on_air, _others = _cancelled_on_air(
        client, engine, settings, editor, bulletin, wire
    )
    late = T0 + timedelta(seconds=60 + settings.missed_grace_seconds + 1)
    assert apply_deadlines(engine=engine, settings=settings, now=late)["missed"] == 1
    assert deliveries(engine, bid)[on_air].state == "missed"
    end = late + timedelta(minutes=settings.programme_expiry_minutes)
    assert apply_deadlines(engine=engine, settings=settings, now=end)["settled"] == 1


class _Once:
    """Run `action` once, just after the first statement that contains `marker` executed:
    another writer's commit lands between a pass's read and its write."""

    def __init__(self, engine: Engine, marker: str, action: Callable[[], object]) -> None:
        self.engine, self.marker, self.action = engine, marker, action
        self.results: list[object] = []

    def __call__(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if not self.results and self.marker in statement:
            self.results.append(None)
            self.results[0] = self.action()

    def __enter__(self) -> _Once:
        sa_event.listen(self.engine, "after_cursor_execute", self)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa_event.remove(self.engine, "after_cursor_execute", self)


def test_an_airing_cancelled_while_the_deadline_pass_reads_it_is_not_settled_early(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    """The cancel commits between the pass's read of the airings and its verdicts.

    Every delivery is then `cancelled` (final), but the receivers may still report that
    they aired it before the cancel reached them: the airing waits for its deadline.
    """
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    topics = Topics(settings.mqtt_topic_prefix)
    _send(engine, settings, wire, T0 - timedelta(minutes=30))
    first, *_others = receivers_in(engine, "02680")
    url = f"/api/v1/broadcasts/{bid}/cancel"
    # The cancel commits after the pass read the airings, before its verdicts.
    marker = "FROM occurrence JOIN broadcast"
    with _Once(engine, marker, lambda: client.post(url, headers=editor)) as cut:
        counts = apply_deadlines(engine=engine, settings=settings, now=T0 + timedelta(seconds=1))
    assert [getattr(r, "status_code", None) for r in cut.results] == [200]
    assert counts["settled"] == 0
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        assert (airing.state, airing.settled) == ("cancelled", False)
    publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=T0)
    # A receiver had aired it before the cancel reached it: the as-run record keeps that.
    done = T0 + timedelta(seconds=61)
    AckIngestor(engine, topics, clock=lambda: done).process(
        [
            ack(topics, first, f"{bid}.1", "started", T0),
            ack(topics, first, f"{bid}.1", "completed", done),
        ]
    )
    assert deliveries(engine, bid)[first].state == "completed"
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        deadline = as_utc(airing.deadline_at)
    assert apply_deadlines(engine=engine, settings=settings, now=deadline)["settled"] == 1


def test_an_airing_cancelled_while_it_is_dispatched_is_never_sent(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    url = f"/api/v1/broadcasts/{bid}/cancel"
    now = T0 - timedelta(minutes=30)
    # The cancel commits after dispatch read the airing, while its programme is built.
    with _Once(engine, "WHERE occurrence.id = ", lambda: client.post(url, headers=editor)) as cut:
        assert dispatch_due(engine=engine, settings=settings, builder=builder, now=now) == (0, 0)
    assert [getattr(r, "status_code", None) for r in cut.results] == [200]
    topics = Topics(settings.mqtt_topic_prefix)
    assert publish_queued(engine=engine, publisher=wire.publisher, topics=topics, now=now) == 0
    assert wire.sent() == [] and deliveries(engine, bid) == {}
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        assert (airing.state, airing.settled) == ("cancelled", True)


def test_an_airing_dispatched_while_it_is_cancelled_gets_its_cancels_sent(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    now = T0 - timedelta(minutes=30)
    url = f"/api/v1/broadcasts/{bid}/airings/1/cancel"
    # Dispatch commits (and publishes) after the cancel read the airing as pending.
    with _Once(engine, "AND occurrence.seq = ", lambda: _send(engine, settings, wire, now)) as cut:
        answer = client.post(url, headers=editor)
    assert answer.status_code == 200, answer.text
    topics = Topics(settings.mqtt_topic_prefix)
    yty = receivers_in(engine, "02680")
    programmes = cut.results[0]
    assert isinstance(programmes, list)
    assert sorted(t for t, _ in programmes) == sorted(topics.cmd(r) for r in yty)
    assert answer.json()["cancelled_deliveries"] == len(yty)
    assert publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=now) == 3
    cancels = wire.sent()
    assert sorted(t for t, _ in cancels) == sorted(topics.cmd(r) for r in yty)
    assert {json.loads(body)["type"] for _t, body in cancels} == {"cancel"}


def test_an_airing_dispatched_while_it_is_moved_is_not_moved(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    now = T0 - timedelta(minutes=30)
    later = {"air_at": (T0 + timedelta(minutes=10)).isoformat()}
    url = f"/api/v1/broadcasts/{bid}/airings/1"
    # Dispatch commits (the receivers have 06:00) after the move read the airing as pending.
    with _Once(engine, "AND occurrence.seq = ", lambda: _send(engine, settings, wire, now)):
        answer = client.patch(url, json=later, headers=editor)
    assert answer.status_code == 409, answer.text
    assert answer.json()["reason"] == "airing.not_movable"
    with Session(engine) as ses:
        (airing,) = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
        assert (airing.state, as_utc(airing.air_at)) == ("dispatched", T0)


def state_message(topics: Topics, rid: str, online: bool) -> Message:
    return Message(topics.state(rid), json.dumps({"online": online}).encode(), 1, True)


def test_receivers_coming_online_get_current_commands_again(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    topics = Topics(settings.mqtt_topic_prefix)
    yty = receivers_in(engine, "02680")  # three receivers
    bid = _schedule(client, editor, bulletin, ["02680"])
    now = T0 - timedelta(minutes=30)
    first = _send(engine, settings, wire, now)
    # The ingestor reports each receiver saying `online: true` once per batch (the last
    # state of a receiver in the batch wins).
    online: list[list[str]] = []
    ingestor = AckIngestor(engine, topics, clock=lambda: now, on_online=online.append)
    ingestor.process(
        [
            ack(topics, yty[0], f"{bid}.1", "received", now),
            state_message(topics, yty[0], True),
            ack(topics, yty[1], f"{bid}.1", "started", T0),  # a start at air time
            state_message(topics, yty[1], True),
            state_message(topics, yty[1], True),
            state_message(topics, yty[2], True),
            state_message(topics, yty[2], False),
        ]
    )
    assert online == [sorted(yty[:2])]
    # Every receiver that has not started airing it gets the programme, byte for byte:
    # yty[0] received it but may have restarted since; yty[1] is airing it.
    resent = resend_to_online(
        engine=engine, publisher=wire.publisher, topics=topics, receiver_ids=yty, now=now
    )
    assert {r: (x.programmes, x.cancels) for r, x in resent.items()} == {
        yty[0]: (1, 0),
        yty[2]: (1, 0),
    }
    assert sorted(wire.sent()) == sorted(t for t in first if t[0] != topics.cmd(yty[1]))
    # Cancelled: the cancel is resent to those that had been sent the programme, had
    # not aired it and did not acknowledge the cancel (yty[2] answered `rejected`).
    assert client.post(f"/api/v1/broadcasts/{bid}/cancel", headers=editor).status_code == 200
    ingestor.process([ack(topics, yty[2], f"{bid}.1", "rejected", now, detail="cancelled")])
    resent = resend_to_online(
        engine=engine, publisher=wire.publisher, topics=topics, receiver_ids=yty, now=now
    )
    assert {r: (x.programmes, x.cancels) for r, x in resent.items()} == {yty[0]: (0, 1)}
    cancel = {"type": "cancel", "broadcast_id": f"{bid}.1"}
    sent = wire.sent()
    assert [t for t, _ in sent] == [topics.cmd(yty[0])]
    assert all(json.loads(payload) == cancel for _, payload in sent)
    # Past expires_at nothing is resent.
    late = T0 + timedelta(minutes=settings.programme_expiry_minutes)
    assert (
        resend_to_online(
            engine=engine, publisher=wire.publisher, topics=topics, receiver_ids=yty, now=late
        )
        == {}
    )
    assert wire.sent() == []


def test_operator_confirms_legacy_station(
    client: TestClient, engine: Engine, settings: Settings, make_user: UserFactory, bulletin: int
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["083"])  # Pha Long: a legacy station
    dispatch_due(engine=engine, settings=settings, builder=builder, now=T0)
    with Session(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02743")).one()
    client.app.state.clock = lambda: T0 + timedelta(minutes=10)  # after the airing
    # The operator types the local time: it is kept as the same instant in UTC.
    local = T0.astimezone(settings.zone)
    body = {"station_id": station.id, "aired_at": local.isoformat(), "note": "Phát đủ"}
    stranger = make_user(Role.operator, "02680")
    url = f"/api/v1/broadcasts/{bid}/confirmations"
    assert client.post(url, json=body, headers=stranger).status_code == 404
    operator = make_user(Role.operator, "02743")
    response = client.post(url, json=body, headers=operator)
    assert response.status_code == 201, response.text
    assert response.json()["state"] == "confirmed"
    status = client.get(f"/api/v1/broadcasts/{bid}/status", headers=operator).json()
    confirmed = [d for d in status["deliveries"] if d["state"] == "confirmed"]
    assert [datetime.fromisoformat(d["completed_at"]) for d in confirmed] == [T0]
    # Confirmed survives the deadlines.
    apply_deadlines(engine=engine, settings=settings, now=T0 + timedelta(hours=1))
    assert deliveries(engine, bid)[f"station:{station.id}"].state == DeliveryState.confirmed


def test_station_programme_slot(
    client: TestClient, make_user: UserFactory, bulletin: int, engine: Engine
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["10"])
    with Session(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
    url = f"/api/v1/stations/{station.id}/programme"
    near = client.get(url, params={"at": (T0 + timedelta(minutes=20)).isoformat()}, headers=editor)
    assert near.status_code == 200, near.text
    assert near.json()["broadcast_ids"] == [bid]
    far = client.get(url, params={"at": (T0 + timedelta(hours=5)).isoformat()}, headers=editor)
    assert far.json()["air_at"] is None and far.json()["warnings"][0]["code"] == "empty"


def test_ack_times_are_kept_in_utc_and_last_seen_is_written_sparingly(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    bid = _schedule(client, editor, bulletin, ["02680"])
    topics = Topics(settings.mqtt_topic_prefix)
    now = T0 - timedelta(minutes=30)
    _send(engine, settings, wire, now)
    rx = receivers_in(engine, "02680")[0]
    clock = [now]
    ingestor = AckIngestor(engine, topics, clock=lambda: clock[0])

    def last_seen() -> tuple[bool, datetime]:
        body = client.get(f"/api/v1/receivers/{rx}", headers=editor).json()
        return body["online"], datetime.fromisoformat(body["last_seen_at"])

    # A receiver whose clock is set to Hà Nội time: the same instants, stored in UTC.
    local = timezone(timedelta(hours=7))
    ingestor.process([ack(topics, rx, f"{bid}.1", "received", now.astimezone(local))])
    assert last_seen() == (True, now)
    clock[0] = now + timedelta(seconds=5)  # within SEEN_WRITE: not written again
    ingestor.process([ack(topics, rx, f"{bid}.1", "downloaded", clock[0].astimezone(local))])
    assert last_seen() == (True, now)
    clock[0] = now + SEEN_WRITE + timedelta(seconds=6)
    ingestor.process([ack(topics, rx, f"{bid}.1", "started", T0.astimezone(local))])
    assert last_seen() == (True, clock[0])
    # Its Will (offline), then an ack soon after: online again at once.
    clock[0] += timedelta(seconds=1)
    ingestor.process([state_message(topics, rx, False)])
    assert last_seen() == (False, clock[0])
    clock[0] += timedelta(seconds=1)
    ingestor.process([ack(topics, rx, f"{bid}.1", "completed", T0.astimezone(local))])
    assert last_seen() == (True, clock[0])

    status = client.get(f"/api/v1/broadcasts/{bid}/status", headers=editor).json()
    row = next(d for d in status["deliveries"] if d["receiver_id"] == rx)
    times = {k: datetime.fromisoformat(row[k]) for k in ("received_at", "started_at")}
    assert times == {"received_at": now, "started_at": T0}
    assert row["state"] == "completed"
    with Session(engine) as ses:
        events = ses.exec(
            select(DeliveryEvent)
            .join(Delivery)
            .where(Delivery.receiver_id == rx, DeliveryEvent.source == "receiver")
        ).all()
    assert {e.state: e.at for e in events} == {
        "received": now,
        "downloaded": now + timedelta(seconds=5),
        "started": T0,
        "completed": T0,
    }


def test_one_airing_is_cancelled_or_moved_and_the_others_stay(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    make_user: UserFactory,
    bulletin: int,
    wire: Wire,
) -> None:
    editor = make_user(Role.editor, "10")
    # Tomorrow at 06:00 local, and the two days after (the calendar feed shows 120 days).
    tomorrow = (utcnow() + timedelta(days=1)).astimezone(settings.zone).date()
    start = datetime.combine(tomorrow, time(6), tzinfo=settings.zone).astimezone(UTC)
    body = {
        "bulletin_ids": [bulletin],
        "area_codes": ["02680"],
        "starts_at": start.isoformat(),
        "rrule": "FREQ=DAILY;COUNT=3",
    }
    bid = client.post("/api/v1/broadcasts", json=body, headers=editor).json()["id"]
    api = f"/api/v1/broadcasts/{bid}/airings"
    operator = make_user(Role.operator, "02680")
    assert client.post(f"{api}/2/cancel", headers=operator).status_code == 403

    # The second day is cancelled before anything was sent: nothing to take back.
    cancelled = client.post(f"{api}/2/cancel", headers=editor)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["airing"]["state"] == "cancelled"
    assert cancelled.json()["cancelled_deliveries"] == 0
    again = client.post(f"{api}/2/cancel", headers=editor)
    assert again.status_code == 409 and again.json()["reason"] == "airing.already_cancelled"

    # The third moves two hours later; its dispatch and expiry move with it.
    shown = client.get(f"/api/v1/broadcasts/{bid}", headers=editor).json()["occurrences"]
    third = next(o for o in shown if o["seq"] == 3)
    later = datetime.fromisoformat(third["air_at"]) + timedelta(hours=2)
    moved = client.patch(f"{api}/3", json={"air_at": later.isoformat()}, headers=editor)
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["air_at"]) == later
    for name in ("dispatch_at", "expires_at"):
        shift = datetime.fromisoformat(moved.json()[name]) - datetime.fromisoformat(third[name])
        assert shift == timedelta(hours=2), name
    # An airing keeps its place in the series, and its time is in the future.
    past_second = start + timedelta(days=1, hours=1)
    out_of_order = client.patch(
        f"{api}/1", json={"air_at": past_second.isoformat()}, headers=editor
    )
    assert out_of_order.status_code == 422
    assert out_of_order.json()["reason"] == "airing.out_of_order"
    past = client.patch(f"{api}/1", json={"air_at": "2020-01-01T06:00:00+07:00"}, headers=editor)
    assert past.status_code == 422 and past.json()["reason"] == "airing.in_past"
    naive = client.patch(
        f"{api}/1",
        json={"air_at": (start + timedelta(hours=1)).replace(tzinfo=None).isoformat()},
        headers=editor,
    )
    assert naive.status_code == 422

    # The first is sent, then cancelled: its receivers get `cancel`; it can no longer move.
    topics = Topics(settings.mqtt_topic_prefix)
    sent = _send(engine, settings, wire, start - timedelta(minutes=30))
    yty = receivers_in(engine, "02680")
    assert sorted(t for t, _ in sent) == sorted(topics.cmd(r) for r in yty)
    stuck = client.patch(
        f"{api}/1", json={"air_at": (start + timedelta(minutes=5)).isoformat()}, headers=editor
    )
    assert stuck.status_code == 409 and stuck.json()["reason"] == "airing.not_movable"
    first = client.post(f"{api}/1/cancel", headers=editor)
    assert first.json()["cancelled_deliveries"] == 3
    assert publish_cancels(engine=engine, publisher=wire.publisher, topics=topics, now=start) == 3
    cancels = wire.sent()
    assert sorted(t for t, _ in cancels) == sorted(topics.cmd(r) for r in yty)
    assert {json.loads(p)["broadcast_id"] for _, p in cancels} == {f"{bid}.1"}
    # A cancelled airing is not sent again.
    resend = client.post(f"/api/v1/broadcasts/{bid}/resend", json={"occurrence": 1}, headers=editor)
    assert resend.status_code == 409 and resend.json()["reason"] == "resend.not_dispatched"

    # The broadcast itself stays scheduled with its moved third airing; the station's
    # calendar shows the two cancelled days and the new time.
    shown = client.get(f"/api/v1/broadcasts/{bid}", headers=editor).json()
    assert shown["status"] == "scheduled"
    assert [o["state"] for o in shown["occurrences"]] == ["cancelled", "cancelled", "pending"]
    with Session(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02680")).one()
    feed = client.get(f"/api/v1/stations/{station.id}/schedule.ics", headers=editor).text
    from icalendar import Calendar

    events = {
        str(e["uid"]).split(".station-")[0]: e for e in Calendar.from_ical(feed).walk("VEVENT")
    }
    assert str(events[f"{bid}.1"]["status"]) == "CANCELLED"
    assert str(events[f"{bid}.2"]["status"]) == "CANCELLED"
    assert str(events[f"{bid}.3"]["status"]) == "CONFIRMED"
    assert events[f"{bid}.3"].decoded("dtstart") == later
