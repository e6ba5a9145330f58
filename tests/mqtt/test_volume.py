"""Volume by time of day on the real chain.

Real components: the REST API setting the schedules, the Worker on the embedded broker
dispatching and storing the receivers' `state`, the receiver agent (`loa receiver`'s body)
airing through ffmpeg with the item's volume filter, and a simulated receiver.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import _command, default_programme_builder, media_url_for
from broadcast.delivery.models import Delivery
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence
from broadcast.schedule.service import create_broadcast
from stations.agent import CommandPlayer, MediaCache, ReceiverAgent, TimerService, run_receiver
from stations.areas import Scope
from stations.models import Receiver, Station
from stations.mqtt import BrokerAddress
from stations.protocol import Priority, Topics, encode
from stations.timeutil import as_utc, utcnow
from tests.audio import mean_volume_db
from tests.mqtt.conftest import Media, SimFactory, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import states
from tests.utils import UserFactory

STATION = "02680"


def _window_around_now(settings: Settings, volume: int) -> dict[str, Any]:
    """A window from an hour before to an hour after the local time now."""
    local = utcnow().astimezone(settings.zone)
    start = (local - timedelta(hours=1)).strftime("%H:%M")
    end = (local + timedelta(hours=1)).strftime("%H:%M")
    return {"start": start, "end": end, "volume": volume}


def _reported(engine: Engine, rid: str) -> int | None:
    with Session(engine) as ses:
        receiver = ses.get(Receiver, rid)
        return receiver.reported_volume if receiver else None


@pytest.fixture
def real_receiver(
    engine: Engine,
    embedded_broker: BrokerAddress,
    world: World,
    mqtt_settings: Settings,
    tmp_path: Path,
) -> Iterator[tuple[str, Path, Path]]:
    """The first Y Tý receiver run by the agent, airing each item to a WAV file via ffmpeg."""
    out = tmp_path / "aired"
    cache = tmp_path / "agent-cache"
    out.mkdir()
    stop = threading.Event()
    rid = world.receivers_of(engine, STATION)[0]
    command = (
        "ffmpeg -nostdin -hide_banner -loglevel error -y -i {file} "
        f"-af volume={{volume}} {out}/item-{{index}}.wav"
    )
    thread = threading.Thread(
        target=run_receiver,
        kwargs={
            "receiver_id": rid,
            "password": world.receivers[rid],
            "address": embedded_broker.with_login(None, None),
            "cache_dir": cache,
            "prefix": mqtt_settings.mqtt_topic_prefix,
            "player_command": command,
            "stop": stop,
        },
        daemon=True,
    )
    thread.start()
    yield rid, out, cache
    stop.set()
    thread.join(10)


def test_receivers_air_at_the_scheduled_volume_and_report_it(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    media: Media,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
    make_user: UserFactory,
    real_receiver: tuple[str, Path, Path],
) -> None:
    agent_rx, aired, cache = real_receiver
    sid = world.stations[STATION]
    receivers = world.receivers_of(engine, STATION)
    assert agent_rx in receivers
    sim_rx = next(r for r in receivers if r != agent_rx)
    silent_rx = [r for r in receivers if r not in (agent_rx, sim_rx)]
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    worker = make_worker(embedded_broker)
    make_simulation(embedded_broker, [sim_rx])
    # Both report the volume they play at on connect (full volume so far).
    wait_for(lambda: _reported(engine, agent_rx) == 100 and _reported(engine, sim_rx) == 100)

    put = api.put(
        f"/api/v1/stations/{sid}/volume-schedule",
        json={"windows": [_window_around_now(mqtt_settings, 40)], "emergency_volume": 90},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    assert put.json()["current_volume"] == 40
    own = api.put(
        f"/api/v1/receivers/{sim_rx}/volume-schedule",
        json={"windows": [_window_around_now(mqtt_settings, 25)]},
        headers=admin,
    )
    assert own.status_code == 200, own.text
    # Before any airing, both still play at 100 %: flagged against the schedule.
    listed = api.get(f"/api/v1/stations/{sid}/receivers", headers=admin).json()["items"]
    flags = {
        r["id"]: (r["reported_volume"], r["expected_volume"], r["volume_mismatch"]) for r in listed
    }
    assert flags[agent_rx] == (100, 40, True)
    assert flags[sim_rx] == (100, 25, True)

    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=mqtt_settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[world.bulletin_id],
            area_codes=[STATION],
            starts_at=utcnow() + timedelta(seconds=0.5),
        )
        bid = broadcast.id or 0
    assert worker.tick().occurrences == 1
    with Session(engine) as ses:
        payloads = {
            d.receiver_id: json.loads(d.payload or "{}")
            for d in ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).all()
        }
    assert [i["volume"] for i in payloads[agent_rx]["items"]] == [40]
    assert [i["volume"] for i in payloads[sim_rx]["items"]] == [25]
    # A receiver that never reported a volume gets the command without one.
    for rid in silent_rx:
        assert all("volume" not in item for item in payloads[rid]["items"])

    wait_for(
        lambda: {states(engine, bid)[r] for r in (agent_rx, sim_rx)} == {"completed"},
        timeout=30,
        show=lambda: states(engine, bid),
    )
    # ffmpeg aired the item at 40 %: about 8 dB below the file itself.
    wav = aired / "item-0.wav"
    source = MediaCache(cache).path(world.audio_sha256)
    drop = mean_volume_db(wav) - mean_volume_db(source)
    assert abs(drop - 20 * math.log10(0.40)) < 1.0, drop
    # Each reports the volume it aired at, and the server shows it, no longer flagged.
    wait_for(lambda: _reported(engine, agent_rx) == 40 and _reported(engine, sim_rx) == 25)
    shown = api.get(f"/api/v1/receivers/{agent_rx}", headers=admin).json()
    assert (shown["reported_volume"], shown["expected_volume"]) == (40, 40)
    assert shown["volume_mismatch"] is False and shown["reported_volume_at"] is not None

    # The commune turns the station up: the receiver still at 40 % is flagged.
    louder = api.put(
        f"/api/v1/stations/{sid}/volume-schedule",
        json={"windows": [_window_around_now(mqtt_settings, 70)]},
        headers=admin,
    )
    assert louder.status_code == 200
    shown = api.get(f"/api/v1/receivers/{agent_rx}", headers=admin).json()
    assert (shown["reported_volume"], shown["expected_volume"], shown["volume_mismatch"]) == (
        40,
        70,
        True,
    )


def test_without_a_schedule_commands_are_as_before(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    media: Media,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
    make_user: UserFactory,
) -> None:
    sid = world.stations[STATION]
    receivers = world.receivers_of(engine, STATION)
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    worker = make_worker(embedded_broker)
    make_simulation(embedded_broker, receivers)
    wait_for(lambda: all(_reported(engine, r) == 100 for r in receivers))
    # A schedule set and removed again leaves nothing behind.
    night = {"windows": [{"start": "21:00", "end": "06:00", "volume": 60}]}
    assert api.put(f"/api/v1/stations/{sid}/volume-schedule", json=night, headers=admin).is_success
    assert api.delete(f"/api/v1/stations/{sid}/volume-schedule", headers=admin).is_success

    with transaction(engine) as ses:
        broadcast = create_broadcast(
            session=ses,
            settings=mqtt_settings,
            actor=None,
            scope=Scope.everything(),
            bulletin_ids=[world.bulletin_id],
            area_codes=[STATION],
            starts_at=utcnow() + timedelta(seconds=0.5),
        )
        bid = broadcast.id or 0
    worker.tick()
    with Session(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).all()
        occurrence = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        station = ses.get(Station, sid)
        assert station is not None
        programme = default_programme_builder(ses, station, [world.bulletin_id], mqtt_settings)
        expected = encode(
            _command(
                programme,
                f"{bid}.{occurrence.seq}",
                as_utc(occurrence.air_at),
                as_utc(occurrence.expires_at),
                Priority.normal,
                media_url_for(mqtt_settings),
            )
        ).decode()
    assert len(rows) == len(receivers)
    for row in rows:
        assert row.payload == expected  # byte for byte what was sent before schedules existed
        assert '"volume"' not in (row.payload or "")


def test_the_player_command_line_carries_the_volume_only_where_it_can(tmp_path: Path) -> None:
    item = tmp_path / "a.mp3"
    ffplay = CommandPlayer("ffplay -nodisp -autoexit")
    assert ffplay.argv_for(item, 60, 0) == [
        "ffplay",
        "-nodisp",
        "-autoexit",
        "-af",
        "volume=0.60",
        str(item),
    ]
    assert ffplay.argv_for(item, None, 0) == ["ffplay", "-nodisp", "-autoexit", str(item)]
    mpg123 = CommandPlayer("mpg123 -q")
    assert mpg123.argv_for(item, 60, 0) == ["mpg123", "-q", str(item)]
    timers = TimerService()
    executor = ThreadPoolExecutor(max_workers=1)
    try:
        agents = {
            name: ReceiverAgent(
                "rx-test",
                password=None,
                topics=Topics(),
                publish=lambda *_: None,
                cache=MediaCache(tmp_path / "cache"),
                player=player,
                timers=timers,
                executor=executor,
            )
            for name, player in (("ffplay", ffplay), ("mpg123", mpg123))
        }
        # A player that cannot set a volume reports none, so it is never sent one.
        assert json.loads(agents["ffplay"].state_payload(True))["volume"] == 100
        assert "volume" not in json.loads(agents["mpg123"].state_payload(True))
    finally:
        timers.stop()
        executor.shutdown()
