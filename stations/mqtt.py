"""One wrapper class that owns a paho MQTT client (MQTT 3.1.1, persistent sessions)."""

from __future__ import annotations

import logging
import random
import ssl
import struct
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as pahoc
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

# Reconnect backoff: starts near RECONNECT_MIN_SECONDS (jittered per client, so a
# fleet that lost the broker together does not come back together) and doubles
# up to RECONNECT_MAX_SECONDS. Tests lower both.
RECONNECT_MIN_SECONDS = 1.0
RECONNECT_MAX_SECONDS = 60.0
# Keepalive: the broker publishes a receiver's Will after 1.5x this without traffic.
KEEPALIVE_SECONDS = 30
CONNECT_TIMEOUT_SECONDS = 10.0

_PUBACK = struct.Struct("!BBH")
_UINT16 = struct.Struct("!H")
# What every MQTT 3.1.1 PUBACK means (shared: nothing in Loa changes them).
_PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)
_PUBACK_PROPERTIES = Properties(PacketTypes.PUBACK)

# The log record of a callback that raised carries this attribute (True), so tests can
# fail on any exception swallowed by the network loop without any shared state here.
CALLBACK_FAILED = "mqtt_callback_failed"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """Where a broker listens, and with which identity to log in."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """Read `mqtt://user:pass@host:port` (or `mqtts://` for TLS)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported broker URL scheme '{parts.scheme}' (use mqtt://)")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    def with_login(self, username: str | None, password: str | None) -> BrokerAddress:
        """The same broker with another identity."""
        return BrokerAddress(self.host, self.port, username, password, self.tls)


class Message(NamedTuple):
    """A message received from the broker (a tuple: thousands a second are made)."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int = 0


@dataclass(frozen=True, slots=True)
class Will:
    """A Last Will the broker publishes when the client vanishes."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


MessageCallback = Callable[[Message], None]


@dataclass
class _Subscription:
    topic: str
    qos: int
    callback: MessageCallback
    active: bool = field(default=True)
    levels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.levels = tuple(shared_filter(self.topic).split("/"))


def shared_filter(topic: str) -> str:
    """The topic filter of a subscription; a shared one (`$share/<group>/<filter>`) unwrapped.

    Messages of a shared subscription arrive under their own topic, never under `$share`.
    """
    if topic.startswith("$share/"):
        parts = topic.split("/", 2)
        if len(parts) == 3:
            return parts[2]
    return topic


def topic_matches(filter_: str, topic: str) -> bool:
    """True when `topic` matches the subscription filter `filter_` (MQTT 3.1.1, 4.7)."""
    return _levels_match(tuple(filter_.split("/")), topic.split("/"))


def _levels_match(levels: tuple[str, ...], parts: list[str]) -> bool:
    # A wildcard first level never matches a topic starting with "$" (4.7.2).
    if parts[0].startswith("$") and levels[0] in ("+", "#"):
        return False
    for index, level in enumerate(levels):
        if level == "#":
            return True  # also matches the parent: "a/#" matches "a"
        if index >= len(parts) or (level != "+" and level != parts[index]):
            return False
    return len(parts) == len(levels)


class _BufferedClient(pahoc.Client):
    """paho's Client reading the socket in large chunks, and every whole packet per wakeup.

    Stock paho reads one packet per select() and each packet with two or more recv()
    calls (1 byte of command, the length byte by byte, then the body): about 150 us a
    message, which capped the ingestor near 6,000 messages/s before any database work.
    Here recv() fills a buffer 64 KiB at a time and loop_read() parses every packet the
    kernel already holds, so a burst costs one select() and a few syscalls.
    """

    _READ_CHUNK = 65536
    # Packets parsed per loop_read() before the loop may write (PUBACKs, publishes);
    # it only stops once the buffer is empty too, so select() sees what is left.
    _READ_BURST = 2000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Called with each QoS 0/1 message instead of on_message (see _handle_publish).
        self.deliver: Callable[[Message], None] | None = None
        self._rbuf = bytearray()
        self._rbuf_sock: object = None
        # The thread queuing a batch in publish_many, and the PUBLISH packets it held back.
        self._batching: int | None = None
        self._batch: list[bytes | bytearray] = []

    def _packet_queue(
        self,
        command: int,
        packet: bytes | bytearray,
        mid: int,
        qos: int,
        info: pahoc.MQTTMessageInfo | None = None,
    ) -> pahoc.MQTTErrorCode:
        """Hold back the QoS 1 PUBLISH packets of a batch being queued by publish_many."""
        if self._batching == threading.get_ident() and command & 0xF0 == pahoc.PUBLISH and qos == 1:
            self._batch.append(packet)
            return pahoc.MQTTErrorCode.MQTT_ERR_SUCCESS
        return super()._packet_queue(command, packet, mid, qos, info)

    def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> list[pahoc.MQTTMessageInfo]:
        """Publish many QoS 1 messages with one wakeup of the network loop and one write.

        Stock paho wakes its network thread for every publish and sends each packet with
        its own send(). Here the packets of the batch are joined and queued once; paho
        still tracks every message (packet id, PUBACK, resending after a reconnect).
        """
        self._batching = threading.get_ident()
        try:
            infos = [self.publish(topic, payload, qos=1) for topic, payload in messages]
        finally:
            self._batching = None
            packets, self._batch = self._batch, []
            if packets:
                super()._packet_queue(pahoc.PUBLISH | 0x02, b"".join(packets), 0, 1)
        return infos

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rbuf_sock is not self._sock:  # a new connection: drop the old bytes
            self._rbuf_sock = self._sock
            self._rbuf.clear()
        if not self._rbuf:
            chunk = super()._sock_recv(self._READ_CHUNK)  # raises BlockingIOError when dry
            if len(chunk) <= bufsize:
                return chunk  # b"" (closed) included
            self._rbuf += chunk
        data = bytes(self._rbuf[:bufsize])
        del self._rbuf[:bufsize]
        return data

    def loop_read(self, max_packets: int = 1) -> pahoc.MQTTErrorCode:
        """Parse every packet available now (not one per call as stock paho does)."""
        count = 0
        while True:
            if self._sock is None:
                return pahoc.MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == pahoc.MQTTErrorCode.MQTT_ERR_AGAIN:
                return pahoc.MQTTErrorCode.MQTT_ERR_SUCCESS
            count += 1
            if count >= self._READ_BURST and not self._rbuf:
                return pahoc.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> pahoc.MQTTErrorCode:
        """Hand a QoS 0/1 PUBLISH to `deliver` as a `Message`, without paho's MQTTMessage.

        MQTT 3.1.1 (3.3): topic length, topic, packet id when QoS > 0, payload. QoS 2,
        MQTT 5 and clients without `deliver` take paho's own path.
        """
        deliver = self.deliver
        header = self._in_packet["command"]
        qos = (header & 0x06) >> 1
        if deliver is None or qos == 2 or self._protocol != pahoc.MQTTv311:
            return super()._handle_publish()
        packet = self._in_packet["packet"]
        end = 2 + _UINT16.unpack_from(packet)[0]
        topic = bytes(packet[2:end]).decode("utf-8", "replace")
        mid = 0
        if qos:
            mid = _UINT16.unpack_from(packet, end)[0]
            end += 2
        message = Message(topic, bytes(packet[end:]), qos, bool(header & 0x01), mid)
        with self._in_callback_mutex:
            _safely(deliver, message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return pahoc.MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> pahoc.MQTTErrorCode:
        """A 3.1.1 PUBACK is its packet id alone: skip decoding a reason and properties."""
        if cmd != "PUBACK" or self._protocol != pahoc.MQTTv311:
            return super()._handle_pubackcomp(cmd)
        mid = _UINT16.unpack_from(self._in_packet["packet"])[0]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_SUCCESS, _PUBACK_PROPERTIES)
        return pahoc.MQTTErrorCode.MQTT_ERR_SUCCESS

    def puback_many(self, mids: Sequence[int]) -> None:
        """PUBACK many QoS 1 messages (manual_ack=True) in one write and one wakeup."""
        if not mids:
            return
        packet = b"".join([_PUBACK.pack(pahoc.PUBACK, 2, mid) for mid in mids])
        self._packet_queue(pahoc.PUBACK, packet, 0, 0)


class MqttClient:
    """A paho client with persistent sessions, safe callbacks and resubscription."""

    def __init__(
        self,
        address: BrokerAddress,
        *,
        client_id: str,
        clean_session: bool = False,
        will: Will | None = None,
        manual_ack: bool = False,
        on_connected: Callable[[bool], None] | None = None,
        max_inflight: int = 1000,
    ) -> None:
        self.address = address
        self.client_id = client_id
        self._subs: list[_Subscription] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._on_connected = on_connected
        self._manual_ack = manual_ack
        self.last_error: str | None = None
        self._client = _BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=pahoc.MQTTv311,
            manual_ack=manual_ack,
        )
        if address.username is not None:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
        if will is not None:
            self._client.will_set(will.topic, will.payload, will.qos, will.retain)
        low = RECONNECT_MIN_SECONDS * random.uniform(0.5, 1.5)
        self._client.reconnect_delay_set(
            max(1, round(low)), max(1, round(max(low, RECONNECT_MAX_SECONDS)))
        )
        # Queue without limit while offline; QoS 1 publishes awaiting their PUBACK at once
        # (max_inflight; 0 = no limit), beyond which paho sends one per PUBACK received.
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.on_connect = self._handle_connect
        self._client.on_disconnect = self._handle_disconnect
        self._client.on_message = self._handle_message
        self._client.deliver = self._dispatch

    @property
    def paho(self) -> pahoc.Client:
        """The underlying paho client (for event loops that drive many clients)."""
        return self._client

    @property
    def connected(self) -> bool:
        """True while the broker has accepted the connection."""
        return self._connected.is_set()

    # --- lifecycle -----------------------------------------------------------

    def start(self, *, wait: bool = True, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        """Connect and run the network loop in a thread; reconnects on its own."""
        self._client.connect_async(self.address.host, self.address.port, KEEPALIVE_SECONDS)
        self._client.loop_start()
        if wait and not self._connected.wait(timeout):
            self.stop()
            raise ConnectionError(
                f"MQTT broker {self.address.host}:{self.address.port} did not accept "
                f"'{self.client_id}' within {timeout:.0f}s ({self.last_error or 'no answer'})"
            )

    def stop(self) -> None:
        """Disconnect cleanly (no Will) and stop the network loop."""
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (True) or `timeout` passes (False)."""
        return self._connected.wait(timeout)

    # --- messages ------------------------------------------------------------

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> pahoc.MQTTMessageInfo:
        """Queue a message; with QoS 1 it survives a reconnect of this client."""
        return self._client.publish(topic, payload, qos=qos, retain=retain)

    def publish_many(self, messages: Sequence[tuple[str, bytes]]) -> list[pahoc.MQTTMessageInfo]:
        """Queue many QoS 1 messages (topic, payload) at once: one wakeup, one write."""
        return self._client.publish_many(messages)

    def subscribe(
        self, topic: str, callback: MessageCallback, *, qos: int = 1
    ) -> Callable[[], None]:
        """Call `callback` for each message on `topic`; returns the unsubscribe function."""
        sub = _Subscription(topic, qos, callback)
        with self._lock:
            self._subs.append(sub)
        if self._connected.is_set():
            self._client.subscribe(topic, qos)

        def unsubscribe() -> None:
            with self._lock:
                if not sub.active:
                    return
                sub.active = False
                self._subs.remove(sub)
                still = any(s.topic == topic for s in self._subs)
            if not still:
                self._client.unsubscribe(topic)

        return unsubscribe

    def ack_many(self, messages: Sequence[Message]) -> None:
        """Acknowledge many messages received with `manual_ack=True` at once."""
        if not self._manual_ack:
            return
        mids = [m.mid for m in messages if m.qos == 1]
        self._client.puback_many(mids)
        for message in messages:
            if message.qos == 2:
                self._client.ack(message.mid, 2)

    # --- paho callbacks --------------------------------------------------------

    def _handle_connect(
        self,
        client: pahoc.Client,
        _userdata: object,
        flags: pahoc.ConnectFlags,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        if reason.is_failure:
            self.last_error = str(reason)
            log.warning("MQTT connect of %s refused: %s", self.client_id, reason)
            return
        with self._lock:
            topics = {s.topic: s.qos for s in self._subs}
        for topic, qos in topics.items():
            client.subscribe(topic, qos)
        self._connected.set()
        if self._on_connected is not None:
            _safely(self._on_connected, bool(flags.session_present))

    def _handle_disconnect(
        self,
        _client: pahoc.Client,
        _userdata: object,
        _flags: object,
        reason: ReasonCode,
        _props: object,
    ) -> None:
        self._connected.clear()
        if reason.is_failure:
            self.last_error = str(reason)
            log.info("MQTT client %s disconnected: %s", self.client_id, reason)

    def _handle_message(
        self, _client: pahoc.Client, _userdata: object, msg: pahoc.MQTTMessage
    ) -> None:
        self._dispatch(Message(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), msg.mid))

    def _dispatch(self, message: Message) -> None:
        with self._lock:
            parts = message.topic.split("/")
            targets = [s.callback for s in self._subs if _levels_match(s.levels, parts)]
        for callback in targets:
            _safely(callback, message)


def _safely(func: Callable[..., None], *args: object) -> None:
    """Run a user callback; one bad handler must not kill the network loop."""
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - logged, marked for tests
        log.exception("MQTT callback %r failed", func, extra={CALLBACK_FAILED: True})
