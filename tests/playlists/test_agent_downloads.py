"""The receiver agent's downloads: retried with backoff on server trouble, not on refusals."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stations import agent
from stations.agent import (
    DownloadError,
    MediaCache,
    ReceiverAgent,
    SimulatedPlayer,
    TimerService,
)
from stations.mqtt import Message
from stations.protocol import AckState, MediaItem, ProgrammeCommand, Topics, encode
from tests.mqtt.conftest import wait_for
from tests.utils import free_port

BODY = bytes(range(256)) * 400  # 100 KiB
SHA = hashlib.sha256(BODY).hexdigest()


class Server:
    """A local media server whose answers the test scripts, one per request."""

    def __init__(self) -> None:
        self.script: list[str] = []
        self.requests: list[str | None] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                owner.requests.append(self.headers.get("Range"))
                step = owner.script.pop(0) if owner.script else "ok"
                if step in ("503", "404"):
                    self.send_response(int(step))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int((self.headers.get("Range") or "bytes=0-")[6:].rstrip("-") or 0)
                body = BODY[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # "cut": the connection drops half way through the file.
                self.wfile.write(body[: len(body) // 2] if step == "cut" else body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/media/{SHA}.mp3"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setattr(agent, "DOWNLOAD_BACKOFF_SECONDS", 0.0)
    srv = Server()
    yield srv
    srv.httpd.shutdown()


def test_server_errors_and_cuts_are_retried_and_resumed(server: Server, tmp_path: Path) -> None:
    server.script = ["503", "cut", "ok"]
    path = MediaCache(tmp_path).fetch(server.url, SHA, len(BODY), None)
    assert path.read_bytes() == BODY
    assert server.requests == [None, None, f"bytes={len(BODY) // 2}-"], server.requests


def test_a_refusal_fails_at_once_in_plain_words(server: Server, tmp_path: Path) -> None:
    server.script = ["404"]
    with pytest.raises(DownloadError, match="HTTP 404: no such file"):
        MediaCache(tmp_path).fetch(server.url, SHA, len(BODY), None)
    assert len(server.requests) == 1


def test_attempts_are_bounded(server: Server, tmp_path: Path) -> None:
    server.script = ["503"] * 10
    with pytest.raises(DownloadError, match="HTTP 503"):
        MediaCache(tmp_path).fetch(server.url, SHA, len(BODY), None)
    assert len(server.requests) == agent.DOWNLOAD_ATTEMPTS


def _agent(tmp_path: Path) -> tuple[ReceiverAgent, TimerService, ThreadPoolExecutor]:
    timers = TimerService()
    executor = ThreadPoolExecutor(max_workers=1)
    return (
        ReceiverAgent(
            "rx-log",
            password="secret",
            topics=Topics("loa/v1"),
            publish=lambda *_args: None,
            cache=MediaCache(tmp_path / "cache"),
            player=SimulatedPlayer(timers, time_scale=0.0),
            timers=timers,
            executor=executor,
        ),
        timers,
        executor,
    )


def _command(ref: str, url: str, sha256: str = SHA) -> bytes:
    now = datetime.now(UTC)
    return encode(
        ProgrammeCommand(
            broadcast_id=ref,
            air_at=now,
            expires_at=now + timedelta(minutes=15),
            version="v1",
            items=[
                MediaItem(
                    url=url,
                    sha256=sha256,
                    bytes=len(BODY),
                    duration_ms=65_000,
                    language="vi",
                    title="x",
                )
            ],
        )
    )


def test_the_agent_logs_each_step_and_each_failure_in_plain_words(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, timers, executor = _agent(tmp_path)
    closed = f"http://127.0.0.1:{free_port()}/media/{SHA}.mp3"
    try:
        with caplog.at_level(logging.INFO, logger="stations.agent"):
            receiver.on_message(Message("cmd", _command("7.1", server.url), 1, False))
            wait_for(lambda: ("7.1", AckState.completed) in receiver.acks)
            receiver.on_message(
                Message(
                    "cmd", _command("7.2", closed, hashlib.sha256(b"other").hexdigest()), 1, False
                )
            )
            wait_for(lambda: ("7.2", AckState.failed) in receiver.acks)
    finally:
        timers.stop()
        executor.shutdown()
    said = [r.getMessage() for r in caplog.records]
    assert said[0].startswith("Received programme 7.1: 1 items, 1 min 05 s, to air at ")
    assert said[1] == f"Downloaded programme 7.1: 1 files, {len(BODY)} bytes, checked"
    assert said[2:4] == ["Playing programme 7.1 (1 min 05 s)", "Finished playing programme 7.1"]
    assert any(
        line.startswith("Programme 7.2 will not air: could not download its audio: ")
        and "cannot connect to the media server" in line
        for line in said
    ), said
