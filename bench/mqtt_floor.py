"""The floor of the dispatch bench: a minimal MQTT 3.1.1 client over raw non-blocking sockets.

Nothing but what the bench's messages need: CONNECT (user and password), SUBSCRIBE at
QoS 1, PUBLISH at QoS 0/1, PUBACK both ways. Every connection is driven by one selector
in one thread; writes are queued and sent in as few system calls as the kernel allows
(pipelined: no packet waits for the answer to the one before). No retries, no keep-alive,
no persistence: a bench tool, never part of Loa.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from collections.abc import Callable, Iterable

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9


def _length(n: int) -> bytes:
    """MQTT's variable-length integer (remaining length)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _text(value: str | bytes) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return len(data).to_bytes(2, "big") + data


def connect_packet(client_id: str, username: str, password: str, keepalive: int = 600) -> bytes:
    """CONNECT, clean session, with username and password."""
    body = (
        _text("MQTT")
        + bytes([4, 0x80 | 0x40 | 0x02])
        + keepalive.to_bytes(2, "big")
        + _text(client_id)
        + _text(username)
        + _text(password)
    )
    return bytes([CONNECT << 4]) + _length(len(body)) + body


def subscribe_packet(packet_id: int, topic: str, qos: int = 1) -> bytes:
    body = packet_id.to_bytes(2, "big") + _text(topic) + bytes([qos])
    return bytes([SUBSCRIBE << 4 | 0x02]) + _length(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, qos: int = 1, packet_id: int = 0) -> bytes:
    head = _text(topic) + (packet_id.to_bytes(2, "big") if qos else b"")
    size = len(head) + len(payload)
    return bytes([PUBLISH << 4 | qos << 1]) + _length(size) + head + payload


def puback_packet(packet_id: int) -> bytes:
    return bytes([PUBACK << 4, 2]) + packet_id.to_bytes(2, "big")


class Connection:
    """One MQTT session on a non-blocking socket: an output queue and a packet parser."""

    def __init__(self, loop: Loop, client_id: str, username: str, password: str) -> None:
        self.loop = loop
        self.client_id = client_id
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.connected = False  # the TCP connection is up
        self.mask = 0  # the selector events registered
        self.connack = False
        self.subacks = 0
        self.pubacks = 0
        self.published = 0
        self.next_id = 0
        # Called with (connection, topic, payload) for each PUBLISH received.
        self.on_message: Callable[[Connection, bytes, bytes], None] | None = None
        self.outbox += connect_packet(client_id, username, password)

    def packet_id(self) -> int:
        self.next_id = self.next_id % 65535 + 1
        return self.next_id

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self.outbox += subscribe_packet(self.packet_id(), topic, qos)
        self.loop.dirty(self)

    def publish(self, topic: bytes, payload: bytes, qos: int = 1) -> None:
        self.outbox += publish_packet(topic, payload, qos, self.packet_id() if qos else 0)
        self.published += 1
        self.loop.dirty(self)

    def feed(self, data: bytes) -> None:
        """Parse every whole packet in the input buffer."""
        buf = self.inbox
        buf += data
        at, end = 0, len(buf)
        while end - at >= 2:
            first = buf[at]
            size, shift, pos, whole = 0, 0, at + 1, False
            while pos < end:
                digit = buf[pos]
                pos += 1
                size |= (digit & 0x7F) << shift
                shift += 7
                if not digit & 0x80:
                    whole = True
                    break
            if not whole or pos + size > end:
                break
            kind = first >> 4
            if kind == PUBLISH:
                qos = (first >> 1) & 3
                topic_len = buf[pos] << 8 | buf[pos + 1]
                topic = bytes(buf[pos + 2 : pos + 2 + topic_len])
                body = pos + 2 + topic_len
                if qos:
                    packet_id = buf[body] << 8 | buf[body + 1]
                    body += 2
                    self.outbox += puback_packet(packet_id)
                    self.loop.dirty(self)
                if self.on_message is not None:
                    self.on_message(self, topic, bytes(buf[body : pos + size]))
            elif kind == PUBACK:
                self.pubacks += 1
            elif kind == CONNACK:
                if buf[pos + 1] != 0:
                    raise ConnectionError(f"{self.client_id}: CONNACK refused ({buf[pos + 1]})")
                self.connack = True
            elif kind == SUBACK:
                if buf[pos + 2] & 0x80:
                    raise ConnectionError(f"{self.client_id}: SUBSCRIBE refused")
                self.subacks += 1
            at = pos + size
        del buf[:at]


class Loop:
    """One selector for many connections; pending connects are capped (the listen backlog)."""

    def __init__(self, host: str, port: int, *, connecting: int = 256) -> None:
        self.address = (host, port)
        self.selector = selectors.DefaultSelector()
        self.connections: list[Connection] = []
        self._waiting: list[Connection] = []
        self._connecting = 0
        self._limit = connecting
        self._dirty: dict[int, Connection] = {}

    def add(self, conn: Connection) -> Connection:
        self.connections.append(conn)
        self._waiting.append(conn)
        return conn

    def dirty(self, conn: Connection) -> None:
        if conn.connected:
            self._dirty[id(conn)] = conn

    def _start_connects(self) -> None:
        while self._waiting and self._connecting < self._limit:
            conn = self._waiting.pop()
            code = conn.sock.connect_ex(self.address)
            if code not in (0, errno.EINPROGRESS):
                raise ConnectionError(f"{conn.client_id}: connect failed ({errno.errorcode[code]})")
            self.selector.register(conn.sock, selectors.EVENT_WRITE, conn)
            conn.mask = selectors.EVENT_WRITE
            self._connecting += 1

    def _watch(self, conn: Connection, mask: int) -> None:
        if conn.mask != mask:
            self.selector.modify(conn.sock, mask, conn)
            conn.mask = mask

    def _flush(self, conn: Connection) -> None:
        while conn.outbox:
            try:
                sent = conn.sock.send(conn.outbox)
            except BlockingIOError:
                self._watch(conn, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
            del conn.outbox[:sent]
        self._watch(conn, selectors.EVENT_READ)

    def run(self, until: Callable[[], bool], timeout: float = 120.0) -> bool:
        """Drive every connection until `until()` holds (True) or timeout passes (False)."""
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                return False
            self._start_connects()
            for conn in list(self._dirty.values()):
                self._flush(conn)
            self._dirty.clear()
            for key, events in self.selector.select(0.05):
                conn = key.data
                if not conn.connected:
                    if events & selectors.EVENT_WRITE:
                        code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                        if code:
                            raise ConnectionError(f"{conn.client_id}: {errno.errorcode[code]}")
                        conn.connected = True
                        self._connecting -= 1
                        self._flush(conn)
                    continue
                if events & selectors.EVENT_READ:
                    try:
                        data = conn.sock.recv(1 << 18)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        raise ConnectionError(f"{conn.client_id}: the broker closed the connection")
                    if data:
                        conn.feed(data)
                if events & selectors.EVENT_WRITE:
                    self._flush(conn)
        for conn in list(self._dirty.values()):
            self._flush(conn)
        self._dirty.clear()
        return True

    def close(self, conns: Iterable[Connection] | None = None) -> None:
        for conn in list(conns if conns is not None else self.connections):
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(conn.sock)
            conn.sock.close()
