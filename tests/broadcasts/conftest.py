"""Fixtures of the broadcast tests: the service's publisher on a real broker, and a bulletin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from broadcast.broker.auth import DatabaseAuthority
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from stations.broker import EmbeddedBroker
from stations.mqtt import BrokerAddress, Message, MqttClient
from stations.protocol import Topics
from tests.audio import approved_bulletin, ensure_user, tone_recording
from tests.mqtt.conftest import SERVICE_PASSWORD, SERVICE_USER, wait_for
from tests.utils import free_port
from tts import Synthesizer


class Wire:
    """The service's MQTT publisher on the embedded broker, and a client that hears every
    command it sends to receivers (what a fleet of receivers would get)."""

    MARKER = "end-of-commands"

    def __init__(self, broker: BrokerAddress, prefix: str) -> None:
        self.topics = Topics(prefix)
        self.publisher = MqttClient(broker, client_id="loa-test-publisher")
        self.listener = MqttClient(broker, client_id="loa-test-listener")
        self._heard: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.listener.subscribe(self.topics.cmd("+"), self._hear)
        self.listener.start()
        self.publisher.start()

    def _hear(self, message: Message) -> None:
        with self._lock:
            self._heard.append((message.topic, message.payload))

    def sent(self) -> list[tuple[str, bytes]]:
        """The commands heard since the last call, in the order they were sent.

        A marker sent last on the same connection closes the list, so "nothing more"
        needs no waiting.
        """
        marker = self.topics.cmd(self.MARKER)
        self.publisher.publish(marker, b"{}", qos=1)
        wait_for(lambda: any(t == marker for t, _ in self._heard))
        with self._lock:
            heard, self._heard = self._heard, []
        return [(t, p) for t, p in heard if t != marker]

    def stop(self) -> None:
        self.publisher.stop()
        self.listener.stop()


@pytest.fixture
def wire(engine: Engine, settings: Settings) -> Iterator[Wire]:
    """amqtt on a free port, authenticating against the test database."""
    authority = DatabaseAuthority(
        engine,
        service_username=SERVICE_USER,
        service_password=SERVICE_PASSWORD,
        prefix=settings.mqtt_topic_prefix,
    )
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, authority)
    broker.start()
    link = Wire(
        BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD),
        settings.mqtt_topic_prefix,
    )
    try:
        yield link
    finally:
        link.stop()
        broker.stop()


@pytest.fixture(scope="module")
def minute_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-minute recording of the bulletin (an ffmpeg tone)."""
    return tone_recording(tmp_path_factory.mktemp("minute") / "ban-tin.mp3", 60_000)


@pytest.fixture
def bulletin(
    engine: Engine,
    settings: Settings,
    demo: dict[str, str],
    offline_speech: Synthesizer,
    minute_recording: Path,
) -> int:
    """A province bulletin with a one-minute Vietnamese recording, submitted and approved."""
    with transaction(engine) as ses:
        approver = ensure_user(ses, "duyet.tinh", Role.approver, "10")
    return approved_bulletin(
        engine,
        settings,
        offline_speech,
        title="Tuyên truyền luật biên giới",
        area_code="10",
        author="admin",
        approver=approver,
        recordings={"vi": minute_recording},
    )
