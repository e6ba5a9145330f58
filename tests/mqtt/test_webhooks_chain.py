"""A webhook subscriber follows a broadcast through the real chain, each event signed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import User
from broadcast.people.service import Principal
from broadcast.webhooks.service import create_subscription
from stations.models import Receiver
from stations.mqtt import BrokerAddress, MqttClient
from stations.protocol import Topics
from stations.timeutil import utcnow
from tests.mqtt.conftest import SimFactory, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import all_in, schedule
from tests.webhooks.hook_receiver import HookReceiver, documented_verifier, hook_receiver

verify_webhook = documented_verifier()


def subscribe_everything(engine: Engine, url: str) -> str:
    """The demo admin (global) subscribes `url` to every event; returns the secret."""
    with transaction(engine) as ses:
        admin = ses.exec(select(User).where(User.username == "admin")).one()
        _row, secret = create_subscription(
            session=ses, principal=Principal(user=admin, area=None), url=url, event_types=["*"]
        )
    return secret


def received(endpoint: HookReceiver, secret: str) -> list[dict[str, Any]]:
    """Every event the endpoint got, each checked with the documented snippet."""
    got = endpoint.got()
    assert all(verify_webhook(secret, r.headers, r.body) for r in got)
    return [r.event for r in got]


def test_a_subscriber_follows_a_broadcast_from_creation_to_completion(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    yty = world.receivers_of(engine, "02680")
    with hook_receiver() as endpoint:
        secret = subscribe_everything(engine, endpoint.url)
        worker = make_worker(embedded_broker)
        make_simulation(embedded_broker, yty)
        wait_for(lambda: _online(engine, yty))
        bid = schedule(engine, mqtt_settings, world, ["02680"])
        worker.tick()
        wait_for(lambda: all_in(engine, bid, {"completed"}), timeout=15)
        # The airing settles at the deadline pass once every delivery is final.
        settled_at = utcnow() + timedelta(seconds=5)
        assert worker.deadline_pass(settled_at)["settled"] == 1
        report = worker.webhook_pass(settled_at)
        assert report.attempted == report.delivered == 6

        events = received(endpoint, secret)
        by_type: dict[str, list[dict[str, Any]]] = {}
        for event in events:
            by_type.setdefault(event["type"], []).append(event["data"])
        assert sorted(d["receiver_id"] for d in by_type["receiver.online"]) == yty
        [created] = by_type["broadcast.created"]
        assert (created["broadcast_id"], created["area_codes"]) == (bid, ["02680"])
        [dispatched] = by_type["broadcast.dispatched"]
        assert (dispatched["airing"], dispatched["stations"], dispatched["deliveries"]) == (
            f"{bid}.1",
            1,
            3,
        )
        [completed] = by_type["broadcast.completed"]
        assert completed["station_id"] == world.stations["02680"]
        assert (completed["airing"], completed["deliveries"], completed["aired"]) == (
            f"{bid}.1",
            3,
            3,
        )
        assert "broadcast.missed" not in by_type
        assert len({e["id"] for e in events}) == len(events)


def test_a_station_that_aired_nothing_is_missed_and_a_receiver_going_offline_is_told(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
) -> None:
    receiver = world.receivers_of(engine, "02659")[0]
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    with hook_receiver() as endpoint:
        secret = subscribe_everything(engine, endpoint.url)
        worker = make_worker(embedded_broker)
        device = MqttClient(
            embedded_broker.with_login(receiver, world.receivers[receiver]), client_id=receiver
        )
        device.start()
        try:
            for online in (True, False):
                state = json.dumps({"online": online, "at": utcnow().isoformat()}).encode()
                device.publish(topics.state(receiver), state, qos=1).wait_for_publish(5)
                wait_for(lambda online=online: _online(engine, [receiver]) is online)
            # The same state again is no change: no second event.
            device.publish(topics.state(receiver), state, qos=1).wait_for_publish(5)
            assert worker.ingestor is not None
            wait_for(
                lambda: worker.ingestor is not None and worker.ingestor.stats.states_stored >= 3
            )
        finally:
            device.stop()
        schedule(engine, mqtt_settings, world, ["02659"])
        worker.tick()
        # Nobody received it: expired after LOA_PROGRAMME_EXPIRY_MINUTES, then settled.
        later = utcnow() + timedelta(minutes=mqtt_settings.programme_expiry_minutes + 1)
        assert worker.deadline_pass(later)["settled"] == 1
        worker.webhook_pass(later)

        events = received(endpoint, secret)
        # Sent in any order: in the order they happened.
        in_order = sorted(events, key=lambda e: datetime.fromisoformat(e["created_at"]))
        changes = [
            (e["type"], e["data"]["receiver_id"])
            for e in in_order
            if e["type"].startswith("receiver.")
        ]
        assert changes == [("receiver.online", receiver), ("receiver.offline", receiver)]
        [missed] = [e["data"] for e in events if e["type"] == "broadcast.missed"]
        assert missed["station_id"] == world.stations["02659"] and missed["aired"] == 0
        assert missed["deliveries"] == len(world.receivers_of(engine, "02659"))


def _online(engine: Engine, receiver_ids: list[str]) -> bool:
    with Session(engine) as ses:
        rows = ses.exec(select(Receiver).where(Receiver.id.in_(receiver_ids))).all()  # type: ignore[attr-defined]
        return len(rows) == len(receiver_ids) and all(r.online for r in rows)
