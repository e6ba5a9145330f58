"""A station's own jingles reach its receivers, and the rest of the airing is never held back.

Real components: the jingle uploaded through REST (levelled and published like any
recording), the programme built by the service's builder, the Worker on the embedded
broker, an independent paho subscriber and simulated receivers that download and air
every item from the service's media route.
"""

from __future__ import annotations

import json
import queue
from pathlib import Path

import paho.mqtt.client as pahoc
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery
from broadcast.people.models import Role
from broadcast.schedule.models import Occurrence, OccurrenceState
from stations.models import Station
from stations.mqtt import BrokerAddress
from stations.protocol import IDENT_LANGUAGE, Topics, decode_command
from tests.audio import tone_recording
from tests.mqtt.conftest import Media, SimFactory, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import schedule, states
from tests.utils import UserFactory


def test_station_jingles_reach_receivers_and_the_legacy_station_gets_its_delivery(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    media: Media,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_simulation: SimFactory,
    make_user: UserFactory,
    tmp_path: Path,
) -> None:
    yty = world.stations["02680"]
    pha_long = world.stations["02743"]  # a legacy station in the same airing
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    jingles = {}
    for kind, freq in (("intro", 660), ("outro", 880)):
        source = tone_recording(tmp_path / f"{kind}.mp3", 1500, freq=freq)
        with source.open("rb") as handle:
            answer = api.put(
                f"/api/v1/stations/{yty}/idents/{kind}",
                files={"file": (source.name, handle, "audio/mpeg")},
                headers=admin,
            )
        assert answer.status_code == 200, answer.text
        jingles[kind] = answer.json()["idents"][kind]

    # An independent subscriber (plain paho) logged in as one of Y Tý's receivers.
    listener_id, *played_by = world.receivers_of(engine, "02680")
    got: queue.Queue[bytes] = queue.Queue()
    topics = Topics(mqtt_settings.mqtt_topic_prefix)
    listener = pahoc.Client(CallbackAPIVersion.VERSION2, client_id=listener_id)
    listener.username_pw_set(listener_id, world.receivers[listener_id])
    subscribed = queue.Queue[bool]()
    listener.on_subscribe = lambda *_args: subscribed.put(True)
    listener.on_message = lambda _c, _u, message: got.put(message.payload)
    listener.on_connect = lambda client, *_args: client.subscribe(topics.cmd(listener_id), 1)
    listener.connect(embedded_broker.host, embedded_broker.port)
    listener.loop_start()
    try:
        assert subscribed.get(timeout=10)
        sim = make_simulation(embedded_broker, played_by)
        worker = make_worker(embedded_broker)
        bid = schedule(engine, mqtt_settings, world, ["02680", "02743"], in_seconds=0.5)
        report = worker.tick()
        assert report.occurrences == 1 and report.published == 3
        command = decode_command(got.get(timeout=10))
    finally:
        listener.loop_stop()
        listener.disconnect()

    # The jingles open and close the programme, as items in no language ("zxx").
    assert [(i.language, i.sha256) for i in command.items] == [
        (IDENT_LANGUAGE, jingles["intro"]["sha256"]),
        ("vi", world.audio_sha256),
        (IDENT_LANGUAGE, jingles["outro"]["sha256"]),
    ]
    assert IDENT_LANGUAGE == "zxx"
    # The legacy station of the same airing got its delivery; the receivers air it all.
    assert states(engine, bid)[f"station:{pha_long}"] == "sent"
    wait_for(lambda: {states(engine, bid)[r] for r in played_by} == {"completed"}, timeout=20)
    assert all(sim.cache.path(j["sha256"]).stat().st_size == j["bytes"] for j in jingles.values())
    with Session(engine) as ses:
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        assert occ.state == OccurrenceState.dispatched


def test_a_station_whose_programme_cannot_be_built_does_not_hold_back_the_others(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
) -> None:
    yty, amu = world.stations["02680"], world.stations["02659"]
    with Session(engine) as ses:
        # A damaged ident record: the builder fails for this station only.
        station = ses.get(Station, yty)
        assert station is not None
        station.idents = {"intro": {"sha256": "0" * 64, "bytes": "many", "duration_ms": 900}}
        ses.add(station)
        ses.commit()
    worker = make_worker(embedded_broker, ingest=False)
    bid = schedule(engine, mqtt_settings, world, ["082", "02743"], in_seconds=0.5)
    report = worker.tick()
    assert report.occurrences == 1
    found = states(engine, bid)
    yty_rx, amu_rx = world.receivers_of(engine, "02680"), world.receivers_of(engine, "02659")
    assert {found[r] for r in yty_rx} == {"no_content"}
    assert {found[r] for r in amu_rx} == {"sent"}
    assert found[f"station:{world.stations['02743']}"] == "sent"
    with Session(engine) as ses:
        rows = ses.exec(select(Delivery).where(Delivery.station_id == yty)).all()
        assert all(r.payload is None and r.detail for r in rows)
        assert "could not be built" in (rows[0].detail or "")
        occ = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == bid)).one()
        assert occ.state == OccurrenceState.dispatched and occ.detail
    # Nothing is retried: a second pass dispatches and publishes nothing more.
    again = worker.tick()
    assert (again.occurrences, again.published) == (0, 0)
    payload = json.loads(
        next(r.payload for r in _rows(engine, amu) if r.payload)  # A Mú Sung's command
    )
    assert [i["language"] for i in payload["items"]] == ["vi"]


def _rows(engine: Engine, station_id: int) -> list[Delivery]:
    with Session(engine) as ses:
        return list(ses.exec(select(Delivery).where(Delivery.station_id == station_id)).all())
