"""Many simulated receivers in one process: one MQTT connection each, one network thread.

Each receiver is a real MQTT client with its own id, credentials, persistent session
and topics; a selector loop drives all their sockets, so thousands fit in a process.
They share a timer thread, a small download pool and (optionally) one media cache.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import random
import selectors
import socket
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as pahoc

from stations.agent import (
    FILLER_FEATURE,
    PLAYABLE_CODECS,
    MediaCache,
    ReceiverAgent,
    SimulatedPlayer,
    TimerService,
)
from stations.mqtt import KEEPALIVE_SECONDS, BrokerAddress, MqttClient, Will
from stations.protocol import QOS_STATE, Topics

log = logging.getLogger(__name__)

# Connections opened per second when a simulation starts (a broker dislikes a stampede).
CONNECT_RATE = 2000
RECONNECT_SECONDS = 2.0


class ClientPool:
    """Drives many paho clients from one thread with a selector (paho's external loop API)."""

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()
        self._clients: list[pahoc.Client] = []
        self._want_write: set[pahoc.Client] = set()
        self._lost: dict[pahoc.Client, float] = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)  # a full wake pipe must never block a publisher
        self._wake_pending = False
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loa-sim-pool", daemon=True)
        self._thread.start()

    def add(self, client: pahoc.Client, host: str, port: int) -> None:
        """Connect `client` and drive it from now on."""
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        with self._lock:
            self._clients.append(client)
        try:
            client.connect(host, port, KEEPALIVE_SECONDS)
        except OSError:
            with self._lock:
                self._lost[client] = time.monotonic() + RECONNECT_SECONDS

    def _opened(self, client: pahoc.Client, _ud: Any, sock: Any) -> None:
        with self._lock, contextlib.suppress(KeyError, ValueError):
            self._sel.register(sock, selectors.EVENT_READ, client)
        # (The CONNECT packet comes next and registers for writing.)

    def _closed(self, client: pahoc.Client, _ud: Any, sock: Any) -> None:
        with self._lock:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)
            if not self._stop.is_set():
                jitter = random.uniform(0.5, 1.5)
                self._lost[client] = time.monotonic() + RECONNECT_SECONDS * jitter

    def _register_write(self, client: pahoc.Client, _ud: Any, _sock: Any) -> None:
        with self._lock:
            self._want_write.add(client)
        self._wake()

    def _unregister_write(self, client: pahoc.Client, _ud: Any, _sock: Any) -> None:
        with self._lock:
            self._want_write.discard(client)

    def _wake(self) -> None:
        # One byte in flight is enough: the loop clears the flag before it drains the pipe.
        if self._wake_pending:
            return
        self._wake_pending = True
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"x")

    def _run(self) -> None:
        last_misc = time.monotonic()
        while not self._stop.is_set():
            # paho asks once to be written ("register write") and says when its queue has
            # drained ("unregister write"), from any thread: the set mirrors that, so a
            # wakeup costs the clients with something to send, not all of them.
            with self._lock:
                writers = list(self._want_write)
                clients = self._clients
            for client in writers:
                client.loop_write()
            for key, _mask in self._sel.select(0.05):
                client = key.data
                if client is None:
                    self._wake_pending = False
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except (BlockingIOError, OSError):
                        pass
                    continue
                client.loop_read(10)
                if client.want_write():
                    client.loop_write()
            now = time.monotonic()
            if now - last_misc >= 1.0:
                last_misc = now
                with self._lock:
                    due = [c for c, t in self._lost.items() if t <= now]
                    for c in due:
                        self._lost.pop(c, None)
                for client in list(clients):
                    client.loop_misc()
                for client in due:
                    try:
                        client.reconnect()
                    except OSError:
                        with self._lock:
                            self._lost[client] = now + RECONNECT_SECONDS * random.uniform(1, 2)

    def stop(self) -> None:
        """Disconnect every client and stop the loop."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            client.disconnect()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and any(c.want_write() for c in clients):
            time.sleep(0.02)
        self._stop.set()
        self._thread.join(5)
        self._wake_r.close()
        self._wake_w.close()


@dataclass(frozen=True, slots=True)
class SimReceiver:
    """Credentials of one simulated receiver."""

    receiver_id: str
    password: str
    # Codecs declared in its `state`; None declares none (a receiver that plays only MP3).
    codecs: tuple[str, ...] | None = PLAYABLE_CODECS
    # Features declared in its `state`: filler (its player plays files only, so no
    # relays); None declares none (a receiver that airs nothing beyond programmes).
    features: tuple[str, ...] | None = (FILLER_FEATURE,)


class Simulation:
    """N simulated receivers with real MQTT sessions, sharing timers, downloads and a cache."""

    def __init__(
        self,
        receivers: Iterable[SimReceiver],
        address: BrokerAddress,
        *,
        cache_dir: Path,
        prefix: str = "loa/v1",
        time_scale: float = 1.0,
        download_workers: int = 8,
    ) -> None:
        self.address = address
        self.topics = Topics(prefix)
        self.timers = TimerService()
        self.executor = ThreadPoolExecutor(max_workers=download_workers, thread_name_prefix="sim")
        self.cache = MediaCache(cache_dir)
        self.player = SimulatedPlayer(self.timers, time_scale)
        self.pool = ClientPool()
        self.agents: dict[str, ReceiverAgent] = {}
        self.clients: dict[str, MqttClient] = {}
        self._specs = list(receivers)

    def start(self, *, wait: float = 60.0) -> None:
        """Connect every receiver; returns once all are connected (or raises)."""
        started = time.monotonic()
        for index, spec in enumerate(self._specs):
            self._add(spec)
            if CONNECT_RATE and index % CONNECT_RATE == CONNECT_RATE - 1:
                time.sleep(max(0.0, started + (index + 1) / CONNECT_RATE - time.monotonic()))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if all(c.connected for c in self.clients.values()):
                return
            time.sleep(0.05)
        missing = [rid for rid, c in self.clients.items() if not c.connected]
        if not missing:  # the last of them connected as the wait ran out
            return
        raise ConnectionError(f"{len(missing)} simulated receivers did not connect: {missing[:5]}")

    def _add(self, spec: SimReceiver) -> None:
        rid = spec.receiver_id
        holder: list[MqttClient] = []

        def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
            holder[0].publish(topic, payload, qos=qos, retain=retain)

        agent = ReceiverAgent(
            rid,
            password=spec.password,
            topics=self.topics,
            publish=publish,
            cache=self.cache,
            player=self.player,
            timers=self.timers,
            executor=self.executor,
            codecs=spec.codecs,
            features=spec.features,
        )
        client = MqttClient(
            self.address.with_login(rid, spec.password),
            client_id=rid,
            clean_session=False,
            will=Will(self.topics.state(rid), agent.state_payload(False), QOS_STATE, True),
            on_connected=lambda _present: agent.publish_state(True),
        )
        holder.append(client)
        client.subscribe(self.topics.cmd(rid), agent.on_message, qos=1)
        self.agents[rid] = agent
        self.clients[rid] = client
        self.pool.add(client.paho, self.address.host, self.address.port)

    def stop(self) -> None:
        """Disconnect everyone and stop the shared threads."""
        self.pool.stop()
        self.timers.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


# --- a media server for demos, tests and the benchmark ---------------------------------


class _MediaHandler(http.server.BaseHTTPRequestHandler):
    root: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        name = self.path.rsplit("/", 1)[-1].split(".")[0]
        path = self.root / name
        if not name.isalnum() or not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        header = self.headers.get("Range")
        if header and header.startswith("bytes="):
            start = int(header[6:].split("-")[0] or 0)
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug(format, *args)


class MediaServer:
    """Serves files named by sha256 from a folder at http://127.0.0.1:<port>/media/<sha>.mp3."""

    def __init__(self, root: Path, port: int = 0) -> None:
        handler = type("Handler", (_MediaHandler,), {"root": root})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> MediaServer:
        """Serve in a thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
