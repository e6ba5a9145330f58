"""A real HTTP server standing in for a subscriber's webhook endpoint.

It keeps every request it gets and answers with the status codes it is told to
(200 once they run out). Signatures are checked with the snippet of docs/api.md itself.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def documented_verifier() -> Callable[..., bool]:
    """`verify_webhook` exactly as docs/api.md shows it to subscribers."""
    text = API_DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- webhook-verify -->\n```python\n(.*?)```", text, re.S)
    assert found, "docs/api.md has no webhook-verify snippet"
    namespace: dict[str, Any] = {}
    exec(compile(found.group(1), str(API_DOC), "exec"), namespace)  # noqa: S102 - our own docs
    verifier: Callable[..., bool] = namespace["verify_webhook"]
    return verifier


@dataclass
class Request:
    """One request the endpoint got."""

    path: str
    headers: Message
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        """The JSON body."""
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class HookReceiver:
    """The endpoint: its URL, what it got, and the answers still to give."""

    url: str
    requests: list[Request] = field(default_factory=list)
    answers: deque[int] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def got(self) -> list[Request]:
        """The requests so far."""
        with self.lock:
            return list(self.requests)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The bodies received, of one type if given."""
        found = [r.event for r in self.got()]
        return [e for e in found if event_type is None or e["type"] == event_type]


@contextmanager
def hook_receiver(path: str = "/loa-hook") -> Iterator[HookReceiver]:
    """Serve an endpoint on a free port of 127.0.0.1 while the block runs."""
    holder: list[HookReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            receiver = holder[0]
            with receiver.lock:
                receiver.requests.append(Request(self.path, self.headers, body))
                status = receiver.answers.popleft() if receiver.answers else 200
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(HookReceiver(f"http://127.0.0.1:{server.server_address[1]}{path}"))
    thread = threading.Thread(target=server.serve_forever, name="hook-receiver", daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
