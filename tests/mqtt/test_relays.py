"""Relays of live radio end to end: a real stream server, the real receiver agent
(`loa receiver`, ffmpeg) on the embedded broker, the Worker dispatching and storing acks.

The stream is an endless MP3 of a sine made by ffmpeg, served at its pace by an HTTP
server in the test; it can cut its first listener after a moment. Windows are 4 s long.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery, DeliveryEvent
from broadcast.people.models import Role
from broadcast.relays.models import RelaySource
from broadcast.reports.coverage import coverage_report
from broadcast.schedule.service import create_broadcast
from stations.agent import run_receiver
from stations.areas import Scope
from stations.models import Area, Receiver
from stations.mqtt import BrokerAddress
from stations.timeutil import utcnow
from tests.audio import mean_volume_db
from tests.mqtt.conftest import WorkerFactory, World, wait_for
from tests.streams import live_stream
from tests.utils import UserFactory, free_port

WINDOW_SECONDS = 4


class Receivers:
    """Real receiver agents, each `loa receiver` in a thread, stopped at the end."""

    def __init__(self, address: BrokerAddress, world: World, tmp_path: Path, prefix: str):
        self.address, self.world, self.tmp_path, self.prefix = address, world, tmp_path, prefix
        self.running: list[tuple[threading.Event, threading.Thread]] = []

    def start(
        self,
        receiver_id: str,
        *,
        features: tuple[str, ...] = ("relay",),
        relay_output: str | None = None,
    ) -> None:
        """Run one receiver; `features=()` declares no relay support; `relay_output` is
        where ffmpeg relays to (e.g. `-f wav file`; default: nowhere)."""
        stop = threading.Event()
        thread = threading.Thread(
            target=run_receiver,
            kwargs={
                "receiver_id": receiver_id,
                "password": self.world.receivers[receiver_id],
                "address": self.address,
                "cache_dir": self.tmp_path / f"cache-{receiver_id}",
                "prefix": self.prefix,
                "stop": stop,
                "features": features,
                **({"relay_output": relay_output} if relay_output else {}),
            },
            daemon=True,
        )
        thread.start()
        self.running.append((stop, thread))

    def stop(self) -> None:
        """Stop every receiver started."""
        for stop, _ in self.running:
            stop.set()
        for _, thread in self.running:
            thread.join(10)


@pytest.fixture
def receivers(
    embedded_broker: BrokerAddress, world: World, tmp_path: Path, mqtt_settings: Settings
) -> Iterator[Receivers]:
    running = Receivers(embedded_broker, world, tmp_path, mqtt_settings.mqtt_topic_prefix)
    yield running
    running.stop()


def _features(engine: Engine, receiver_ids: list[str]) -> dict[str, list[str] | None]:
    with Session(engine) as ses:
        rows = ses.exec(select(Receiver).where(Receiver.id.in_(receiver_ids))).all()  # type: ignore[attr-defined]
        return {r.id: r.features for r in rows}


def _relay(engine: Engine, settings: Settings, url: str, *, name: str = "VOV1") -> int:
    """A relay source of the province and a relay of it for commune 02680, 1 s from now."""
    with transaction(engine) as ses:
        province = ses.exec(select(Area).where(Area.code == "10")).one()
        source = RelaySource(area_id=province.id or 0, name=name, url=url)
        ses.add(source)
        ses.flush()
        broadcast = create_broadcast(
            session=ses,
            settings=settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[],
            area_codes=["02680"],
            starts_at=utcnow() + timedelta(seconds=1),
            title="Tiếp âm thời sự VOV1",
            relay_source_id=source.id,
            duration_seconds=WINDOW_SECONDS,
        )
        return broadcast.id or 0


def _deliveries(engine: Engine, broadcast_id: int) -> dict[str, Delivery]:
    with Session(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
        return {r.target: r for r in rows}


def _states(engine: Engine, broadcast_id: int) -> dict[str, str]:
    return {t: d.state for t, d in _deliveries(engine, broadcast_id).items()}


def test_a_relay_airs_its_window_through_a_cut_and_reports_the_seconds_lost(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_user: UserFactory,
    receivers: Receivers,
    tmp_path: Path,
) -> None:
    relaying, old, silent = world.receivers_of(engine, "02680")
    worker = make_worker(embedded_broker)
    receivers.start(relaying)
    receivers.start(old, features=())  # firmware that relays nothing
    wait_for(
        lambda: _features(engine, [relaying, old]) == {relaying: ["relay"], old: []},
        show=lambda: _features(engine, [relaying, old, silent]),
    )
    with live_stream(tmp_path, cut_after_seconds=1.5) as stream:
        bid = _relay(engine, mqtt_settings, stream.url)
        report = worker.tick()
        assert report.occurrences == 1 and report.deliveries == 3
        # Only the receiver that declared relays is sent the stream.
        found = _deliveries(engine, bid)
        for rid in (old, silent):
            assert found[rid].state == "rejected"
            assert found[rid].payload is None
            assert "did not declare relay support" in (found[rid].detail or "")
        wait_for(
            lambda: _states(engine, bid)[relaying] in ("completed", "failed"),
            timeout=WINDOW_SECONDS + 10,
            show=lambda: _states(engine, bid),
        )
        assert stream.connections == 2  # cut once, reconnected once
    relayed = _deliveries(engine, bid)[relaying]
    assert relayed.state == "completed", relayed.detail
    assert relayed.started_at is not None
    assert relayed.reconnects == 1
    assert relayed.lost_seconds is not None and 0 < relayed.lost_seconds < WINDOW_SECONDS
    assert relayed.duration_ms == WINDOW_SECONDS * 1000
    with Session(engine) as ses:
        events = ses.exec(
            select(DeliveryEvent.state).where(DeliveryEvent.delivery_id == relayed.id)
        ).all()
    assert {"sent", "received", "started", "completed"} <= set(events)

    # The status shows the relay, the lost seconds and why the others got nothing.
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    shown = api.get(f"/api/v1/broadcasts/{bid}", headers=admin).json()
    assert (shown["kind"], shown["duration_seconds"]) == ("relay", WINDOW_SECONDS)
    status = api.get(f"/api/v1/broadcasts/{bid}/status", headers=admin).json()
    by_receiver = {d["receiver_id"]: d for d in status["deliveries"]}
    assert by_receiver[relaying]["lost_seconds"] == relayed.lost_seconds
    assert by_receiver[relaying]["reconnects"] == 1
    assert by_receiver[old]["state"] == "rejected"
    assert "relay" in by_receiver[old]["detail"]

    # The coverage report counts it as a relay, its minutes less what was lost.
    with Session(engine) as ses:
        now = utcnow()
        coverage = coverage_report(
            session=ses,
            scope=Scope.everything(),
            start=now - timedelta(hours=1),
            end=now + timedelta(hours=1),
            zone=ZoneInfo("Asia/Ho_Chi_Minh"),
        )
    assert coverage.total.relays == 1 and coverage.total.aired == 1
    expected = (WINDOW_SECONDS - relayed.lost_seconds) / 60
    assert coverage.total.relay_minutes == pytest.approx(expected, abs=0.001)
    assert coverage.total.minutes_aired == pytest.approx(expected, abs=0.001)
    day = now.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    total = api.get(f"/api/v1/reports/coverage?from={day}&to={day}", headers=admin).json()["total"]
    assert (total["relays"], total["relay_minutes"]) == (1, round(expected, 2))


def test_a_relay_of_an_unreachable_stream_fails_with_the_reason(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    receivers: Receivers,
) -> None:
    relaying = world.receivers_of(engine, "02680")[0]
    worker = make_worker(embedded_broker)
    receivers.start(relaying)
    wait_for(lambda: _features(engine, [relaying]) == {relaying: ["relay"]})
    # Nothing listens on this port: every connection is refused for the whole window.
    bid = _relay(engine, mqtt_settings, f"http://127.0.0.1:{free_port()}/vov1.mp3")
    worker.tick()
    wait_for(
        lambda: _states(engine, bid)[relaying] in ("completed", "failed"),
        timeout=WINDOW_SECONDS + 10,
        show=lambda: _states(engine, bid),
    )
    failed = _deliveries(engine, bid)[relaying]
    assert failed.state == "failed"
    assert failed.started_at is None  # nothing ever aired
    assert (failed.detail or "").startswith("stream unreachable for the whole window")
    assert "Connection refused" in (failed.detail or "")


def _reported_volume(engine: Engine, rid: str) -> int | None:
    with Session(engine) as ses:
        receiver = ses.get(Receiver, rid)
        return receiver.reported_volume if receiver else None


def test_a_relay_airs_at_the_volume_in_force_when_it_opens_and_the_receiver_reports_it(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_user: UserFactory,
    receivers: Receivers,
    tmp_path: Path,
) -> None:
    relaying, older = world.receivers_of(engine, "02680")[:2]
    worker = make_worker(embedded_broker)
    aired = tmp_path / "relayed.wav"
    receivers.start(relaying, features=("relay", "relay_volume"), relay_output=f"-y -f wav {aired}")
    receivers.start(older, features=("relay",))  # relays, but knows no relay volume
    # Both report the volume they play at (full so far).
    wait_for(lambda: {_reported_volume(engine, r) for r in (relaying, older)} == {100})
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    local = utcnow().astimezone(mqtt_settings.zone)
    window = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
        "volume": 40,
    }
    put = api.put(
        f"/api/v1/stations/{world.stations['02680']}/volume-schedule",
        json={"windows": [window]},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    with live_stream(tmp_path) as stream:
        bid = _relay(engine, mqtt_settings, stream.url)
        assert worker.tick().occurrences == 1
        sent = _deliveries(engine, bid)
        (item,) = json.loads(sent[relaying].payload or "{}")["items"]
        assert (item["type"], item["volume"]) == ("relay", 40)
        (plain,) = json.loads(sent[older].payload or "{}")["items"]
        assert plain["type"] == "relay" and "volume" not in plain
        wait_for(
            lambda: {_states(engine, bid)[r] for r in (relaying, older)} <= {"completed", "failed"},
            timeout=WINDOW_SECONDS + 10,
            show=lambda: _states(engine, bid),
        )
    assert {_states(engine, bid)[r] for r in (relaying, older)} == {"completed"}
    # ffmpeg relayed it at 40 %: about 8 dB below the stream itself.
    drop = mean_volume_db(aired) - mean_volume_db(tmp_path / "sine.mp3")
    assert abs(drop - 20 * math.log10(0.40)) < 1.0, drop
    # The receiver reports the volume it relayed at; the receivers page shows it.
    wait_for(lambda: _reported_volume(engine, relaying) == 40)
    shown = api.get(f"/api/v1/receivers/{relaying}", headers=admin).json()
    assert (shown["reported_volume"], shown["volume_mismatch"]) == (40, False)
