"""A broadcast reaches real receiver agents over a real broker and the acks land in the database."""

from __future__ import annotations

import json
import queue
import threading
from datetime import datetime, timedelta

import paho.mqtt.client as pahoc
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryEvent
from broadcast.schedule.models import Occurrence
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Receiver
from stations.mqtt import BrokerAddress, MqttClient
from stations.protocol import Priority, Topics
from stations.timeutil import utcnow
from tests.mqtt.conftest import Mosquitto, SimFactory, WorkerFactory, World, wait_for


def schedule(
    engine: Engine,
    settings: Settings,
    world: World,
    areas: list[str],
    *,
    in_seconds: float = 1.0,
    priority: Priority = Priority.normal,
) -> int:
    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[world.bulletin_id],
            area_codes=areas,
            starts_at=utcnow() + timedelta(seconds=in_seconds),
            priority=priority,
        )
        return broadcast.id or 0


def states(engine: Engine, broadcast_id: int) -> dict[str, str]:
    with Session(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
        return {r.target: r.state for r in rows}


def all_in(engine: Engine, broadcast_id: int, wanted: set[str]) -> bool:
    found = states(engine, broadcast_id)
    return bool(found) and set(found.values()) <= wanted


def test_programme_reaches_receivers_and_acks_are_stored(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    yty = world.receivers_of(engine, "02680")
    sim = make_simulation(broker, yty)
    worker = make_worker(broker)
    bid = schedule(engine, mqtt_settings, world, ["02680"])
    report = worker.tick()
    assert report.occurrences == 1 and report.deliveries == 3 and report.published == 3
    wait_for(lambda: all_in(engine, bid, {"completed"}), timeout=15)
    with Session(engine) as ses:
        delivery = ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).first()
        assert delivery is not None
        assert delivery.received_at and delivery.downloaded_at and delivery.completed_at
        events = {
            e.state
            for e in ses.exec(
                select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery.id)
            ).all()
        }
        assert {"sent", "received", "downloaded", "started", "completed"} <= events
        receiver = ses.get(Receiver, yty[0])
        assert receiver is not None and receiver.online and receiver.last_seen_at
        assert delivery.payload is not None
        command = json.loads(delivery.payload)
    # The programme is the bulletin's real audio, fetched from the service's media route
    # once for three receivers (a shared cache) and checked against its digest and size.
    assert [(i["sha256"], i["bytes"], i["duration_ms"]) for i in command["items"]] == [
        (world.audio_sha256, world.audio_bytes, world.duration_ms)
    ]
    assert (
        command["items"][0]["url"]
        == f"{mqtt_settings.public_base_url}/media/{world.audio_sha256}.mp3"
    )
    assert sim.cache.downloads == 1
    assert sim.cache.path(world.audio_sha256).stat().st_size == world.audio_bytes


def test_receiver_online_only_after_dispatch_still_gets_it(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    rid = world.receivers_of(engine, "02800")[0]
    # Connect once so the broker knows its persistent session, then go away.
    first = make_simulation(broker, [rid])
    first.stop()
    worker = make_worker(broker)
    bid = schedule(engine, mqtt_settings, world, ["02800"])
    worker.tick()
    assert states(engine, bid) == {rid: "sent"}
    make_simulation(broker, [rid])
    wait_for(
        lambda: states(engine, bid) == {rid: "completed"},
        timeout=15,
        show=lambda: states(engine, bid),
    )


def test_receiver_never_connected_before_dispatch_gets_it_when_it_connects(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    # No session on the broker: the command published at dispatch reaches nobody. The
    # receiver's `online` state makes the worker resend it.
    rid = world.receivers_of(engine, "02800")[0]
    worker = make_worker(broker)
    bid = schedule(engine, mqtt_settings, world, ["02800"], in_seconds=2.0)
    assert worker.tick().published == 1
    assert states(engine, bid) == {rid: "sent"}
    sim = make_simulation(broker, [rid])
    wait_for(
        lambda: states(engine, bid) == {rid: "completed"},
        timeout=15,
        show=lambda: (states(engine, bid), sim.agents[rid].acks),
    )
    assert worker.resend_stats.programmes >= 1
    assert (f"{bid}.1", "completed") in sim.agents[rid].acks


def test_receiver_restarted_after_download_still_airs_it(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    # The receiver takes the programme and downloads it, then restarts and forgets it
    # (a power cut): the broker has nothing left to deliver. Saying `online` again gets
    # it the programme again, and it airs.
    rid = world.receivers_of(engine, "02800")[0]
    first = make_simulation(broker, [rid])
    worker = make_worker(broker)
    # Air time is far off, so the chain (dispatch, broker, download, ack, ingest) reaches
    # `downloaded` however loaded the machine is, and the receiver cannot start airing first.
    bid = schedule(engine, mqtt_settings, world, ["02800"], in_seconds=600.0)
    worker.tick()
    wait_for(lambda: states(engine, bid) == {rid: "downloaded"}, timeout=30)
    first.stop()
    # Time passes while the receiver is down: the airing is now due in a second. The
    # stored command (what a resend carries) names that air time, as it would have.
    with transaction(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        occ.air_at = utcnow() + timedelta(seconds=1)
        ses.add(occ)
        delivery = ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).one()
        assert delivery.payload is not None
        stored = json.loads(delivery.payload)
        stored["air_at"] = occ.air_at.isoformat().replace("+00:00", "Z")
        delivery.payload = json.dumps(stored)
        ses.add(delivery)
    again = make_simulation(broker, [rid])
    wait_for(lambda: states(engine, bid) == {rid: "completed"}, timeout=20)
    assert (f"{bid}.1", "completed") in again.agents[rid].acks
    assert (f"{bid}.1", "completed") not in first.agents[rid].acks


def test_receiver_connecting_after_expiry_gets_nothing(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    rid = world.receivers_of(engine, "02800")[0]
    worker = make_worker(broker)
    bid = schedule(engine, mqtt_settings, world, ["02800"])
    worker.tick()
    assert states(engine, bid) == {rid: "sent"}
    # The airing passes before the receiver ever connects (its stored command still
    # names the original, later expiry: a resend would be accepted and aired).
    with transaction(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        occ.air_at = utcnow() - timedelta(seconds=2)
        occ.expires_at = utcnow() - timedelta(seconds=1)
        ses.add(occ)
    sim = make_simulation(broker, [rid])
    wait_for(lambda: worker.resend_stats.receivers >= 1)
    assert worker.resend_stats.programmes == 0
    assert worker.tick().deadlines["expired"] == 1
    assert states(engine, bid) == {rid: "expired"}
    assert sim.agents[rid].acks == []


def test_ingestor_restarted_while_receivers_ack(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    receivers = world.receivers_of(engine, "02680") + world.receivers_of(engine, "02659")
    ingest = make_worker(broker)  # subscribe once: the persistent session now exists
    ingest.stop()
    # One worker at a time: on mosquitto each service login is one client id.
    dispatcher = make_worker(broker, ingest=False)
    make_simulation(broker, receivers)
    bid = schedule(engine, mqtt_settings, world, ["02680", "02659"])
    dispatcher.tick()
    # Acks are published while nobody ingests; the broker keeps them for the session.
    wait_for(lambda: states(engine, bid) and set(states(engine, bid).values()) == {"sent"})
    import time

    time.sleep(0.5)
    assert set(states(engine, bid).values()) == {"sent"}
    dispatcher.stop()
    make_worker(broker)
    wait_for(lambda: all_in(engine, bid, {"completed"}), timeout=15)


def test_spoofed_ack_on_another_receivers_topic_changes_nothing(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
) -> None:
    victim, attacker = world.receivers_of(engine, "02680")[:2]
    worker = make_worker(broker)
    bid = schedule(engine, mqtt_settings, world, ["02680"])
    worker.tick()
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    spy = MqttClient(broker.with_login(attacker, world.receivers[attacker]), client_id=attacker)
    spy.start()
    payload = json.dumps(
        {"broadcast_id": f"{bid}.1", "state": "completed", "at": utcnow().isoformat()}
    ).encode()
    spy.publish(topics.ack(victim), payload).wait_for_publish(5)
    # mosquitto may drop the connection of a client that broke its ACL: go on with a new one.
    spy.stop()
    spy = MqttClient(broker.with_login(attacker, world.receivers[attacker]), client_id=attacker)
    spy.start()
    # Its own topic, naming the victim in the payload: rejected by the ingestor.
    spoof = json.dumps(
        {
            "broadcast_id": f"{bid}.1",
            "state": "completed",
            "at": utcnow().isoformat(),
            "receiver_id": victim,
        }
    ).encode()
    spy.publish(topics.ack(attacker), spoof).wait_for_publish(5)
    spy.publish(topics.ack(attacker), b"{not json").wait_for_publish(5)
    assert worker.ingestor is not None
    wait_for(lambda: worker.ingestor and worker.ingestor.stats.mismatched == 1)
    wait_for(lambda: worker.ingestor and worker.ingestor.stats.malformed == 1)
    spy.stop()
    assert states(engine, bid)[victim] == "sent"
    assert states(engine, bid)[attacker] == "sent"


def test_wrong_password_and_foreign_subscription_are_refused(
    engine: Engine, world: World, broker: BrokerAddress
) -> None:
    victim, attacker = world.receivers_of(engine, "02680")[:2]
    bad = MqttClient(broker.with_login(victim, "not-the-password"), client_id=victim)
    try:
        bad.start(timeout=2)
        raise AssertionError("a wrong password was accepted")
    except ConnectionError:
        pass
    # A receiver that subscribes to another receiver's cmd never gets its messages.
    got: list[bytes] = []
    spy = pahoc.Client(CallbackAPIVersion.VERSION2, client_id=attacker)
    spy.username_pw_set(attacker, world.receivers[attacker])
    spy.on_message = lambda _c, _u, msg: got.append(msg.payload)
    spy.connect(broker.host, broker.port)
    spy.loop_start()
    spy.subscribe("loa/v1/receivers/+/cmd", 1)
    spy.subscribe(f"loa/v1/receivers/{victim}/cmd", 1)
    server = MqttClient(broker, client_id="svc-test")
    server.start()
    server.publish(f"loa/v1/receivers/{victim}/cmd", b'{"type":"cancel","broadcast_id":"1.1"}')
    import time

    time.sleep(0.5)
    server.stop()
    spy.loop_stop()
    spy.disconnect()
    assert got == []


def test_emergency_is_sent_at_once(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
) -> None:
    rid = world.receivers_of(engine, "02800")[0]
    make_simulation(embedded_broker, [rid])
    worker = make_worker(embedded_broker)
    bid = schedule(
        engine, mqtt_settings, world, ["02800"], in_seconds=3600, priority=Priority.emergency
    )
    assert worker.tick().published == 1
    wait_for(lambda: states(engine, bid) == {rid: "completed"})


def test_a_receiver_speaking_mqtt5_is_served(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    mosquitto: Mosquitto,
    make_worker: WorkerFactory,
) -> None:
    # A device written apart from Loa, on MQTT 5 (mosquitto; the embedded broker is 3.1.1).
    rid = world.receivers_of(engine, "02800")[0]
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    commands: queue.Queue[bytes] = queue.Queue()
    subscribed = threading.Event()
    device = pahoc.Client(CallbackAPIVersion.VERSION2, client_id=rid, protocol=pahoc.MQTTv5)
    device.username_pw_set(rid, world.receivers[rid])
    device.on_message = lambda _c, _u, msg: commands.put(msg.payload)
    device.on_subscribe = lambda *_a: subscribed.set()
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = 3600
    device.connect(
        mosquitto.address.host, mosquitto.address.port, clean_start=False, properties=session
    )
    device.loop_start()
    try:
        device.subscribe(topics.cmd(rid), qos=1)
        assert subscribed.wait(10)
        worker = make_worker(mosquitto.address)
        bid = schedule(engine, mqtt_settings, world, ["02800"])
        worker.tick()
        command = json.loads(commands.get(timeout=10))
        assert command["type"] == "programme" and command["broadcast_id"] == f"{bid}.1"
        for state in ("received", "downloaded", "started", "completed"):
            body = {"broadcast_id": command["broadcast_id"], "state": state, "at": utcnow()}
            payload = json.dumps(body, default=datetime.isoformat)
            device.publish(topics.ack(rid), payload, qos=1).wait_for_publish(5)
        wait_for(lambda: states(engine, bid) == {rid: "completed"})
    finally:
        device.loop_stop()
        device.disconnect()
