"""One bad acknowledgement never stops ingestion: rejects, dead letters, retries, the routes."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event, func, text
from sqlmodel import Session, col, select

import broadcast.delivery.ingest
from broadcast.core.db import make_engine, transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dead_letters import Letter, park
from broadcast.delivery.dispatch import StationProgramme, dispatch_due
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import DeadLetter, Delivery, DeliveryEvent
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.mqtt import BrokerAddress, Message, MqttClient
from stations.protocol import ProtocolError, Topics, decode_ack
from stations.timeutil import utcnow
from tests.mqtt.conftest import WorkerFactory, World, wait_for
from tests.utils import UserFactory

IP_AREAS = ["02680", "02659", "02800"]  # six receivers between them
POISON = "poison-ack"  # the detail a test trigger refuses to store
POISON_DECODE = [
    {"broadcast_id": "1.99999999999999999999", "state": "received", "at": "2026-12-01T06:00:00Z"},
    {"broadcast_id": "1.1", "state": "received", "at": "0001-01-01T00:00:00+05:00"},
]

Deliveries = list[tuple[int, str, str]]  # (delivery id, ref, receiver id)


def airings(
    engine: Engine, settings: Settings, world: World, builder: Any, count: int
) -> Deliveries:
    """`count` broadcasts airing in a second to the IP communes, dispatched (queued)."""
    now = utcnow()
    with transaction(engine) as ses:
        for _ in range(count):
            create_broadcast(
                session=ses,
                settings=settings,
                actor=None,
                scope=Scope.everything(),
                bulletin_ids=[world.bulletin_id],
                area_codes=IP_AREAS,
                starts_at=now + timedelta(seconds=1),
            )
    dispatch_due(engine=engine, settings=settings, builder=builder, now=now)
    with Session(engine) as ses:
        rows = ses.exec(
            select(Delivery.id, Occurrence.broadcast_id, Occurrence.seq, Delivery.target)
            .join(Occurrence, col(Delivery.occurrence_id) == col(Occurrence.id))
            .order_by(col(Delivery.id))
        ).all()
    return [(did or 0, f"{bid}.{seq}", target) for did, bid, seq, target in rows]


def ack_body(ref: str, state: str, at: datetime, **extra: Any) -> bytes:
    return json.dumps({"broadcast_id": ref, "state": state, "at": at.isoformat(), **extra}).encode()


def steps(ref: str) -> list[bytes]:
    """A receiver's four acknowledgements of an airing due now (plausible times)."""
    return [
        ack_body(ref, "received", utcnow()),
        ack_body(ref, "downloaded", utcnow()),
        ack_body(ref, "started", utcnow()),
        ack_body(ref, "completed", utcnow() + timedelta(seconds=3)),
    ]


def receiver_events(engine: Engine) -> int:
    with Session(engine) as ses:
        return ses.exec(select(func.count()).where(DeliveryEvent.source == "receiver")).one()


def delivery_states(engine: Engine) -> dict[int, str]:
    with Session(engine) as ses:
        return {d.id or 0: d.state for d in ses.exec(select(Delivery)).all()}


def dead_letters(engine: Engine) -> list[DeadLetter]:
    with Session(engine) as ses:
        return list(ses.exec(select(DeadLetter).order_by(col(DeadLetter.id))).all())


def poison_storage(engine: Engine) -> None:
    """A real database fault: the as-run event of an ack carrying POISON is refused."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER poison_ack BEFORE INSERT ON delivery_event "
                    f"WHEN NEW.detail LIKE '%{POISON}%' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by the poison_ack trigger'); END"
                )
            )
            return
        connection.execute(
            text(
                "CREATE FUNCTION poison_ack() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.detail LIKE '%{POISON}%' THEN RAISE EXCEPTION "
                "'refused by the poison_ack trigger' USING ERRCODE = 'check_violation'; "
                "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER poison_ack BEFORE INSERT ON delivery_event "
                "FOR EACH ROW EXECUTE FUNCTION poison_ack()"
            )
        )


# --- decoding bounds in a batch --------------------------------------------------


def test_poison_acks_are_rejected_and_the_good_ones_in_their_batch_stored(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    builder: Callable[..., StationProgramme],
) -> None:
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    (did, ref, rid), (did2, _, rid2) = airings(engine, mqtt_settings, world, builder, 1)[:2]
    good = [Message(topics.ack(rid), body, 1, False) for body in steps(ref)]
    poison = [Message(topics.ack(rid2), json.dumps(p).encode(), 1, False) for p in POISON_DECODE]
    ingestor = AckIngestor(engine, topics)
    ingestor.process([good[0], poison[0], good[1], poison[1], *good[2:]])
    assert ingestor.stats.malformed == 2
    assert ingestor.stats.acks_stored == 4
    states = delivery_states(engine)
    assert states[did] == "completed" and states[did2] == "queued"
    assert dead_letters(engine) == []  # refused at decode: counted, not parked


# --- a poisoned ack among 1,000 good ones, over a real broker --------------------


def test_poisoned_ack_among_a_thousand_is_parked_and_the_rest_stored(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    builder: Callable[..., StationProgramme],
    make_worker: WorkerFactory,
) -> None:
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    deliveries = airings(engine, mqtt_settings, world, builder, 42)  # 252 deliveries
    good = [(topics.ack(rid), body) for _, ref, rid in deliveries[:250] for body in steps(ref)]
    victim_delivery, ref, victim = deliveries[250]
    parked = ack_body(ref, "received", utcnow(), detail=f"{POISON}: kẹt băng")
    messages = good[:500] + [(topics.ack(victim), parked)] + good[500:]
    messages[700:700] = [(topics.ack(victim), json.dumps(p).encode()) for p in POISON_DECODE]
    assert len(good) == 1000
    poison_storage(engine)
    worker = make_worker(broker)
    assert worker.ingestor is not None
    publisher = MqttClient(broker, client_id="test-acks")
    publisher.start()
    infos = [publisher.publish(topic, body) for topic, body in messages]
    for info in infos:
        info.wait_for_publish(10)
    wait_for(lambda: receiver_events(engine) == 1000 and dead_letters(engine), timeout=30)
    stats = worker.ingestor.stats
    assert stats.acks_stored == 1000 and stats.malformed == 2 and stats.dead_letters == 1
    states = delivery_states(engine)
    assert {states[did] for did, _, _ in deliveries[:250]} == {"completed"}
    assert states[victim_delivery] == "queued"  # its ack is parked, not stored
    (letter,) = dead_letters(engine)
    assert letter.topic == topics.ack(victim) and letter.receiver_id == victim
    assert letter.payload == parked and letter.code == "ack.store_failed"
    assert "poison_ack trigger" in letter.error
    # Everything was acknowledged to the broker: a restarted ingestor gets nothing again.
    worker.stop()
    publisher.publish(topics.ack(victim), ack_body(ref, "downloaded", utcnow())).wait_for_publish(
        10
    )
    again = make_worker(broker)
    assert again.ingestor is not None
    wait_for(lambda: again.ingestor and again.ingestor.stats.acks_stored == 1)
    publisher.stop()
    assert again.ingestor.stats.messages == 1 and len(dead_letters(engine)) == 1


# --- transient database trouble ------------------------------------------------


@pytest.fixture
def impatient_engine(settings: Settings) -> Iterator[Engine]:
    """An engine whose SQLite connections give up on a lock after 50 ms instead of 10 s."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("holds a SQLite write lock")
    eng = make_engine(settings.database_url)

    @event.listens_for(eng, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    yield eng
    eng.dispose()


def test_a_locked_database_is_retried_not_dead_lettered(
    engine: Engine,
    impatient_engine: Engine,
    settings: Settings,
    mqtt_settings: Settings,
    world: World,
    builder: Callable[..., StationProgramme],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broadcast.delivery.ingest, "RETRY_SECONDS", 0.05)
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    did, ref, rid = airings(engine, mqtt_settings, world, builder, 1)[0]
    ingestor = AckIngestor(impatient_engine, topics)
    # Another writer holds the database: every write of the ingestor meets "locked".
    holder = sqlite3.connect(settings.database_url.split("///", 1)[1], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    ingestor.start()
    try:
        for body in steps(ref):
            ingestor.offer(Message(topics.ack(rid), body, 0, False))
        wait_for(lambda: ingestor.stats.store_failures >= 2)  # tried, paused, tried again
        assert "locked" in ingestor.stats.last_error
        assert delivery_states(engine)[did] == "queued"
        wait_for(lambda: ingestor.lag_seconds() > 0.2)  # what /readyz compares
        holder.execute("ROLLBACK")
        wait_for(lambda: delivery_states(engine)[did] == "completed")
        wait_for(lambda: ingestor.lag_seconds() == 0)
    finally:
        holder.close()
        ingestor.stop()
    assert ingestor.stats.acks_stored == 4 and ingestor.stats.dead_letters == 0
    assert ingestor.stats.messages == 4  # the batch was kept, not read again
    assert dead_letters(engine) == []


# --- any batch -------------------------------------------------------------------


@pytest.fixture
def known(
    engine: Engine, mqtt_settings: Settings, world: World, builder: Callable[..., StationProgramme]
) -> Deliveries:
    """One airing dispatched to six receivers."""
    return airings(engine, mqtt_settings, world, builder, 1)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_process_never_raises_and_stores_every_valid_ack(
    engine: Engine, mqtt_settings: Settings, known: Deliveries, data: st.DataObject
) -> None:
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    refs = sorted({ref for _, ref, _ in known}) + ["9999.1", "not-an-airing"]
    receivers = sorted({rid for _, _, rid in known})
    times = st.one_of(
        st.datetimes(
            min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
        ).map(lambda t: t.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "hôm qua"]),
        st.builds(lambda: utcnow().isoformat()),
    )
    ack_json = st.fixed_dictionaries(
        {
            "broadcast_id": st.sampled_from([*refs, "1.99999999999999999999"]),
            "state": st.sampled_from(["received", "downloaded", "started", "completed", "failed"]),
            "at": times,
        },
        optional={
            "detail": st.one_of(st.none(), st.text(max_size=30), st.just("a\x00b")),
            "receiver_id": st.sampled_from(receivers),
        },
    ).map(lambda body: json.dumps(body).encode())
    payloads = st.one_of(
        ack_json,
        st.binary(max_size=200),
        st.just(b'{"online": true, "at": "0001-01-01T00:00:00+05:00"}'),
        st.just(b'{"online": false}'),
        st.just(b""),
    )
    topic_names = st.one_of(
        st.sampled_from(receivers).map(topics.ack),
        st.sampled_from(receivers).map(topics.state),
        st.sampled_from(["loa/v1/receivers/không hợp lệ/ack", "other/topic", topics.cmd("rx-1")]),
    )
    batch = data.draw(
        st.lists(
            st.builds(lambda t, p: Message(t, p, 1, False), topic_names, payloads), max_size=25
        )
    )
    AckIngestor(engine, topics).process(batch)  # never raises
    delivery_of = {(ref, rid): did for did, ref, rid in known}
    expected = set()
    for message in batch:
        parsed = topics.parse(message.topic)
        if parsed is None or parsed[1].value != "ack":
            continue
        try:
            ack = decode_ack(message.payload)
        except ProtocolError:
            continue
        did = delivery_of.get((ack.broadcast_id, parsed[0]))
        if did is not None and ack.receiver_id in (None, parsed[0]):
            expected.add((did, ack.state.value))
    with Session(engine) as ses:
        stored = set(
            ses.exec(
                select(DeliveryEvent.delivery_id, DeliveryEvent.state).where(
                    DeliveryEvent.source == "receiver"
                )
            ).all()
        )
    assert expected <= stored
    assert dead_letters(engine) == []


# --- the dead-letter routes --------------------------------------------------------


def test_admins_read_and_discard_dead_letters(
    client: TestClient,
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    builder: Callable[..., StationProgramme],
    make_user: UserFactory,
    admin_headers: dict[str, str],
) -> None:
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    known = airings(engine, mqtt_settings, world, builder, 1)
    yty = world.receivers_of(engine, "02680")[0]
    bacha = world.receivers_of(engine, "02800")[0]
    ref = known[0][1]
    poison_storage(engine)
    bodies = {
        rid: ack_body(ref, "failed", utcnow(), detail=f"{POISON}: mất điện") for rid in (yty, bacha)
    }
    AckIngestor(engine, topics).process(
        [Message(topics.ack(rid), body, 1, False) for rid, body in bodies.items()]
    )
    api = "/api/v1/dead-letters"
    listed = client.get(api, headers=admin_headers)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2 and [i["receiver_id"] for i in page["items"]] == [bacha, yty]
    item = page["items"][1]
    assert item["topic"] == topics.ack(yty) and item["code"] == "ack.store_failed"
    assert "poison_ack trigger" in item["error"]
    assert item["payload_text"] == bodies[yty].decode()
    assert base64.b64decode(item["payload_base64"]) == bodies[yty]
    one = client.get(f"{api}/{item['id']}", headers=admin_headers)
    assert one.status_code == 200 and one.json() == item
    only = client.get(api, params={"receiver_id": yty, "limit": 1}, headers=admin_headers).json()
    assert only["total"] == 1 and only["items"][0]["id"] == item["id"]
    # An administrator of Bát Xát sees the letters of Bát Xát's receivers only.
    district = make_user(Role.admin, "082")
    assert [i["receiver_id"] for i in client.get(api, headers=district).json()["items"]] == [yty]
    other = page["items"][0]["id"]
    assert client.get(f"{api}/{other}", headers=district).status_code == 404
    # Editors and other roles may not read them.
    editor = make_user(Role.editor, "10")
    for answer in (
        client.get(api, headers=editor),
        client.get(f"{api}/{item['id']}", headers=editor),
        client.delete(f"{api}/{item['id']}", headers=editor),
    ):
        assert answer.status_code == 403, answer.text
    assert client.get(api).status_code == 401
    assert client.get(f"{api}/999999", headers=admin_headers).status_code == 404
    assert client.delete(f"{api}/999999", headers=admin_headers).status_code == 404
    # Discarded: gone.
    assert client.delete(f"{api}/{item['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{api}/{item['id']}", headers=admin_headers).status_code == 404
    assert client.get(api, headers=admin_headers).json()["total"] == 1


def test_a_payload_that_is_not_utf8_is_shown_with_replacement_characters(
    client: TestClient, engine: Engine, admin_headers: dict[str, str]
) -> None:
    raw = b'{"detail": "\xff\xfe"}'
    park(
        engine, [Letter("loa/v1/receivers/rx-1/ack", "rx-1", raw, "decode_failed", "bug")], utcnow()
    )
    (item,) = client.get("/api/v1/dead-letters", headers=admin_headers).json()["items"]
    assert item["payload_text"] == '{"detail": "\ufffd\ufffd"}'
    assert base64.b64decode(item["payload_base64"]) == raw
