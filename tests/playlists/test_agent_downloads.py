"""The receiver agent's downloads: retried with backoff on server trouble, not on refusals."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stations import agent
from stations.agent import DownloadError, MediaCache

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
