"""Filler on the receiver agent: the station's tracks aired in its broadcast hours whenever
nothing else airs, and the `filler` command (extension) that carries them.

The agent is the real one with real timers, a real media cache and a simulated player;
the tracks are downloaded over HTTP from a local media server. Spans are a few seconds
of the real clock, and tracks last a fraction of a second.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.filler.commands import station_command
from stations import agent as agent_module
from stations.agent import MediaCache, ReceiverAgent, SimulatedPlayer, TimerService
from stations.models import Receiver, Station
from stations.mqtt import BrokerAddress, Message
from stations.protocol import (
    AckState,
    FillerCommand,
    FillerSpan,
    MediaItem,
    ProgrammeCommand,
    ProtocolError,
    Topics,
    decode_command,
    encode,
)
from stations.simulate import MediaServer, SimReceiver, Simulation
from stations.timeutil import utcnow
from tests.mqtt.conftest import Media, WorkerFactory, World, wait_for

RX = "rx-filler-1"
# Simulated tracks last their duration times this (a 1 s track plays for 0.2 s).
TIME_SCALE = 0.2


class Rig:
    """One receiver agent, a media server it downloads from, and what it published."""

    def __init__(
        self,
        tmp_path: Path,
        features: list[str] | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.served = tmp_path / "served"
        self.served.mkdir()
        self.server = MediaServer(self.served).start()
        self.requests: list[str] = []
        self.data: dict[str, bytes] = {}  # every track's content, by sha256
        http = httpx.Client(event_hooks={"request": [lambda r: self.requests.append(str(r.url))]})
        self.timers = TimerService()
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.states: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        # What played filler when each programme step was reported.
        self.filler_at_ack: dict[str, str | None] = {}
        self.agent = ReceiverAgent(
            RX,
            password="secret",
            topics=Topics(),
            publish=self._publish,
            cache=MediaCache(tmp_path / "cache", http=http),
            player=SimulatedPlayer(self.timers, TIME_SCALE),
            timers=self.timers,
            executor=self.executor,
            clock=clock,
            features=features,
        )
        self.agent.publish_state(True)

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        body = json.loads(payload)
        if topic.endswith("/state"):
            assert retain
            self.states.append(body)
        else:
            self.acks.append(body)
            self.filler_at_ack[body["state"]] = self.agent.filler_playing

    def track(self, title: str, duration_ms: int = 1000, *, served: bool = True) -> MediaItem:
        """A filler track: an MP3-named file on the media server (or missing from it)."""
        data = os.urandom(2048)
        sha = hashlib.sha256(data).hexdigest()
        self.data[sha] = data
        if served:
            self.serve(sha)
        return MediaItem(
            url=f"{self.server.base_url}/media/{sha}.mp3",
            sha256=sha,
            bytes=len(data),
            duration_ms=duration_ms,
            language="zxx",
            title=title,
        )

    def serve(self, sha256: str, data: bytes | None = None) -> None:
        """Put a track on the media server (`data`: other bytes under its name)."""
        (self.served / sha256).write_bytes(self.data[sha256] if data is None else data)

    def send(self, command: BaseModel) -> None:
        """The command as it arrives on the receiver's `cmd` topic."""
        self.agent.on_message(Message(f"loa/v1/receivers/{RX}/cmd", encode(command), 1, False))

    def settle(self) -> None:
        """Wait until every download the agent started has ended (one download worker)."""
        self.executor.submit(lambda: None).result(10)

    @property
    def reported(self) -> str | None:
        """The filler its latest retained state reports."""
        return self.states[-1].get("filler")

    def close(self) -> None:
        self.timers.stop()
        self.executor.shutdown()
        self.server.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    running = Rig(tmp_path, features=["relay", "filler"])
    yield running
    running.close()


def filler(
    version: str, items: list[MediaItem], *spans: tuple[datetime, datetime]
) -> FillerCommand:
    return FillerCommand(
        type="filler",
        version=version,
        spans=[FillerSpan(start=start, end=end) for start, end in spans],
        items=items,
    )


def later(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


def test_a_filler_command_is_downloaded_then_reported_in_state(rig: Rig) -> None:
    tracks = [rig.track("Nhạc hiệu đài"), rig.track("Dân ca Tày")]
    rig.send(filler("f1", tracks, (later(3600), later(7200))))
    wait_for(lambda: rig.reported == "f1", show=lambda: rig.states)
    assert sorted(rig.requests) == sorted(t.url for t in tracks)
    assert rig.agent.cache.downloads == 2
    assert all(rig.agent.cache.path(t.sha256).read_bytes() for t in tracks)
    # Outside its span nothing plays, and filler sends no acks.
    assert not rig.agent.filler_played and rig.acks == []
    assert rig.states[-1]["online"] is True and "broadcast_id" not in rig.states[-1]


def test_the_same_version_twice_is_downloaded_once(rig: Rig) -> None:
    tracks = [rig.track("Nhạc hiệu đài"), rig.track("Dân ca Tày")]
    command = filler("f1", tracks, (later(3600), later(7200)))
    rig.send(command)
    rig.send(command)  # a QoS 1 redelivery while it downloads
    rig.settle()
    wait_for(lambda: rig.reported == "f1")
    held = len(rig.states)
    rig.send(command)  # a resend once it is held
    rig.settle()
    assert len(rig.requests) == 2
    assert len(rig.states) == held
    assert [s.get("filler") for s in rig.states] == [None, "f1"]


def test_filler_plays_inside_its_span_and_not_outside(rig: Rig) -> None:
    start, end = later(0.6), later(1.8)
    rig.send(filler("f1", [rig.track("Nhạc hiệu đài")], (start, end)))
    wait_for(lambda: rig.reported == "f1")
    wait_for(lambda: rig.agent.filler_played, timeout=5)
    wait_for(lambda: utcnow() > end + timedelta(seconds=0.5), timeout=5)
    plays = [at for _sha, at in rig.agent.filler_played]
    assert all(start <= at < end for at in plays), (start, end, plays)
    assert rig.agent.filler_playing is None
    # Filler reports no programme, and acks nothing.
    assert rig.acks == []
    assert all("broadcast_id" not in s and "version" not in s for s in rig.states)


def test_tracks_play_in_turn(rig: Rig) -> None:
    # 2.5 s tracks (0.5 s here), each started once the one before has ended.
    tracks = [rig.track(f"Bài {n}", 2500) for n in range(3)]
    rig.send(filler("f1", tracks, (utcnow(), later(30))))
    wait_for(lambda: len(rig.agent.filler_played) >= 5, timeout=10)
    played = list(rig.agent.filler_played)[:5]
    assert [sha for sha, _at in played] == [t.sha256 for t in tracks * 2][:5]
    starts = [at for _sha, at in played]
    assert all(b - a >= timedelta(seconds=0.45) for a, b in itertools.pairwise(starts))


def test_a_span_plays_at_its_volume(rig: Rig) -> None:
    command = FillerCommand(
        type="filler",
        version="f1",
        spans=[FillerSpan(start=utcnow(), end=later(30), volume=40)],
        items=[rig.track("Nhạc hiệu đài")],
    )
    rig.send(command)
    wait_for(lambda: rig.states[-1].get("volume") == 40, show=lambda: rig.states)
    assert rig.states[-1]["filler"] == "f1"


def test_the_span_end_cuts_the_track(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="stations.agent")
    end = later(1.0)
    # A 50 s track (10 s here): the span ends long before it does.
    rig.send(filler("f1", [rig.track("Dân ca Tày", 50_000)], (utcnow(), end)))
    wait_for(lambda: rig.agent.filler_playing is not None)
    assert f"Filler: playing Dân ca Tày until {end.replace(microsecond=0).isoformat()}" in (
        caplog.text
    )
    wait_for(lambda: rig.agent.filler_playing is None, timeout=5)
    assert utcnow() >= end
    assert "Filler: stopped, its span ended" in caplog.text
    assert len(rig.agent.filler_played) == 1


def test_the_next_span_starts_filler_again(rig: Rig) -> None:
    first_end, second = later(0.8), (later(1.6), later(30))
    rig.send(filler("f1", [rig.track("Dân ca Tày", 50_000)], (utcnow(), first_end), second))
    wait_for(lambda: len(rig.agent.filler_played) == 2, timeout=5)
    first, again = (at for _sha, at in rig.agent.filler_played)
    assert first < first_end <= second[0] <= again


def test_a_clock_set_right_is_noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "FILLER_RECHECK_SECONDS", 0.2)
    behind = [timedelta(days=30)]  # a device that booted without the time
    rig = Rig(tmp_path, ["filler"], clock=lambda: utcnow() - behind[0])
    try:
        rig.send(filler("f1", [rig.track("Bài 1", 50_000)], (utcnow(), later(60))))
        wait_for(lambda: rig.reported == "f1")
        assert not rig.agent.filler_played  # by its clock, the span is a month away
        behind[0] = timedelta(0)  # the time comes from the network
        wait_for(lambda: rig.agent.filler_playing is not None, timeout=3)
    finally:
        rig.close()


def test_a_programme_stops_filler_at_its_air_time_and_filler_resumes_after_it(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stations.agent")
    tracks = [rig.track("Bài 1", 50_000), rig.track("Bài 2", 50_000)]
    rig.send(filler("f1", tracks, (utcnow(), later(60))))
    wait_for(lambda: rig.agent.filler_playing == tracks[0].sha256)
    bulletin = rig.track("Phòng chống cháy rừng", 2000)
    air_at = later(1.0)
    programme = ProgrammeCommand(
        broadcast_id="42.1",
        air_at=air_at,
        expires_at=air_at + timedelta(minutes=15),
        version="v1",
        items=[bulletin],
    )
    rig.send(programme)
    wait_for(lambda: any(a["state"] == "completed" for a in rig.acks), timeout=10)
    assert [a["state"] for a in rig.acks] == ["received", "downloaded", "started", "completed"]
    # Filler played until the programme's air time, not during it.
    assert rig.filler_at_ack["downloaded"] == tracks[0].sha256
    assert rig.filler_at_ack["started"] is None
    assert "Filler: stopped, programme 42.1 airs" in caplog.text
    wait_for(lambda: len(rig.agent.filler_played) == 2)
    resumed = rig.agent.filler_played[1]
    assert resumed[0] == tracks[1].sha256  # in turn: the next track
    assert resumed[1] >= datetime.fromisoformat(rig.acks[-1]["at"])
    # Filler playing leaves what the state says of programmes as the programme left it.
    state = json.loads(rig.agent.state_payload(True))
    assert (state["version"], state["filler"]) == ("v1", "f1")
    assert "broadcast_id" not in state
    assert [step for _ref, step in rig.agent.acks] == [
        AckState.received,
        AckState.downloaded,
        AckState.started,
        AckState.completed,
    ]


def test_an_empty_command_takes_filler_away(rig: Rig) -> None:
    rig.send(filler("f1", [rig.track("Bài 1", 50_000)], (utcnow(), later(60))))
    wait_for(lambda: rig.agent.filler_playing is not None)
    assert rig.reported == "f1"
    rig.send(FillerCommand(type="filler", version="none", spans=[], items=[]))
    assert rig.agent.filler_playing is None
    assert "filler" not in rig.states[-1] and rig.states[-1]["online"] is True
    assert rig.agent.filler is None
    assert len(rig.agent.filler_played) == 1


def test_a_failed_download_keeps_the_filler_held(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.send(filler("f1", [rig.track("Bài 1")], (later(3600), later(7200))))
    wait_for(lambda: rig.reported == "f1")
    missing = rig.track("Bài 2", served=False)
    second = filler("f2", [rig.track("Bài 3"), missing], (later(3600), later(7200)))
    rig.send(second)
    rig.settle()
    assert "Filler f2 not taken: could not download its tracks" in caplog.text
    assert "HTTP 404" in caplog.text
    assert rig.reported == "f1" and rig.agent.filler == "f1"
    # The server sends it again later: a wrong file under its name is refused by digest.
    rig.serve(missing.sha256, b"not the track")
    rig.send(second)
    rig.settle()
    assert "does not match" in caplog.text
    assert rig.reported == "f1"
    assert all(s.get("filler") != "f2" for s in rig.states)
    # Once the right file is served, the resend is taken.
    rig.serve(missing.sha256)
    rig.send(second)
    rig.settle()
    assert rig.reported == "f2" and rig.agent.filler == "f2"


def test_a_receiver_without_the_feature_ignores_filler(tmp_path: Path) -> None:
    rig = Rig(tmp_path, features=["relay"])
    try:
        rig.send(filler("f1", [rig.track("Bài 1")], (utcnow(), later(60))))
        rig.settle()
        assert rig.requests == []
        assert rig.agent.filler is None and not rig.agent.filler_played
        assert len(rig.states) == 1  # the state it started with, and nothing since
        assert "filler" not in rig.states[0] and rig.states[0]["features"] == ["relay"]
    finally:
        rig.close()


# --- the filler command on the wire ---------------------------------------------------

BASE = datetime(2026, 12, 5, 22, 30, tzinfo=UTC)

span_shape = st.tuples(
    st.integers(min_value=0, max_value=2 * 86400),  # gap before the span, seconds
    st.integers(min_value=1, max_value=86400),  # its length
    st.one_of(st.none(), st.integers(min_value=0, max_value=100)),  # its volume
)
spans_strategy = st.lists(span_shape, max_size=30)
items_strategy = st.lists(
    st.builds(
        MediaItem,
        url=st.text(min_size=1, max_size=100),
        sha256=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
        bytes=st.integers(min_value=0, max_value=2**31),
        duration_ms=st.integers(min_value=0, max_value=24 * 3600 * 1000),
        language=st.just("zxx"),
        title=st.text(max_size=100),
    ),
    max_size=10,
)


def build_spans(shape: list[tuple[int, int, int | None]]) -> list[FillerSpan]:
    spans, cursor = [], BASE
    for gap, length, level in shape:
        start = cursor + timedelta(seconds=gap)
        cursor = start + timedelta(seconds=length)
        spans.append(FillerSpan(start=start, end=cursor, volume=level))
    return spans


@given(shape=spans_strategy, items=items_strategy, version=st.text(max_size=64))
def test_a_filler_command_round_trips(
    shape: list[tuple[int, int, int | None]], items: list[MediaItem], version: str
) -> None:
    command = FillerCommand(type="filler", version=version, spans=build_spans(shape), items=items)
    decoded = decode_command(encode(command))
    assert decoded == command
    assert isinstance(decoded, FillerCommand)
    assert decoded.airs == bool(shape and items)


@given(shape=spans_strategy, offset=st.integers(min_value=-3600, max_value=40 * 86400))
def test_the_span_at_a_moment_and_the_next_start(
    shape: list[tuple[int, int, int | None]], offset: int
) -> None:
    spans = build_spans(shape)
    command = FillerCommand(type="filler", version="v", spans=spans, items=[])
    moment = BASE + timedelta(seconds=offset)
    holding = [s for s in spans if s.start <= moment < s.end]
    assert command.span_at(moment) == (holding[0] if holding else None)
    after = [s.start for s in spans if s.start > moment]
    assert command.next_start(moment) == (after[0] if after else None)


def wire(spans: list[dict[str, object]]) -> bytes:
    return json.dumps({"type": "filler", "version": "v", "spans": spans, "items": []}).encode()


@given(
    shape=st.lists(span_shape, min_size=2, max_size=30),
    data=st.data(),
)
def test_overlapping_spans_are_refused(
    shape: list[tuple[int, int, int | None]], data: st.DataObject
) -> None:
    spans = [s.model_dump(mode="json") for s in build_spans(shape)]
    index = data.draw(st.integers(min_value=1, max_value=len(spans) - 1))
    spans[index - 1], spans[index] = spans[index], spans[index - 1]  # out of order
    with pytest.raises(ProtocolError, match="do not overlap"):
        decode_command(wire(spans))


@given(
    start=st.integers(min_value=0, max_value=86400), back=st.integers(min_value=0, max_value=86400)
)
def test_a_span_that_ends_before_it_starts_is_refused(start: int, back: int) -> None:
    begins = BASE + timedelta(seconds=start)
    span = {"start": begins.isoformat(), "end": (begins - timedelta(seconds=back)).isoformat()}
    with pytest.raises(ProtocolError, match="ends after it starts"):
        decode_command(wire([span]))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
times = st.one_of(
    json_values,
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat),
    st.datetimes().map(datetime.isoformat),  # no offset
)


@given(
    spans=st.lists(
        st.fixed_dictionaries({"start": times, "end": times}, optional={"volume": json_values}),
        max_size=4,
    ),
    items=st.one_of(json_values, st.lists(json_values, max_size=3)),
    version=json_values,
)
def test_a_malformed_filler_command_is_a_protocol_error(
    spans: list[dict[str, object]], items: object, version: object
) -> None:
    payload = json.dumps({"type": "filler", "version": version, "spans": spans, "items": items})
    try:
        decoded = decode_command(payload.encode())
    except ProtocolError:
        return
    assert isinstance(decoded, FillerCommand)


# --- end to end: the worker's filler pass, the broker, simulated receivers --------------


def _receivers(engine: Engine, ids: list[str]) -> dict[str, tuple[list[str] | None, str | None]]:
    with Session(engine) as ses:
        rows = ses.exec(select(Receiver).where(col(Receiver.id).in_(ids))).all()
        return {r.id: (r.features, r.filler_version) for r in rows}


def _set_filler(engine: Engine, station_id: int, data: dict[str, Any]) -> None:
    with transaction(engine) as ses:
        station = ses.get(Station, station_id)
        assert station is not None
        station.filler = data
        ses.add(station)


def test_the_worker_keeps_receivers_that_air_filler_holding_their_stations(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    media: Media,
    embedded_broker: BrokerAddress,
    make_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    airing, old = world.receivers_of(engine, "02680")[:2]
    worker = make_worker(embedded_broker)
    sim = Simulation(
        [
            SimReceiver(airing, world.receivers[airing]),  # declares ["filler"]
            SimReceiver(old, world.receivers[old], features=None),  # firmware without filler
        ],
        embedded_broker.with_login(None, None),
        cache_dir=tmp_path / "sim-cache",
        prefix=mqtt_settings.mqtt_topic_prefix,
        time_scale=0.01,
    )
    sim.start(wait=20)
    try:
        wait_for(
            lambda: (
                _receivers(engine, [airing, old]) == {airing: (["filler"], None), old: (None, None)}
            ),
            show=lambda: _receivers(engine, [airing, old]),
        )
        _set_filler(
            engine,
            world.stations["02680"],
            {
                "enabled": True,
                "windows": [{"start": "00:00", "end": "24:00"}],
                "tracks": [
                    {
                        "sha256": media.sha256,
                        "bytes": media.size,
                        "duration_ms": world.duration_ms,
                        "title": "Nhạc hiệu đài",
                    }
                ],
            },
        )
        assert worker.filler_pass() == 1  # the receiver without the feature gets nothing
        with Session(engine) as ses:
            station = ses.get(Station, world.stations["02680"])
            assert station is not None
            expected = station_command(
                session=ses, settings=mqtt_settings, station=station, now=utcnow()
            )
        assert expected is not None
        # Downloaded from the service's media route with its own login, held, reported.
        wait_for(
            lambda: _receivers(engine, [airing])[airing] == (["filler"], expected.version),
            show=lambda: _receivers(engine, [airing]),
        )
        agent = sim.agents[airing]
        assert agent.filler == expected.version
        wait_for(lambda: agent.filler_played)
        assert agent.filler_played[0][0] == media.sha256
        assert sim.agents[old].filler is None and not sim.agents[old].filler_played
        assert worker.filler_pass() == 0  # in step: nothing to send

        # Filler turned off: the receiver is told to hold none, and stops.
        _set_filler(
            engine, world.stations["02680"], {"enabled": False, "windows": [], "tracks": []}
        )
        assert worker.filler_pass() == 1
        wait_for(lambda: agent.filler is None and agent.filler_playing is None)
        wait_for(lambda: _receivers(engine, [airing])[airing] == (["filler"], None))
        assert worker.filler_pass() == 0
    finally:
        sim.stop()
