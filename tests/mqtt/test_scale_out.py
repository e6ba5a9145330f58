"""Several `loa worker` processes on one database and one mosquitto.

One leads (dispatch, deadlines), all ingest through a shared subscription; a worker
killed in the middle of a broadcast loses nothing and makes nothing happen twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from broadcast.core.settings import Settings
from broadcast.delivery.ingest import AckIngestor
from broadcast.delivery.models import Delivery, DeliveryEvent
from broadcast.schedule.models import Occurrence
from stations.identities import INGESTOR, service_client
from stations.mqtt import BrokerAddress, Message, MqttClient
from stations.protocol import Topics
from tests.mqtt.conftest import Mosquitto, SimFactory, World, wait_for
from tests.mqtt.test_end_to_end import all_in, schedule, states

GROUP = "loa"


@pytest.fixture
def mqtt_settings(mqtt_settings: Settings) -> Settings:
    """Two worker instances, each with its own broker logins, sharing the ack stream."""
    return mqtt_settings.model_copy(update={"worker_instances": 2, "mqtt_shared_group": GROUP})


def _environment(settings: Settings, broker: BrokerAddress, instance: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    for name, value in settings.model_dump().items():
        if value is None or isinstance(value, (dict, list, tuple, set)):
            continue
        text = value.value if isinstance(value, Enum) else value
        env[f"LOA_{name.upper()}"] = str(text).lower() if isinstance(text, bool) else str(text)
    env["LOA_MQTT_URL"] = f"mqtt://{broker.host}:{broker.port}"
    env["LOA_MQTT_PASSWORD"] = broker.password or ""
    env["LOA_WORKER_INSTANCE"] = str(instance)
    return env


class WorkerProcess:
    """`loa worker --instance N` in a process of its own, its log kept for the test."""

    def __init__(self, settings: Settings, broker: BrokerAddress, instance: int) -> None:
        self.instance = instance
        self.lines: list[str] = []
        loa = Path(sys.executable).with_name("loa")
        self.process = subprocess.Popen(  # noqa: S603 - the project's own command
            [str(loa), "worker", "--no-render", "--instance", str(instance)],
            env=_environment(settings, broker, instance),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def log(self) -> str:
        return "\n".join(self.lines[-40:])

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._reader.join(5)


@pytest.fixture
def workers(mqtt_settings: Settings, mosquitto: Mosquitto) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


class Commands:
    """Every command the broker delivers to any receiver, counted per receiver."""

    def __init__(self, broker: BrokerAddress, topics: Topics) -> None:
        self.seen: Counter[tuple[str, int]] = Counter()
        self.bodies: dict[tuple[str, int], list[bytes]] = {}
        self._lock = threading.Lock()
        self.client = MqttClient(broker, client_id=broker.username or "loa-server")
        self.client.subscribe(f"{topics.prefix}/receivers/+/cmd", self._on_message, qos=1)
        self.client.start()
        assert self.client.wait_connected(10)

    def _on_message(self, message: Message) -> None:
        body = json.loads(message.payload)
        if body.get("type") == "programme":
            receiver = message.topic.split("/")[-2]
            broadcast = int(str(body["broadcast_id"]).split(".")[0])  # "<broadcast>.<airing>"
            with self._lock:
                self.seen[(receiver, broadcast)] += 1
                self.bodies.setdefault((receiver, broadcast), []).append(message.payload)

    def payloads(self, broadcast_id: int) -> dict[str, list[bytes]]:
        with self._lock:
            return {r: list(p) for (r, b), p in self.bodies.items() if b == broadcast_id}

    def of(self, broadcast_id: int) -> dict[str, int]:
        with self._lock:
            return {r: n for (r, b), n in self.seen.items() if b == broadcast_id}


def test_a_worker_killed_mid_broadcast_loses_nothing_and_repeats_nothing(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    mosquitto: Mosquitto,
    workers: list[WorkerProcess],
    make_simulation: SimFactory,
) -> None:
    broker = mosquitto.address
    receivers = world.receivers_of(engine, "02680") + world.receivers_of(engine, "02800")
    commands = Commands(broker, Topics(mqtt_settings.mqtt_topic_prefix))
    make_simulation(broker, receivers)
    first = WorkerProcess(mqtt_settings, broker, 1)
    workers.append(first)
    wait_for(lambda: first.said("Worker 1 leads"), timeout=60, show=first.log)
    wait_for(lambda: first.said("Loa worker running"), timeout=60, show=first.log)
    second = WorkerProcess(mqtt_settings, broker, 2)
    workers.append(second)
    wait_for(lambda: second.said("Loa worker running"), timeout=60, show=second.log)
    assert not second.said("Worker 2 leads")

    bid = schedule(engine, mqtt_settings, world, ["02680", "02800"], in_seconds=6)
    # The leader sends the programme and records it sent; receivers start acknowledging
    # it to both ingestors.
    wait_for(lambda: len(commands.of(bid)) == len(receivers), timeout=30, show=first.log)
    wait_for(lambda: "queued" not in states(engine, bid).values(), timeout=30, show=first.log)
    first.kill()  # the leader and one ingestor, with its share of the acks in flight

    wait_for(lambda: second.said("Worker 2 leads"), timeout=20, show=second.log)
    # Supervisors restart what dies (compose `restart:`): instance 1 comes back, and
    # stores the acknowledgements its persistent session kept meanwhile.
    again = WorkerProcess(mqtt_settings, broker, 1)
    workers.append(again)
    wait_for(
        lambda: all_in(engine, bid, {"completed"}),
        timeout=60,
        show=lambda: (states(engine, bid), second.log(), again.log()),
    )
    assert not again.said("Worker 1 leads")  # instance 2 keeps the lead

    with Session(engine) as ses:
        delivered = ses.exec(
            select(Delivery.receiver_id).where(
                Delivery.broadcast_id == bid, col(Delivery.receiver_id).is_not(None)
            )
        ).all()
        repeated = ses.exec(
            select(DeliveryEvent.delivery_id, DeliveryEvent.state, func.count())
            .join(Delivery, col(Delivery.id) == col(DeliveryEvent.delivery_id))
            .where(Delivery.broadcast_id == bid)
            .group_by(col(DeliveryEvent.delivery_id), col(DeliveryEvent.state))
            .having(func.count() > 1)
        ).all()
        airings = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).all()
    assert sorted(r for r in delivered if r) == sorted(receivers)
    assert repeated == []
    assert [a.seq for a in airings] == [1]
    # One programme per receiver: the dispatch ran once, in one worker.
    # One programme per receiver from the dispatch, which ran once, in one worker; and
    # the documented resend when an ingestor (re)subscribes and gets the retained
    # states of receivers online: the stored command again, byte for byte.
    resent = Counter(
        match.group(1)
        for worker in workers
        for line in worker.lines
        if (match := re.search(r"Resent \d+ commands to receiver (\S+) after", line))
    )
    assert commands.of(bid) == {r: 1 + resent[r] for r in receivers}
    assert all(len(set(copies)) == 1 for copies in commands.payloads(bid).values())
    wait_for(lambda: _settled(engine, bid), timeout=30, show=second.log)
    commands.client.stop()


def _settled(engine: Engine, broadcast_id: int) -> bool:
    with Session(engine) as ses:
        return all(
            a.settled
            for a in ses.exec(select(Occurrence).where(Occurrence.broadcast_id == broadcast_id))
        )


def test_ingestors_of_a_shared_group_each_take_a_part_of_the_stream(
    engine: Engine, mqtt_settings: Settings, mosquitto: Mosquitto, world: World
) -> None:
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    ingestors: list[tuple[AckIngestor, MqttClient]] = []
    for instance in (1, 2):
        address, client_id = service_client(mosquitto.address, INGESTOR, instance)
        ingestor = AckIngestor(engine, topics, batch_size=100, flush_ms=10)
        client = MqttClient(address, client_id=client_id, clean_session=False, manual_ack=True)
        ingestor.attach(client, shared_group=GROUP)
        ingestor.start()
        client.start()
        assert client.wait_connected(10)
        ingestors.append((ingestor, client))
    receiver = world.receivers_of(engine, "02680")[0]
    sender = MqttClient(
        BrokerAddress(
            mosquitto.address.host, mosquitto.address.port, receiver, world.receivers[receiver]
        ),
        client_id=receiver,
    )
    sender.start()
    assert sender.wait_connected(10)
    try:
        total = 200
        for n in range(total):
            state = {"receiver_id": receiver, "online": True, "seq": n}
            sender.publish(topics.state(receiver), json.dumps(state).encode(), qos=1)
        wait_for(lambda: sum(i.stats.messages for i, _ in ingestors) >= total, timeout=30)
        counts = [i.stats.messages for i, _ in ingestors]
        assert sum(counts) == total  # each message went to one ingestor only
        assert all(count > 0 for count in counts)  # and both took a part
    finally:
        sender.stop()
        for ingestor, client in ingestors:
            client.stop()
            ingestor.stop()
