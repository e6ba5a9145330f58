"""Both brokers bind client ids to logins, cap packet sizes and keep receivers to their topics.

Intruders are clients written apart from Loa: plain paho, and mosquitto's own
mosquitto_sub / mosquitto_pub.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as pahoc
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from broadcast.core.settings import Settings
from stations.models import Receiver
from stations.mqtt import BrokerAddress
from stations.protocol import MAX_CMD_BYTES, Topics
from tests.mqtt.conftest import (
    MOSQUITTO,
    SERVICE_PASSWORD,
    SERVICE_USER,
    WorkerFactory,
    World,
    _spawn_mosquitto,
    wait_for,
)
from tests.utils import free_port

MOSQUITTO_SUB = shutil.which("mosquitto_sub")
MOSQUITTO_PUB = shutil.which("mosquitto_pub")
needs_mosquitto_clients = pytest.mark.skipif(
    MOSQUITTO_SUB is None or MOSQUITTO_PUB is None, reason="mosquitto clients are not installed"
)
TOPICS = Topics("loa/v1")


@dataclass
class Device:
    """A plain paho client and what happened to it."""

    client: pahoc.Client
    connects: list[ReasonCode] = field(default_factory=list)
    disconnects: list[ReasonCode] = field(default_factory=list)
    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    subscribed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def accepted(self) -> bool:
        """Whether the broker accepted the last connection attempt."""
        return bool(self.connects) and not self.connects[-1].is_failure

    def received(self) -> list[tuple[str, bytes, bool]]:
        """The messages so far: (topic, payload, retained)."""
        with self.lock:
            return list(self.messages)

    def close(self) -> None:
        """Disconnect cleanly (no Will) and stop the loop."""
        self.client.disconnect()
        self.client.loop_stop()


def connect(
    address: BrokerAddress,
    username: str,
    password: str,
    *,
    client_id: str,
    clean_session: bool = True,
    subscribe: list[str] | None = None,
    will: tuple[str, bytes] | None = None,
    reconnect: bool = True,
) -> Device:
    """Connect a plain paho client and wait for the broker's answer (accepted or not)."""
    client = pahoc.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        reconnect_on_failure=reconnect,
    )
    client.username_pw_set(username, password)
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    device = Device(client)
    answered = threading.Event()

    def on_connect(c: pahoc.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        device.connects.append(rc)
        answered.set()
        if rc.is_failure:
            c.disconnect()  # no retry: the refusal is the answer
        elif subscribe:
            c.subscribe([(topic, 1) for topic in subscribe])

    def on_message(_c: pahoc.Client, _u: object, msg: pahoc.MQTTMessage) -> None:
        with device.lock:
            device.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on_disconnect(_c: pahoc.Client, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        device.disconnects.append(rc)
        answered.set()  # paho reports some refusals (an empty id rejected) only this way

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_subscribe = lambda *_a: device.subscribed.set()
    client.on_message = on_message
    client.reconnect_delay_set(1, 2)
    client.connect(address.host, address.port)
    client.loop_start()
    assert answered.wait(10), f"no answer to {client_id}"
    if subscribe and device.accepted:
        assert device.subscribed.wait(10)
    return device


@pytest.fixture
def devices() -> Iterator[list[Device]]:
    """Devices to close at the end of the test."""
    opened: list[Device] = []
    yield opened
    for device in opened:
        device.close()


def publish(address: BrokerAddress, topic: str, payload: bytes, *, retain: bool = False) -> None:
    """Publish once with the service's own login (QoS 1, waits for the broker)."""
    client = pahoc.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.username_pw_set(SERVICE_USER, SERVICE_PASSWORD)
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def receivers(engine: Engine, world: World, count: int) -> list[str]:
    """Receiver ids of one station (they all have passwords in `world`)."""
    found = world.receivers_of(engine, "02680") + world.receivers_of(engine, "02659")
    assert len(found) >= count
    return found[:count]


def is_online(engine: Engine, receiver_id: str) -> bool:
    """What the service believes: the receiver's `online` column."""
    with Session(engine) as ses:
        row = ses.get(Receiver, receiver_id)
        return bool(row and row.online)


def mosquitto_sub(address: BrokerAddress, *args: str) -> subprocess.CompletedProcess[str]:
    """mosquitto_sub that exits once its subscriptions are acknowledged (or it is refused)."""
    assert MOSQUITTO_SUB is not None
    return subprocess.run(
        [MOSQUITTO_SUB, "-h", address.host, "-p", str(address.port), "-E", *args],
        capture_output=True,
        text=True,
        timeout=20,
    )


# --- 1. client ids are bound to logins ---------------------------------------------


@needs_mosquitto_clients
@pytest.mark.parametrize("target", ["ingestor", "publisher", "loa-ingestor"])
def test_a_receiver_cannot_take_the_service_client_ids(
    engine: Engine,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    devices: list[Device],
    caplog: pytest.LogCaptureFixture,
    target: str,
) -> None:
    attacker, other = receivers(engine, world, 2)
    worker = make_worker(broker)
    assert worker.ingest_client is not None and worker.ingestor is not None
    wait_for(lambda: worker.ingest_client.connected and worker.publisher.connected)
    ids = {"ingestor": worker.ingest_client.client_id, "publisher": worker.publisher.client_id}
    caplog.set_level(logging.INFO, logger="stations.mqtt")

    # mosquitto_sub -u rx-A -P <pwA> -i <the service's client id> ...
    result = mosquitto_sub(
        broker,
        *("-u", attacker, "-P", world.receivers[attacker]),
        *("-i", ids.get(target, target), "-t", TOPICS.cmd(attacker)),
    )
    # The embedded broker refuses it; mosquitto lets it in under its own name only.
    assert result.returncode == 0 or "identifier rejected" in result.stderr.lower()

    # The service is still connected: it sends a command and stores the answer.
    device = connect(
        broker,
        other,
        world.receivers[other],
        client_id=other,
        subscribe=[TOPICS.cmd(other)],
    )
    devices.append(device)
    worker.publisher.publish(TOPICS.cmd(other), b'{"type":"cancel","broadcast_id":"1.1"}')
    wait_for(lambda: device.received())
    device.client.publish(TOPICS.state(other), b'{"online": true}', qos=1, retain=True)
    wait_for(lambda: is_online(engine, other))
    kicked = [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()]
    assert kicked == []
    assert worker.ingest_client.connected and worker.publisher.connected


@pytest.mark.parametrize("intruder", ["receiver", "service"])
def test_nobody_else_can_take_over_a_connected_receiver(
    engine: Engine, world: World, broker: BrokerAddress, devices: list[Device], intruder: str
) -> None:
    victim, attacker = receivers(engine, world, 2)
    offline = json.dumps({"online": False}).encode()
    device = connect(
        broker,
        victim,
        world.receivers[victim],
        client_id=victim,
        clean_session=False,
        subscribe=[TOPICS.cmd(victim)],
        will=(TOPICS.state(victim), offline),
    )
    devices.append(device)
    device.client.publish(
        TOPICS.state(victim), b'{"online": true}', qos=1, retain=True
    ).wait_for_publish(10)
    login = (attacker, world.receivers[attacker])
    if intruder == "service":
        login = (SERVICE_USER, SERVICE_PASSWORD)
    intrusion = connect(broker, *login, client_id=victim, reconnect=False)
    intrusion.close()

    publish(broker, TOPICS.cmd(victim), b'{"type":"cancel","broadcast_id":"1.2"}')
    wait_for(lambda: device.received())
    assert device.disconnects == []
    # Its Last Will did not fire: the retained state still says online.
    reader = connect(
        broker,
        SERVICE_USER,
        SERVICE_PASSWORD,
        client_id="test-reader",
        subscribe=[TOPICS.state(victim)],
    )
    devices.append(reader)
    wait_for(lambda: reader.received())
    assert reader.received() == [(TOPICS.state(victim), b'{"online": true}', True)]


@pytest.mark.parametrize("intruder", ["receiver", "service"])
def test_a_receivers_queued_programmes_survive_an_intruder(
    engine: Engine, world: World, broker: BrokerAddress, devices: list[Device], intruder: str
) -> None:
    victim, attacker = receivers(engine, world, 2)
    device = connect(
        broker,
        victim,
        world.receivers[victim],
        client_id=victim,
        clean_session=False,
        subscribe=[TOPICS.cmd(victim)],
    )
    device.close()  # offline, its session kept by the broker
    command = b'{"type":"cancel","broadcast_id":"7.1"}'
    publish(broker, TOPICS.cmd(victim), command)

    login = (attacker, world.receivers[attacker])
    if intruder == "service":
        login = (SERVICE_USER, SERVICE_PASSWORD)
    # A clean session under the victim's id would wipe the victim's queue.
    connect(broker, *login, client_id=victim, reconnect=False).close()

    back = connect(broker, victim, world.receivers[victim], client_id=victim, clean_session=False)
    devices.append(back)
    wait_for(lambda: back.received())
    assert [(topic, payload) for topic, payload, _r in back.received()] == [
        (TOPICS.cmd(victim), command)
    ]


def test_the_embedded_broker_refuses_a_receiver_under_another_id(
    engine: Engine, world: World, embedded_broker: BrokerAddress
) -> None:
    rx, other = receivers(engine, world, 2)
    password = world.receivers[rx]
    for client_id in (other, f"{rx}-2", "loa-ingestor", "", "loa-server-dispatcher"):
        device = connect(embedded_broker, rx, password, client_id=client_id, reconnect=False)
        device.close()
        assert not device.accepted, client_id
    device = connect(embedded_broker, rx, password, client_id=rx, reconnect=False)
    device.close()
    assert device.accepted


# --- 2. message size -----------------------------------------------------------------


def test_a_16_mb_publish_never_reaches_the_ingestor(
    engine: Engine,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    devices: list[Device],
) -> None:
    sender, other = receivers(engine, world, 2)
    worker = make_worker(broker)
    assert worker.ingestor is not None
    wait_for(lambda: worker.ingest_client and worker.ingest_client.connected)
    device = connect(broker, sender, world.receivers[sender], client_id=sender, reconnect=False)
    devices.append(device)
    device.client.publish(TOPICS.state(sender), b"x" * (16 * 1024 * 1024), qos=1)
    # The broker drops the connection instead of passing the payload on.
    wait_for(lambda: device.disconnects, timeout=30)

    second = connect(broker, other, world.receivers[other], client_id=other)
    devices.append(second)
    second.client.publish(TOPICS.state(other), b'{"online": true}', qos=1, retain=True)
    wait_for(lambda: is_online(engine, other))
    assert worker.ingestor.stats.malformed == 0
    assert not is_online(engine, sender)


def test_a_programme_at_the_protocol_limit_still_passes(
    engine: Engine, world: World, broker: BrokerAddress, devices: list[Device]
) -> None:
    (rx,) = receivers(engine, world, 1)
    device = connect(broker, rx, world.receivers[rx], client_id=rx, subscribe=[TOPICS.cmd(rx)])
    devices.append(device)
    payload = b"{" + b" " * (MAX_CMD_BYTES - 2) + b"}"
    publish(broker, TOPICS.cmd(rx), payload)
    wait_for(lambda: device.received())
    assert device.received() == [(TOPICS.cmd(rx), payload, False)]


# --- 3. a receiver gets its own cmd topic only ------------------------------------


def test_a_receiver_gets_no_retained_message_but_its_own(
    engine: Engine,
    world: World,
    broker: BrokerAddress,
    make_worker: WorkerFactory,
    devices: list[Device],
) -> None:
    first, second, spy = receivers(engine, world, 3)
    worker = make_worker(broker)  # the ingestor holds `+/state` and `+/ack` subscriptions
    wait_for(lambda: worker.ingest_client and worker.ingest_client.connected)
    for rid in (first, second):
        device = connect(broker, rid, world.receivers[rid], client_id=rid)
        device.client.publish(
            TOPICS.state(rid), b'{"online": true}', qos=1, retain=True
        ).wait_for_publish(10)
        device.close()
    wait_for(lambda: is_online(engine, first) and is_online(engine, second))
    publish(broker, TOPICS.cmd(first), b'{"type":"cancel","broadcast_id":"1.1"}', retain=True)
    own = b'{"type":"cancel","broadcast_id":"2.1"}'
    publish(broker, TOPICS.cmd(spy), own, retain=True)

    device = connect(
        broker,
        spy,
        world.receivers[spy],
        client_id=spy,
        subscribe=[TOPICS.cmd(spy), "loa/v1/receivers/+/state", "loa/v1/#", "#"],
    )
    devices.append(device)
    barrier = b'{"type":"cancel","broadcast_id":"2.2"}'
    publish(broker, TOPICS.cmd(spy), barrier)
    wait_for(lambda: any(payload == barrier for _t, payload, _r in device.received()))
    assert {(topic, payload) for topic, payload, _r in device.received()} == {
        (TOPICS.cmd(spy), own),
        (TOPICS.cmd(spy), barrier),
    }


def test_a_receiver_cannot_command_another_through_its_will(
    engine: Engine, world: World, broker: BrokerAddress, devices: list[Device]
) -> None:
    victim, attacker = receivers(engine, world, 2)
    device = connect(
        broker, victim, world.receivers[victim], client_id=victim, subscribe=[TOPICS.cmd(victim)]
    )
    devices.append(device)
    forged = b'{"type":"cancel","broadcast_id":"3.1"}'
    intruder = connect(
        broker,
        attacker,
        world.receivers[attacker],
        client_id=attacker,
        will=(TOPICS.cmd(victim), forged),
        reconnect=False,
    )
    if intruder.accepted:
        # An abrupt end (no DISCONNECT): the broker would send the Will.
        intruder.client.socket().shutdown(socket.SHUT_RDWR)
        wait_for(lambda: intruder.disconnects)
    intruder.client.loop_stop()
    # Its next connection makes sure the broker has finished with the first one.
    connect(broker, attacker, world.receivers[attacker], client_id=attacker).close()
    barrier = b'{"type":"cancel","broadcast_id":"3.2"}'
    publish(broker, TOPICS.cmd(victim), barrier)
    wait_for(lambda: any(payload == barrier for _t, payload, _r in device.received()))
    assert [payload for _t, payload, _r in device.received()] == [barrier]


# --- `loa mqtt sync --print-conf` ---------------------------------------------------


@needs_mosquitto_clients
def test_the_printed_mosquitto_config_binds_ids_and_caps_sizes(
    engine: Engine, mqtt_settings: Settings, world: World
) -> None:
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto is not installed")
    directory = Path("/tmp") / f"loa-mosq-conf-{os.getpid()}-{free_port()}"
    directory.mkdir(mode=0o755)
    port = free_port()
    env = {
        "LOA_ENV": "test",
        "LOA_SECRET_KEY": mqtt_settings.secret_key,
        "LOA_DATABASE_URL": mqtt_settings.database_url,
        "LOA_MQTT_USERNAME": SERVICE_USER,
        "LOA_MQTT_PASSWORD": SERVICE_PASSWORD,
        "COLUMNS": "400",
    }
    result = CliRunner().invoke(
        app,
        ["mqtt", "sync", "--dir", str(directory), "--state-dir", str(directory / "state")]
        + ["--print-conf", str(port)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    conf = directory / "mosquitto.conf"
    conf.write_text(result.output[result.output.index("listener ") :])
    conf.chmod(0o644)
    process = _spawn_mosquitto(conf, port)
    try:
        address = BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD)
        rx, other = receivers(engine, world, 2)
        watcher = connect(
            address,
            other,
            world.receivers[other],
            client_id=other,
            subscribe=[TOPICS.cmd(other)],
        )
        # Under another receiver's id it is still itself: it only reaches its own topics.
        taken = mosquitto_sub(
            address, "-u", rx, "-P", world.receivers[rx], "-i", other, "-t", TOPICS.cmd(rx)
        )
        assert taken.returncode == 0, taken.stderr
        assert MOSQUITTO_PUB is not None
        big = directory / "big"
        big.write_bytes(b"x" * (MAX_CMD_BYTES + 64 * 1024))
        sent = subprocess.run(
            [
                *(MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(port), "-q", "1"),
                *("-u", rx, "-P", world.receivers[rx], "-t", TOPICS.state(rx), "-f", str(big)),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert sent.returncode != 0
        publish(address, TOPICS.cmd(other), b'{"type":"cancel","broadcast_id":"4.1"}')
        wait_for(lambda: watcher.received())
        assert watcher.disconnects == []
        watcher.close()
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def test_a_receiver_named_like_a_service_login_gets_no_broker_access(
    engine: Engine, mqtt_settings: Settings, world: World, embedded_broker: BrokerAddress
) -> None:
    from broadcast.broker.mosquitto import sync_files
    from broadcast.core.db import transaction
    from stations import registry
    from stations.errors import InvalidInputError
    from stations.models import Receiver, Station
    from stations.security import hash_secret, mosquitto_hash

    taken = f"{SERVICE_USER}-ingestor"
    with transaction(engine) as ses:
        station = ses.get(Station, world.stations["02680"])
        assert station is not None
        # The registry refuses such an id now; a database from before may still hold one.
        with pytest.raises(InvalidInputError, match="not allowed"):
            registry.create_receiver(
                session=ses, station=station, name="Trùng tên", receiver_id=taken
            )
        secret = "mat-khau-trung-ten"
        ses.add(
            Receiver(
                id=taken,
                station_id=station.id or 0,
                name="Trùng tên",
                secret_hash=hash_secret(secret),
                mqtt_hash=mosquitto_hash(secret),
            )
        )
    directory = Path("/tmp") / f"loa-sync-{os.getpid()}-{free_port()}"
    try:
        report = sync_files(engine=engine, settings=mqtt_settings, directory=directory)
        users = [line.split(":")[0] for line in report.password_file.read_text().splitlines()]
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    assert report.reserved == [taken]
    assert users.count(taken) == 1  # the service's own line only
    device = connect(embedded_broker, taken, secret, client_id=taken, reconnect=False)
    device.close()
    assert not device.accepted
