"""An area's CAP feed (Atom) read by the worker: new entries become alerts, 304s and backoff.

The warning centre's feed is a real HTTP server on 127.0.0.1 started by the test; the
worker's feed pass runs on the test clock, so waits are checked without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from broadcast.runtime.worker import Worker
from tests.alerts.conftest import NOW, SENDER, Clock, flood_alert
from tests.utils import Headers

POLL = 60  # LOA_ALERT_FEED_POLL_SECONDS


@dataclass
class Centre:
    """The warning centre's web server: an Atom feed of CAP documents."""

    base: str = ""
    documents: dict[str, bytes] = field(default_factory=dict)
    failing: bool = False
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # path, If-None-Match

    def feed(self) -> bytes:
        entries = "".join(
            f"<entry><id>{name}</id><title>Cảnh báo</title><updated>2031-08-15T05:30:00+07:00"
            f"</updated><link rel='alternate' type='application/cap+xml' href='{self.base}/cap/"
            f"{name}.xml'/></entry>"
            for name in self.documents
        )
        return (
            "<?xml version='1.0' encoding='UTF-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            "<id>urn:kttv:laocai</id><title>Cảnh báo KTTV Lào Cai</title>"
            f"<updated>2031-08-15T05:30:00+07:00</updated>{entries}</feed>"
        ).encode()

    @property
    def etag(self) -> str:
        return f'"{len(self.documents)}"'


@pytest.fixture
def centre_server() -> Iterator[Centre]:
    centre = Centre()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            centre.requests.append((self.path, self.headers.get("If-None-Match")))
            if centre.failing:
                self.send_error(503)
                return
            if self.path == "/feed.atom":
                if self.headers.get("If-None-Match") == centre.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body, kind = centre.feed(), "application/atom+xml"
            else:
                name = self.path.removeprefix("/cap/").removesuffix(".xml")
                if name not in centre.documents:
                    self.send_error(404)
                    return
                body, kind = centre.documents[name], "application/cap+xml"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("ETag", centre.etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    centre.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="kttv-feed", daemon=True)
    thread.start()
    try:
        yield centre
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _feed_rule(app: TestClient, admin: Headers, url: str) -> None:
    answer = app.put(
        "/api/v1/alerts/rules/10",
        json={"trusted_senders": [SENDER], "feed_url": url},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["feed_url"] == url


def test_new_feed_entries_become_alerts_and_an_unchanged_feed_is_not_read_again(
    app: TestClient,
    admin_headers: Headers,
    centre_server: Centre,
    worker: Worker,
    clock: Clock,
    render: Callable[[], int],
) -> None:
    centre_server.documents["lu-quet-01"] = flood_alert()
    _feed_rule(app, admin_headers, f"{centre_server.base}/feed.atom")

    assert worker.feed_pass().alerts == 1
    alerts = app.get("/api/v1/alerts", headers=admin_headers).json()["items"]
    assert [a["identifier"] for a in alerts] == ["KTTV-LCI-20310815-01"]
    assert alerts[0]["state"] == "releasing" and alerts[0]["area_codes"] == ["02680", "02659"]
    render()
    assert worker.alert_pass() == 1

    # Not read again before its interval; then asked with its ETag and answered 304.
    asked = len(centre_server.requests)
    clock.now = NOW + timedelta(seconds=POLL - 1)
    assert worker.feed_pass().read == 0 and len(centre_server.requests) == asked
    clock.now = NOW + timedelta(seconds=POLL)
    report = worker.feed_pass()
    assert report.unchanged == 1 and report.alerts == 0
    assert centre_server.requests[-1] == ("/feed.atom", '"1"')

    # A new entry: only it is fetched and taken in.
    centre_server.documents["lu-quet-02"] = flood_alert(
        identifier="KTTV-LCI-20310815-02", codes=("02743",)
    )
    clock.now = NOW + timedelta(seconds=2 * POLL)
    assert worker.feed_pass().alerts == 1
    fetched = [path for path, _ in centre_server.requests if path.startswith("/cap/")]
    assert fetched == ["/cap/lu-quet-01.xml", "/cap/lu-quet-02.xml"]
    assert app.get("/api/v1/alerts", headers=admin_headers).json()["total"] == 2


def test_a_failing_feed_is_read_again_after_a_doubling_wait(
    app: TestClient,
    admin_headers: Headers,
    centre_server: Centre,
    worker: Worker,
    clock: Clock,
) -> None:
    centre_server.documents["lu-quet-01"] = flood_alert()
    centre_server.failing = True
    _feed_rule(app, admin_headers, f"{centre_server.base}/feed.atom")
    assert worker.feed_pass().failed == 1  # at NOW: next try 2 × 60 s later
    for seconds, reads in ((119, 0), (120, 1), (120 + 239, 0), (120 + 240, 1)):
        clock.now = NOW + timedelta(seconds=seconds)
        assert worker.feed_pass().read == reads, seconds
    centre_server.failing = False
    clock.now = NOW + timedelta(seconds=120 + 240 + 480)
    assert worker.feed_pass().alerts == 1
    assert app.get("/api/v1/alerts", headers=admin_headers).json()["total"] == 1
