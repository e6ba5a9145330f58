"""The relay extension of the receiver protocol: items of type relay, lost seconds in acks,
features in state; and what a receiver does with a programme it cannot air."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stations.agent import MediaCache, ReceiverAgent, SimulatedPlayer, TimerService
from stations.mqtt import Message
from stations.protocol import (
    AckState,
    MediaItem,
    ProgrammeCommand,
    ProtocolError,
    RelayItem,
    Topics,
    decode_ack,
    decode_command,
    decode_state,
    encode,
)

AIR_AT = datetime(2026, 12, 5, 5, 0, tzinfo=UTC)
SHA = "a" * 64


def relay_command(**item: object) -> dict[str, object]:
    fields = {
        "type": "relay",
        "url": "http://radio.example/vov1.mp3",
        "until": "2026-12-05T06:00:00+07:00",
        "title": "Tiếp âm thời sự VOV1",
        **item,
    }
    return {
        "type": "programme",
        "broadcast_id": "42.1",
        "air_at": "2026-12-05T12:00:00+07:00",
        "expires_at": "2026-12-05T13:00:00+07:00",
        "version": "v1",
        "items": [fields],
    }


@given(
    seconds=st.integers(min_value=0, max_value=24 * 3600),
    offset=st.integers(min_value=-12, max_value=14),
    url=st.text(min_size=1, max_size=200),
    title=st.text(max_size=300),
)
def test_a_relay_item_round_trips_and_lasts_to_its_until(
    seconds: int, offset: int, url: str, title: str
) -> None:
    zone = UTC if offset == 0 else datetime.now(UTC).astimezone().tzinfo
    until = (AIR_AT + timedelta(seconds=seconds)).astimezone(zone)
    command = ProgrammeCommand(
        broadcast_id="42.1",
        air_at=AIR_AT,
        expires_at=AIR_AT + timedelta(hours=1),
        version="v1",
        items=[RelayItem(type="relay", url=url, until=until, title=title)],
    )
    decoded = decode_command(encode(command))
    assert decoded == command
    assert isinstance(decoded, ProgrammeCommand)
    assert decoded.relays[0].until == until
    assert decoded.duration_ms == seconds * 1000
    assert decoded.files == []


@given(
    field=st.sampled_from(["sha256", "bytes", "duration_ms", "codec"]),
    value=st.one_of(st.integers(), st.text(max_size=10)),
)
def test_a_relay_item_takes_no_file_fields(field: str, value: object) -> None:
    with pytest.raises(ProtocolError):
        decode_command(json.dumps(relay_command(**{field: value})).encode())


@given(volume=st.one_of(st.integers(), st.sampled_from(["loud", "", 55.5, -0.5, [60]])))
def test_a_relay_item_takes_a_whole_percent_volume(volume: object) -> None:
    raw = json.dumps(relay_command(volume=volume)).encode()
    if isinstance(volume, int) and 0 <= volume <= 100:
        decoded = decode_command(raw)
        assert isinstance(decoded, ProgrammeCommand)
        assert decoded.relays[0].volume == volume
    else:
        with pytest.raises(ProtocolError):
            decode_command(raw)


@given(until=st.sampled_from(["2026-12-05T06:00:00", "soon", "1969-12-31T23:59:59Z", 1733374800]))
def test_a_relay_ends_at_a_time_with_an_offset(until: object) -> None:
    with pytest.raises(ProtocolError, match="until"):
        decode_command(json.dumps(relay_command(until=until)).encode())


def test_a_relay_programme_holds_its_relay_only() -> None:
    mixed = relay_command()
    mixed["items"] = [
        *mixed["items"],  # type: ignore[list-item]
        {"url": "u", "sha256": SHA, "bytes": 1, "duration_ms": 1, "language": "vi", "title": "t"},
    ]
    with pytest.raises(ProtocolError, match="relay item only"):
        decode_command(json.dumps(mixed).encode())


def test_file_programmes_are_encoded_as_before() -> None:
    """No `type` on file items: receivers that know no relay get the bytes they always got."""
    item = MediaItem(url="u", sha256=SHA, bytes=1, duration_ms=2, language="vi", title="t")
    command = ProgrammeCommand(
        broadcast_id="1.1", air_at=AIR_AT, expires_at=AIR_AT, version="v", items=[item]
    )
    assert encode(command) == (
        b'{"type":"programme","broadcast_id":"1.1","air_at":"2026-12-05T05:00:00Z",'
        b'"expires_at":"2026-12-05T05:00:00Z","priority":"normal","version":"v",'
        b'"items":[{"url":"u","sha256":"' + SHA.encode() + b'","bytes":1,"duration_ms":2,'
        b'"language":"vi","title":"t"}]}'
    )


@given(
    lost=st.one_of(st.none(), st.floats(min_value=0, max_value=24 * 3600)),
    reconnects=st.one_of(st.none(), st.integers(min_value=0, max_value=100_000)),
)
def test_acks_carry_lost_seconds_and_reconnects(lost: float | None, reconnects: int | None) -> None:
    payload = {"broadcast_id": "42.1", "state": "completed", "at": "2026-12-05T06:00:01+07:00"}
    if lost is not None:
        payload["lost_seconds"] = lost  # type: ignore[assignment]
    if reconnects is not None:
        payload["reconnects"] = reconnects  # type: ignore[assignment]
    ack = decode_ack(json.dumps(payload).encode())
    assert (ack.lost_seconds, ack.reconnects) == (lost, reconnects)


@given(
    field=st.sampled_from(["lost_seconds", "reconnects"]),
    value=st.one_of(st.integers(max_value=-1), st.just("many"), st.integers(min_value=10**6)),
)
def test_acks_refuse_impossible_losses(field: str, value: object) -> None:
    payload = {"broadcast_id": "42.1", "state": "completed", "at": "2026-12-05T06:00:01+07:00"}
    with pytest.raises(ProtocolError, match=field):
        decode_ack(json.dumps({**payload, field: value}).encode())


@given(features=st.lists(st.text(max_size=16), max_size=8))
def test_states_declare_features(features: list[str]) -> None:
    state = decode_state(json.dumps({"online": True, "features": features}).encode())
    assert state.features == features


# --- a receiver that cannot air a programme says so -----------------------------------


class Agent:
    """A receiver agent whose acks are kept in a list."""

    def __init__(self, tmp_path: Path, features: list[str] | None) -> None:
        self.sent: list[dict[str, object]] = []
        self.timers = TimerService()
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.done = threading.Event()

        def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
            if topic.endswith("/ack"):
                self.sent.append(json.loads(payload))
                self.done.set()

        self.agent = ReceiverAgent(
            "rx-1",
            password=None,
            topics=Topics(),
            publish=publish,
            cache=MediaCache(tmp_path / "cache"),
            player=SimulatedPlayer(self.timers, 0.0),
            timers=self.timers,
            executor=self.executor,
            features=features,
        )

    def command(self, payload: dict[str, object]) -> dict[str, object]:
        self.agent.on_message(
            Message("loa/v1/receivers/rx-1/cmd", json.dumps(payload).encode(), 1, False)
        )
        assert self.done.wait(5)
        return self.sent[-1]

    def close(self) -> None:
        self.timers.stop()
        self.executor.shutdown()


def test_a_receiver_without_relay_support_rejects_a_relay(tmp_path: Path) -> None:
    agent = Agent(tmp_path, features=None)
    try:
        future = relay_command(until="2099-01-01T00:00:00Z")
        future["air_at"], future["expires_at"] = "2098-12-31T23:00:00Z", "2099-01-01T00:00:00Z"
        ack = agent.command(future)
    finally:
        agent.close()
    assert (ack["broadcast_id"], ack["state"]) == ("42.1", AckState.rejected.value)
    assert ack["detail"] == "unsupported item type: relay"
    assert [state for _, state in agent.agent.acks] == [AckState.rejected]


def test_a_programme_a_receiver_cannot_read_is_rejected_with_the_reason(
    tmp_path: Path,
) -> None:
    agent = Agent(tmp_path, features=["relay"])
    try:
        unknown = relay_command()
        unknown["items"][0]["type"] = "podcast"  # type: ignore[index]
        ack = agent.command(unknown)
    finally:
        agent.close()
    assert (ack["broadcast_id"], ack["state"]) == ("42.1", "rejected")
    assert str(ack["detail"]).startswith("unsupported programme: programme.items.0")
    assert "podcast" in str(ack["detail"])
