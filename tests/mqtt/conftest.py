"""Fixtures for the MQTT side: brokers (embedded, mosquitto), media, workers, receivers.

Programmes are built by the service's own builder from the `world` bulletin's real audio,
and receivers download the files from the service's own media route over HTTP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from broadcast.broker.auth import DatabaseAuthority
from broadcast.broker.mosquitto import mosquitto_conf, sync_files
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import ProgrammeBuilder, default_programme_builder
from broadcast.demo import seed_demo
from broadcast.people.models import Role
from broadcast.runtime.worker import Worker
from stations.broker import EmbeddedBroker
from stations.models import Area, Station
from stations.mqtt import BrokerAddress
from stations.simulate import SimReceiver, Simulation
from tests.audio import approved_bulletin, ensure_user, version_audio
from tests.live_http import serve_http
from tests.utils import TEST_PASSWORD, SwallowedCallbackErrors, free_port
from tts import Synthesizer

SERVICE_USER = "loa-server"
SERVICE_PASSWORD = "service-password-for-tests"
MOSQUITTO = Path("/usr/sbin/mosquitto")
# Approves the `world` bulletin (its author, the admin, may not).
PROVINCE_APPROVER = "duyet.tinh"


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10.0,
    step: float = 0.02,
    *,
    show: Callable[[], Any] | None = None,
) -> Any:
    """Poll until `predicate()` is truthy; fail the test after `timeout`.

    `show` gives what the failure message reports as found at the end (e.g. the states).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    found = f"; found {show()!r}" if show is not None else ""
    raise AssertionError(f"condition not met within {timeout}s: {predicate}{found}")


@pytest.fixture(autouse=True)
def _no_swallowed_handler_errors() -> Iterator[None]:
    """Fail a test when an MQTT callback raised (they are logged, not propagated)."""
    with SwallowedCallbackErrors() as swallowed:
        yield
    assert not swallowed.errors, f"MQTT callbacks raised: {swallowed.errors!r}"


@pytest.fixture
def mqtt_settings(settings: Settings) -> Settings:
    """Settings with short timings so deadlines need no long sleeps.

    Media URLs name a free port where the `media` fixture serves the service's media route.
    """
    return settings.model_copy(
        update={
            "public_base_url": f"http://127.0.0.1:{free_port()}",
            "tts_online": False,
            "mqtt_username": SERVICE_USER,
            "mqtt_password": SERVICE_PASSWORD,
            "lookahead_minutes": 30,
            "programme_expiry_minutes": 15,
            "missed_grace_seconds": 60,
            "ingest_flush_ms": 10,
            "scheduler_interval_seconds": 0.2,
        }
    )


@dataclass
class World:
    """The demo province, its receivers' passwords and one approved bulletin with real audio."""

    receivers: dict[str, str]
    bulletin_id: int
    stations: dict[str, int]  # area code -> station id
    # The bulletin's Vietnamese audio, as published under the media folder.
    audio_sha256: str = ""
    audio_bytes: int = 0
    duration_ms: int = 0

    def receivers_of(self, engine: Engine, area_code: str) -> list[str]:
        """Receiver ids of the station in `area_code`."""
        from stations.models import Receiver

        with Session(engine) as ses:
            return sorted(
                r.id
                for r in ses.exec(
                    select(Receiver).where(Receiver.station_id == self.stations[area_code])
                ).all()
            )


@pytest.fixture
def world(
    engine: Engine, mqtt_settings: Settings, offline_speech: Synthesizer, bulletin_recording: Path
) -> World:
    """Seed the demo province and a bulletin for the whole province, approved, with audio.

    Its Vietnamese version is a 2-second recording, levelled and published as the upload
    route does, so every programme holds one real 2-second file.
    """
    with transaction(engine) as ses:
        result = seed_demo(session=ses, admin_username="admin", admin_password=TEST_PASSWORD)
        ensure_user(ses, PROVINCE_APPROVER, Role.approver, "10")
        stations = {
            area.code: station.id or 0
            for station, area in ses.exec(select(Station, Area).join(Area)).all()
        }
    bulletin_id = approved_bulletin(
        engine,
        mqtt_settings,
        offline_speech,
        title="Phòng chống cháy rừng",
        area_code="10",
        author="admin",
        approver=PROVINCE_APPROVER,
        recordings={"vi": bulletin_recording},
    )
    audio = version_audio(engine, bulletin_id, "vi")
    return World(
        result.receivers,
        bulletin_id,
        stations,
        audio_sha256=audio.audio_sha256 or "",
        audio_bytes=audio.audio_bytes or 0,
        duration_ms=audio.audio_duration_ms or 0,
    )


@dataclass
class Media:
    """The service's media route over HTTP, and the `world` bulletin's audio file."""

    base_url: str
    sha256: str
    size: int
    root: Path  # where the service keeps published audio

    def url(self, sha256: str | None = None) -> str:
        """The URL of a file (the world bulletin's audio by default)."""
        return f"{self.base_url}/media/{sha256 or self.sha256}.mp3"


@pytest.fixture
def media(engine: Engine, mqtt_settings: Settings, world: World) -> Iterator[Media]:
    """The service's app on the port of LOA_PUBLIC_BASE_URL: receivers download from it."""
    from broadcast.bulletins.media import media_dir

    port = urlsplit(mqtt_settings.public_base_url).port or 80
    with serve_http(create_app(mqtt_settings, engine=engine), port) as base_url:
        yield Media(base_url, world.audio_sha256, world.audio_bytes, media_dir(mqtt_settings))


@pytest.fixture
def builder() -> ProgrammeBuilder:
    """The service's own programme builder (the `world` bulletin has real audio)."""
    return default_programme_builder


@pytest.fixture
def embedded_broker(engine: Engine, mqtt_settings: Settings) -> Iterator[BrokerAddress]:
    """amqtt on a free port, authenticating against the test database."""
    authority = DatabaseAuthority(
        engine,
        service_username=SERVICE_USER,
        service_password=SERVICE_PASSWORD,
        prefix=mqtt_settings.mqtt_topic_prefix,
    )
    port = free_port()
    broker = EmbeddedBroker("127.0.0.1", port, authority)
    broker.start()
    yield BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD)
    broker.stop()


@dataclass
class Mosquitto:
    """A mosquitto process started for one test."""

    address: BrokerAddress
    directory: Path
    process: subprocess.Popen[bytes]
    conf: Path

    def restart(self) -> None:
        """Stop it (persistence saved) and start it again on the same port."""
        self.process.terminate()
        self.process.wait(10)
        self.process = _spawn_mosquitto(self.conf, self.address.port)


def _spawn_mosquitto(conf: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(MOSQUITTO), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited: {process.stderr.read() if process.stderr else ''}"
            )
        time.sleep(0.05)
    raise RuntimeError("mosquitto did not start")


@pytest.fixture
def mosquitto(
    engine: Engine, mqtt_settings: Settings, tmp_path_factory: pytest.TempPathFactory, world: World
) -> Iterator[Mosquitto]:
    """mosquitto on a free port with files written by `loa mqtt sync` (skipped if absent)."""
    if not MOSQUITTO.exists() or shutil.which(str(MOSQUITTO)) is None:
        pytest.skip("mosquitto is not installed")
    directory = Path("/tmp") / f"loa-mosq-{os.getpid()}-{free_port()}"
    directory.mkdir(mode=0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "mosquitto")
    sync_files(engine=engine, settings=mqtt_settings, directory=directory)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(mosquitto_conf(directory=directory, port=port))
    conf.chmod(0o644)
    process = _spawn_mosquitto(conf, port)
    handle = Mosquitto(
        BrokerAddress("127.0.0.1", port, SERVICE_USER, SERVICE_PASSWORD), directory, process, conf
    )
    yield handle
    handle.process.terminate()
    handle.process.wait(10)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(params=["embedded", "mosquitto"])
def broker(request: pytest.FixtureRequest, world: World) -> BrokerAddress:
    """Each end-to-end test runs on the embedded broker and on mosquitto."""
    if request.param == "embedded":
        address: BrokerAddress = request.getfixturevalue("embedded_broker")
        return address
    handle: Mosquitto = request.getfixturevalue("mosquitto")
    return handle.address


WorkerFactory = Callable[..., Worker]


@pytest.fixture
def make_worker(engine: Engine, mqtt_settings: Settings) -> Iterator[WorkerFactory]:
    """Start Workers (ingestor running, scheduler ticked by hand); all stopped at the end."""
    started: list[Worker] = []

    def _make(address: BrokerAddress, **kwargs: Any) -> Worker:
        worker = Worker(engine, mqtt_settings, address=address, **kwargs)
        worker.start(loop=False)
        started.append(worker)
        return worker

    yield _make
    for worker in started:
        worker.stop()


SimFactory = Callable[..., Simulation]


@pytest.fixture
def make_simulation(
    tmp_path: Path, world: World, mqtt_settings: Settings, media: Media
) -> Iterator[SimFactory]:
    """Start simulated receivers (real MQTT sessions) by id; all stopped at the end.

    They download from the service's media route (`media`) with their own credentials.
    """
    started: list[Simulation] = []

    def _make(
        address: BrokerAddress, receiver_ids: Sequence[str], time_scale: float = 0.0
    ) -> Simulation:
        sim = Simulation(
            [SimReceiver(rid, world.receivers[rid]) for rid in receiver_ids],
            address.with_login(None, None),
            cache_dir=tmp_path / f"cache-{len(started)}",
            prefix=mqtt_settings.mqtt_topic_prefix,
            time_scale=time_scale,
        )
        sim.start(wait=20)
        started.append(sim)
        return sim

    yield _make
    for sim in started:
        sim.stop()
