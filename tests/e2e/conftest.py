"""The whole service for end-to-end tests, and receivers that know only the protocol.

`chain` runs what `loa serve` runs: the HTTP app (uvicorn on a free port, so receivers
download from its media route), the broker (the embedded one, or mosquitto with the files
`loa mqtt sync` writes), the worker (scheduler, dispatcher, ingestor, deadlines) and the
audio renderer with eSpeak NG only. Tests drive it through REST like an integrating system,
and start `tests.e2e.receiver_client.Receiver`s with the demo receivers' credentials.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from api.main import create_app
from broadcast.broker.mosquitto import mosquitto_conf, sync_files
from broadcast.bulletins.rendering import RenderWorker
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo
from broadcast.runtime.background import start_background
from tests.e2e.receiver_client import DeviceClock, Receiver
from tests.live_http import serve_http
from tests.mqtt.conftest import MOSQUITTO, _spawn_mosquitto, wait_for
from tests.utils import TEST_PASSWORD, Headers, SwallowedCallbackErrors, free_port

SERVICE_USER = "loa-server"
SERVICE_PASSWORD = "e2e-service-password"
API = "/api/v1"


@pytest.fixture(autouse=True)
def _no_swallowed_handler_errors() -> Iterator[None]:
    """Fail a test when one of the service's MQTT callbacks raised (they are only logged)."""
    with SwallowedCallbackErrors() as swallowed:
        yield
    assert not swallowed.errors, f"MQTT callbacks raised: {swallowed.errors!r}"


@dataclass
class Chain:
    """The running service, reached over HTTP and MQTT like a real installation."""

    base_url: str
    settings: Settings
    broker: str  # "embedded" or "mosquitto"
    mqtt_port: int
    passwords: dict[str, str]  # receiver id -> password, as shown when registered
    http: httpx.Client
    started: list[Receiver] = field(default_factory=list)
    # What `loa serve` started in the background (the worker: tests may move its clock).
    background: Any = None
    # The HTTP app (tests may move its clock: `app.state.clock`).
    app: Any = None

    def call(
        self, method: str, path: str, headers: Headers | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One REST call under /api/v1."""
        return self.http.request(method, f"{API}{path}", headers=headers, **kwargs)

    def ok(self, method: str, path: str, headers: Headers | None = None, **kwargs: Any) -> Any:
        """One REST call that must succeed; its JSON."""
        answer = self.call(method, path, headers, **kwargs)
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def sign_in(self, username: str, password: str = TEST_PASSWORD) -> Headers:
        """A bearer token from /auth/token, as Authorization headers."""
        token = self.ok("POST", "/auth/token", data={"username": username, "password": password})
        return {"Authorization": f"Bearer {token['access_token']}"}

    def station(self, headers: Headers, area_code: str) -> dict[str, Any]:
        """The one station of a commune."""
        page = self.ok("GET", "/stations", headers, params={"area_code": area_code})
        (station,) = page["items"]
        return dict(station)

    def receiver_ids(self, headers: Headers, station_id: int) -> list[str]:
        """The receivers of a station, by id."""
        page = self.ok("GET", f"/stations/{station_id}/receivers", headers)
        return sorted(r["id"] for r in page["items"])

    def receiver(
        self,
        receiver_id: str,
        clock: DeviceClock | None = None,
        features: list[str] | None = None,
    ) -> Receiver:
        """Start an independent receiver with its own credentials (stopped at the end)."""
        device = Receiver(
            receiver_id,
            self.passwords[receiver_id],
            host="127.0.0.1",
            port=self.mqtt_port,
            prefix=self.settings.mqtt_topic_prefix,
            clock=clock,
            features=features,
        )
        self.started.append(device)
        return device.start()


def _mosquitto(engine: Engine, settings: Settings) -> tuple[Any, Path, int]:
    """mosquitto with the password file and ACL of `loa mqtt sync` (skipped if absent)."""
    if not MOSQUITTO.exists():
        pytest.skip("mosquitto is not installed")
    directory = Path("/tmp") / f"loa-e2e-mosq-{os.getpid()}-{free_port()}"
    directory.mkdir(mode=0o755)
    if os.geteuid() == 0:
        shutil.chown(directory, "mosquitto")
    sync_files(engine=engine, settings=settings, directory=directory)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(mosquitto_conf(directory=directory, port=port))
    conf.chmod(0o644)
    return _spawn_mosquitto(conf, port), directory, port


@pytest.fixture(params=["embedded", "mosquitto"])
def chain(request: pytest.FixtureRequest, settings: Settings, engine: Engine) -> Iterator[Chain]:
    """The whole service on the embedded broker, then on mosquitto."""
    http_port = free_port()
    live = settings.model_copy(
        update={
            "public_base_url": f"http://127.0.0.1:{http_port}",
            "tts_online": False,  # offline engines only: no network
            "tts_engine_policy": {"vi": ["espeak"]},
            "mqtt_username": SERVICE_USER,
            "mqtt_password": SERVICE_PASSWORD,
            "mqtt_embedded_port": free_port(),
            "lookahead_minutes": 30,  # an airing a few seconds away is sent at once
            "scheduler_interval_seconds": 0.2,
            "filler_interval_seconds": 0.2,
            "ingest_flush_ms": 10,
            "render_poll_seconds": 0.2,
        }
    )
    with transaction(engine) as ses:
        passwords = seed_demo(
            session=ses, admin_username="admin", admin_password=TEST_PASSWORD
        ).receivers
    process = directory = None
    mqtt_port = live.mqtt_embedded_port
    if request.param == "mosquitto":
        process, directory, mqtt_port = _mosquitto(engine, live)
        live = live.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{mqtt_port}"})
    app = create_app(live, engine=engine)
    try:
        # One process serves, dispatches, ingests and renders here: on a loaded 2-core
        # machine an answer can take longer than httpx's 5 s default.
        with (
            serve_http(app, http_port) as base_url,
            httpx.Client(base_url=base_url, timeout=30) as http,
        ):
            background = start_background(live, engine)
            app.state.background = background
            renderer = RenderWorker(engine, live)
            renderer.start()
            app.state.renderer = renderer
            worker = background.worker
            assert worker is not None
            wait_for(lambda: worker.publisher.connected)
            chain = Chain(
                base_url,
                live,
                request.param,
                mqtt_port,
                passwords,
                http,
                background=background,
                app=app,
            )
            try:
                yield chain
            finally:
                for device in chain.started:
                    device.stop()
                renderer.stop()
                background.stop()
    finally:
        if process is not None:
            process.terminate()
            process.wait(10)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
