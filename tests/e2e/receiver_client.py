"""A loudspeaker-cluster receiver written from docs/protocol.md alone.

It imports nothing of the service: plain paho-mqtt for the broker and httpx for the media,
so the end-to-end tests hold the service to its published contract, not to its own agent.

What it does, as the protocol asks of a receiver:

- logs in with its receiver id and password, client id = receiver id, clean session off;
  its Last Will is its retained `state` with `online: false`; on every connect it
  subscribes to its `cmd` topic (QoS 1) and then publishes its retained `state` online;
- for a `programme`: acks `received`, downloads every item over HTTP Basic with its own
  credentials, checks sha256 and size (files cached by sha256), acks `downloaded`; airs at
  `air_at` on its own clock (an `emergency` as soon as it is downloaded; it interrupts what
  is playing, acked `failed` with detail `interrupted`), acks `started`, and `completed`
  once the programme's length has passed on its clock; a programme received after its
  `expires_at` is `rejected`, and so is one holding an item of a `type` it does not know
  (a relay: it declares no `features`), with the reason;
- for a `cancel` of an airing not started: `rejected` with detail `cancelled`; of one
  playing: stops it (`failed`, detail `cancelled`); of one aired: ignored;
- a duplicate command (same `broadcast_id` and `version`) gets its last ack again, and
  nothing else happens;
- with `features=["filler"]` (declared in its online `state`): a `filler` command's items
  are downloaded like a programme's, then it holds the command and reports its
  `version` as `filler` in a new retained `state`; an empty one (no spans or no items)
  drops it. No acks for filler. `filling(at)` says whether it would air filler then.

It does not play sound. Its clock (`DeviceClock`) runs in real time and the test moves it
forward to air time and past the programme's length, so nobody waits for either.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)

ENDED = ("completed", "failed", "rejected")


def rfc3339(moment: datetime) -> str:
    """A time as RFC 3339 text with an offset."""
    return moment.astimezone(UTC).isoformat()


def parse_time(text: str) -> datetime:
    """An RFC 3339 time from a command."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return moment


class DeviceClock:
    """A receiver's own clock: real time plus an offset that the test moves forward."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._changed = threading.Condition()

    def now(self) -> datetime:
        """What the device believes the time is."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> None:
        """Move forward by `seconds`."""
        with self._changed:
            self._offset += timedelta(seconds=seconds)
            self._changed.notify_all()

    def jump_to(self, moment: datetime) -> None:
        """Move forward to `moment` (a clock already past it stays where it is)."""
        with self._changed:
            ahead = moment - self.now()
            if ahead > timedelta(0):
                self._offset += ahead
            self._changed.notify_all()

    def wait(self, timeout: float) -> None:
        """Sleep until the clock is moved or `timeout` seconds pass."""
        with self._changed:
            self._changed.wait(timeout)


@dataclass
class Sent:
    """One ack as published."""

    broadcast_id: str
    state: str
    at: datetime
    detail: str | None = None


@dataclass
class Airing:
    """One programme the receiver holds (by `broadcast_id`)."""

    broadcast_id: str
    version: str
    air_at: datetime
    expires_at: datetime
    priority: str
    items: list[dict[str, Any]]
    state: str = "received"  # the last state it acked
    last_ack: bytes = b""  # ... as published
    last_sent: Sent | None = None
    downloaded: bool = False
    started_at: datetime | None = None

    @property
    def length(self) -> timedelta:
        """How long the programme plays: the sum of its items."""
        return timedelta(milliseconds=sum(int(i["duration_ms"]) for i in self.items))


@dataclass
class _Counters:
    downloads: int = 0  # files fetched over HTTP
    commands: list[dict[str, Any]] = field(default_factory=list)


class Receiver:
    """One receiver on its own MQTT session; start() connects, stop() leaves cleanly."""

    def __init__(
        self,
        receiver_id: str,
        password: str,
        *,
        host: str,
        port: int,
        prefix: str = "loa/v1",
        clock: DeviceClock | None = None,
        instant: bool = False,
        features: list[str] | None = None,
    ) -> None:
        self.receiver_id = receiver_id
        self.features = features
        self.filler: dict[str, Any] | None = None  # the filler command it holds
        self.password = password
        self.host, self.port = host, port
        self.clock = clock or DeviceClock()
        # instant: report `completed` as soon as it starts, at start + length (no waiting).
        self.instant = instant
        base = f"{prefix}/receivers/{receiver_id}"
        self.cmd_topic, self.ack_topic, self.state_topic = (
            f"{base}/cmd",
            f"{base}/ack",
            f"{base}/state",
        )
        self.airings: dict[str, Airing] = {}
        self.acks: list[Sent] = []
        self.files: dict[str, bytes] = {}  # the media cache, by sha256
        self.counters = _Counters()
        self.errors: list[str] = []
        # Set to a reason to cut the device's HTTP link (its downloads fail with it).
        self.link_down: str | None = None
        self._lock = threading.RLock()
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._online = threading.Event()
        self._stopping = threading.Event()
        self._http = httpx.Client(timeout=10.0)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=receiver_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self._client.username_pw_set(receiver_id, password)
        self._client.will_set(self.state_topic, self._state(False), qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._threads = [
            threading.Thread(target=self._work, name=f"{receiver_id}-work", daemon=True),
            threading.Thread(target=self._play, name=f"{receiver_id}-play", daemon=True),
        ]

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Receiver:
        """Connect, subscribe, say `online`; returns once the broker has the state."""
        for thread in self._threads:
            thread.start()
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._online.wait(timeout):
            raise ConnectionError(f"{self.receiver_id} did not get online: {self.errors}")
        return self

    def reconnect(self, timeout: float = 10.0) -> None:
        """Drop the connection (as a flaky link does) and connect again; memory is kept."""
        self._online.clear()
        self._client.disconnect()
        self._client.loop_stop()
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._online.wait(timeout):
            raise ConnectionError(f"{self.receiver_id} did not get online again: {self.errors}")

    def stop(self) -> None:
        """Say `offline` (retained) and disconnect."""
        self._stopping.set()
        self._inbox.put(None)
        if self._client.is_connected():
            self._client.publish(self.state_topic, self._state(False), qos=1, retain=True)
        self._client.disconnect()
        self._client.loop_stop()
        for thread in self._threads:
            thread.join(5)
        self._http.close()

    # --- what tests read ---------------------------------------------------------------

    def states(self, broadcast_id: str) -> list[str]:
        """The states it acked for one airing, in order."""
        with self._lock:
            return [a.state for a in self.acks if a.broadcast_id == broadcast_id]

    def acks_of(self, broadcast_id: str) -> list[Sent]:
        """Its acks for one airing, in order."""
        with self._lock:
            return [a for a in self.acks if a.broadcast_id == broadcast_id]

    def wait_for(self, broadcast_id: str, state: str, timeout: float = 15.0) -> Sent:
        """Its first ack of `state` for the airing (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for sent in self.acks_of(broadcast_id):
                if sent.state == state:
                    return sent
            time.sleep(0.01)
        raise AssertionError(
            f"{self.receiver_id} did not ack {state} for {broadcast_id} within {timeout}s "
            f"(acked {self.states(broadcast_id)}, errors {self.errors})"
        )

    # --- MQTT ----------------------------------------------------------------------------

    def _state(self, online: bool) -> bytes:
        with self._lock:
            playing = next((a for a in self.airings.values() if a.state == "started"), None)
            held = self.filler
        body: dict[str, Any] = {"online": online, "at": rfc3339(self.clock.now())}
        if playing is not None:
            body |= {"version": playing.version, "broadcast_id": playing.broadcast_id}
        if online and self.features is not None:
            body["features"] = self.features
        if online and held is not None:
            body["filler"] = held["version"]
        return json.dumps(body).encode()

    def filling(self, at: datetime) -> bool:
        """Whether it airs filler at `at`: it holds some, `at` lies in one of its spans and
        no programme plays."""
        with self._lock:
            held = self.filler
            playing = any(a.state == "started" for a in self.airings.values())
        if held is None or playing:
            return False
        return any(parse_time(s["start"]) <= at < parse_time(s["end"]) for s in held["spans"])

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self.errors.append(f"connect refused: {reason}")
            return
        client.subscribe(self.cmd_topic, qos=1)

    def _on_subscribe(
        self, client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            self.errors.append(f"subscription refused: {reasons}")
            return
        # Online only once commands can reach it: the server resends what is current.
        client.publish(self.state_topic, self._state(True), qos=1, retain=True)
        self._online.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            command = json.loads(message.payload)
            kinds = ("programme", "cancel", "filler")
            if not isinstance(command, dict) or command.get("type") not in kinds:
                raise ValueError(f"not a command: {command!r}")
        except ValueError as exc:
            self.errors.append(f"bad command: {exc}")
            return
        self._inbox.put(command)

    def _ack(self, airing: Airing, state: str, at: datetime, detail: str | None = None) -> None:
        body: dict[str, Any] = {
            "broadcast_id": airing.broadcast_id,
            "state": state,
            "at": rfc3339(at),
        }
        if detail is not None:
            body["detail"] = detail
        payload = json.dumps(body).encode()
        sent = Sent(airing.broadcast_id, state, at, detail)
        with self._lock:
            airing.state, airing.last_ack, airing.last_sent = state, payload, sent
            self.acks.append(sent)
        self._client.publish(self.ack_topic, payload, qos=1)

    # --- commands (one thread, in arrival order) ---------------------------------------

    def _work(self) -> None:
        while True:
            command = self._inbox.get()
            if command is None:
                return
            with self._lock:
                self.counters.commands.append(command)
            try:
                if command["type"] == "programme":
                    self._programme(command)
                elif command["type"] == "filler":
                    self._filler(command)
                else:
                    self._cancel(str(command["broadcast_id"]))
            except Exception as exc:  # noqa: BLE001 - a test reads errors
                log.exception("receiver %s failed on %r", self.receiver_id, command)
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def _programme(self, command: dict[str, Any]) -> None:
        ref, version = str(command["broadcast_id"]), str(command["version"])
        with self._lock:
            known = self.airings.get(ref)
            if known is not None and known.version == version and known.last_sent:
                # A duplicate: repeat the last ack as it was, and do nothing else.
                duplicate = known.last_ack
                self.acks.append(known.last_sent)
            else:
                duplicate = b""
                airing = Airing(
                    broadcast_id=ref,
                    version=version,
                    air_at=parse_time(command["air_at"]),
                    expires_at=parse_time(command["expires_at"]),
                    priority=str(command.get("priority", "normal")),
                    items=list(command["items"]),
                )
                self.airings[ref] = airing  # a new version replaces the old one
        if duplicate:
            self._client.publish(self.ack_topic, duplicate, qos=1)
            return
        now = self.clock.now()
        if now >= airing.expires_at:
            self._ack(airing, "rejected", now, "expired before it was received")
            return
        unknown = sorted({str(i["type"]) for i in airing.items if "type" in i})
        if unknown:  # an item type it does not know (it declared no `features`)
            self._ack(airing, "rejected", now, f"unsupported item type: {', '.join(unknown)}")
            return
        self._ack(airing, "received", now)
        try:
            for item in airing.items:
                self._fetch(item)
        except (httpx.HTTPError, ValueError) as exc:
            self._ack(airing, "failed", self.clock.now(), str(exc)[:500])
            return
        with self._lock:
            if airing.state != "received":
                return  # cancelled while downloading
        self._ack(airing, "downloaded", self.clock.now())
        with self._lock:
            airing.downloaded = True

    def _filler(self, command: dict[str, Any]) -> None:
        if "filler" not in (self.features or []):
            self.errors.append("got filler without declaring it")
            return
        with self._lock:
            if self.filler is not None and self.filler["version"] == command["version"]:
                return  # holds it already
        if command["spans"] and command["items"]:
            try:
                for item in command["items"]:
                    self._fetch(item)
            except (httpx.HTTPError, ValueError) as exc:
                self.errors.append(f"filler not downloaded: {exc}")
                return
            held: dict[str, Any] | None = command
        else:
            held = None
        with self._lock:
            self.filler = held
        self._client.publish(self.state_topic, self._state(True), qos=1, retain=True)

    def _fetch(self, item: dict[str, Any]) -> bytes:
        sha = str(item["sha256"])
        with self._lock:
            cached = self.files.get(sha)
        if cached is not None:
            return cached
        if self.link_down is not None:
            raise httpx.ConnectError(self.link_down)
        answer = self._http.get(str(item["url"]), auth=(self.receiver_id, self.password))
        answer.raise_for_status()
        data = answer.content
        if hashlib.sha256(data).hexdigest() != sha:
            raise ValueError(f"{item['url']}: sha256 does not match {sha}")
        if len(data) != int(item["bytes"]):
            raise ValueError(f"{item['url']}: {len(data)} bytes, expected {item['bytes']}")
        with self._lock:
            self.files[sha] = data
            self.counters.downloads += 1
        return data

    def _cancel(self, ref: str) -> None:
        with self._lock:  # not while the player starts it
            airing = self.airings.get(ref)
            if airing is None or airing.state in ENDED:
                return  # never had it, or already aired: nothing to stop
            if airing.state == "started":
                self._ack(airing, "failed", self.clock.now(), "cancelled")
            else:
                self._ack(airing, "rejected", self.clock.now(), "cancelled")

    # --- airing (one thread, on the device clock) --------------------------------------

    def _play(self) -> None:
        while not self._stopping.is_set():
            self._air_due()
            self.clock.wait(0.05)

    def _air_due(self) -> None:
        now = self.clock.now()
        with self._lock:  # not while a cancel is handled
            held = sorted(self.airings.values(), key=lambda a: a.air_at)
            playing = next((a for a in held if a.state == "started"), None)
            ends_at = (
                playing.started_at + playing.length if playing and playing.started_at else None
            )
            if playing is not None and ends_at is not None and now >= ends_at:
                self._ack(playing, "completed", now)
                playing = None
            for airing in held:
                if airing.state != "downloaded" or not airing.downloaded:
                    continue
                urgent = airing.priority == "emergency"
                if not urgent and now < airing.air_at:
                    continue
                if now >= airing.expires_at:
                    self._ack(airing, "rejected", now, "expired before air time")
                    continue
                if playing is not None:
                    if not urgent:
                        continue  # waits for the current programme to end
                    self._ack(playing, "failed", now, "interrupted")
                airing.started_at = now
                self._ack(airing, "started", now)
                playing = airing
                if self.instant:
                    self._ack(airing, "completed", now + airing.length)
                    playing = None
