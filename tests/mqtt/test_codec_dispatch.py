"""An Opus station's receivers get Opus only when they declared it; the others keep MP3.

Real components: the REST API choosing the station's codec, eSpeak NG rendering the
bulletin, the Worker on the embedded broker storing the receivers' `state` (with the
codecs they declare) and dispatching, simulated receivers that download and air every
file from the service's media route over HTTP.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.models import Delivery
from broadcast.people.models import Role
from broadcast.schedule.service import create_broadcast
from stations.areas import Scope
from stations.models import Receiver
from stations.mqtt import BrokerAddress
from stations.simulate import SimReceiver, Simulation
from stations.timeutil import utcnow
from tests.audio import approved_bulletin
from tests.mqtt.conftest import PROVINCE_APPROVER, Media, WorkerFactory, World, wait_for
from tests.mqtt.test_end_to_end import states
from tests.utils import UserFactory
from tts import Synthesizer

TEXT = "Bà con chú ý: từ ngày mai xã tổ chức tiêm phòng cho trâu bò tại nhà văn hóa thôn."


def test_opus_goes_only_to_receivers_that_declared_it(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    media: Media,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    make_user: UserFactory,
    offline_speech: Synthesizer,
    tmp_path: Path,
) -> None:
    yty = world.stations["02680"]
    admin = make_user(Role.admin)
    api = TestClient(create_app(mqtt_settings, engine=engine))
    chosen = api.patch(
        f"/api/v1/stations/{yty}",
        json={"audio_codec": "opus", "opus_bitrate_kbps": 20},
        headers=admin,
    )
    assert chosen.status_code == 200, chosen.text
    bulletin_id = approved_bulletin(
        engine,
        mqtt_settings,
        offline_speech,
        title="Tiêm phòng cho trâu bò",
        area_code="10",
        author="admin",
        approver=PROVINCE_APPROVER,
        texts={"vi": TEXT},
    )
    opus_rx, mp3_rx, silent_rx = world.receivers_of(engine, "02680")
    worker = make_worker(embedded_broker)
    sim = Simulation(
        [
            SimReceiver(opus_rx, world.receivers[opus_rx]),  # declares ["mp3", "opus"]
            SimReceiver(mp3_rx, world.receivers[mp3_rx], codecs=None),  # declares nothing
        ],
        embedded_broker.with_login(None, None),
        cache_dir=tmp_path / "cache",
        prefix=mqtt_settings.mqtt_topic_prefix,
        time_scale=0.0,
    )
    sim.start(wait=20)
    try:

        def declared() -> dict[str, list[str] | None]:
            with Session(engine) as ses:
                rows = ses.exec(select(Receiver).where(Receiver.station_id == yty)).all()
                return {r.id: r.codecs for r in rows}

        wait_for(lambda: declared()[opus_rx] == ["mp3", "opus"], show=declared)
        assert declared()[mp3_rx] is None and declared()[silent_rx] is None
        shown = api.get(f"/api/v1/receivers/{opus_rx}", headers=admin).json()
        assert shown["codecs"] == ["mp3", "opus"]
        assert api.get(f"/api/v1/receivers/{mp3_rx}", headers=admin).json()["codecs"] is None

        with transaction(engine) as ses:
            broadcast = create_broadcast(
                session=ses,
                settings=mqtt_settings,
                actor=None,
                scope=Scope.everything(),
                bulletin_ids=[bulletin_id, world.bulletin_id],  # read, then recorded
                area_codes=["02680"],
                starts_at=utcnow() + timedelta(seconds=0.5),
            )
            bid = broadcast.id or 0
        report = worker.tick()
        assert report.occurrences == 1 and report.deliveries == 3

        with Session(engine) as ses:
            rows = {
                d.receiver_id: d
                for d in ses.exec(select(Delivery).where(Delivery.broadcast_id == bid)).all()
            }
        items = {rid: json.loads(rows[rid].payload or "{}")["items"] for rid in rows}
        opus_item, opus_recording = items[opus_rx]
        mp3_item, mp3_recording = items[mp3_rx]
        # The recording too reaches the Opus receiver in Opus, the other one as uploaded.
        assert opus_recording["codec"] == "opus" and opus_recording["sha256"] != world.audio_sha256
        assert mp3_recording["sha256"] == world.audio_sha256 and "codec" not in mp3_recording
        assert abs(opus_recording["duration_ms"] - world.duration_ms) < 100
        assert (opus_item["codec"], opus_item["content_type"]) == ("opus", "audio/ogg")
        assert opus_item["url"].endswith(f"/media/{opus_item['sha256']}.opus")
        assert "codec" not in mp3_item and mp3_item["url"].endswith(".mp3")
        assert items[silent_rx] == items[mp3_rx]  # never connected: MP3 too
        assert rows[opus_rx].version != rows[mp3_rx].version
        assert opus_item["bytes"] < mp3_item["bytes"]  # 20 kb/s Opus against 48 kb/s MP3

        # Both receivers download their own file and air it.
        wait_for(
            lambda: {states(engine, bid)[r] for r in (opus_rx, mp3_rx)} == {"completed"},
            timeout=20,
            show=lambda: states(engine, bid),
        )
        assert sim.cache.path(opus_item["sha256"]).read_bytes()[:4] == b"OggS"
        assert sim.cache.path(opus_recording["sha256"]).read_bytes()[:4] == b"OggS"

        # The media route serves each with its content type, and only to whom it was sent.
        def fetch(url: str, rid: str) -> httpx.Response:
            return httpx.get(url, auth=(rid, world.receivers[rid]), timeout=10)

        got = fetch(opus_item["url"], opus_rx)
        assert got.status_code == 200 and got.headers["content-type"] == "audio/ogg"
        assert len(got.content) == opus_item["bytes"]
        got = fetch(mp3_item["url"], mp3_rx)
        assert got.status_code == 200 and got.headers["content-type"] == "audio/mpeg"
        assert fetch(opus_item["url"], mp3_rx).status_code == 404
    finally:
        sim.stop()
