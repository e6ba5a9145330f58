"""End to end: a CAP flash-flood warning reaches every loudspeaker in its languages.

The warning centre posts a CAP 1.2 alert with a Vietnamese and a H'Mông block for two
communes. Vietnamese is read by eSpeak NG; H'Mông, which no engine speaks, is joined
from the province's reviewed template of recorded phrases. Independent receivers (they
know only docs/protocol.md) of a station airing vi, hmn and of one airing hmn, vi air
it in their own order within a minute, again an hour later (the service's clock is
moved forward, not waited for), until a `Cancel` from the centre stops it. A webhook
receiver of the province gets every event, each with a valid signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from broadcast.core.db import transaction
from broadcast.demo import seed_demo_templates
from tests.alerts.conftest import CAP_TYPE, SENDER, flood_alert, stamp
from tests.e2e.conftest import Chain
from tests.e2e.receiver_client import DeviceClock, Receiver
from tests.mqtt.conftest import wait_for
from tts import Synthesizer

Y_TY, A_MU_SUNG = "02680", "02659"
HOUR = timedelta(hours=1)


class Hooks:
    """A subscriber's HTTP endpoint: every request kept with its headers and raw body."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                hooks.received.append((headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/loa-hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _headers, body in list(self.received)]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["type"] == kind]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    endpoint = Hooks()
    yield endpoint
    endpoint.stop()


def signed_by(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The check docs/api.md gives subscribers (Standard Webhooks), written out again here."""
    message_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > 300:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    expected = "v1," + base64.b64encode(mac).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


class ShiftedClock:
    """The service's clock, moved forward by `offset` (an hour passes in no time)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def _languages(programme: dict[str, Any]) -> list[str]:
    return [i["language"] for i in programme["items"] if i["language"] != "zxx"]


def _air(devices: list[Receiver], clock: DeviceClock, ref: str) -> None:
    """Emergencies air as soon as downloaded: move the device clock past the programme."""
    for device in devices:
        device.wait_for(ref, "started", timeout=60)
    length = max(d.airings[ref].length for d in devices)
    clock.advance(length.total_seconds() + 1)
    for device in devices:
        device.wait_for(ref, "completed", timeout=30)


def test_a_cap_flash_flood_warning_airs_in_each_stations_languages_hourly_until_cancelled(
    chain: Chain, engine: Engine, offline_speech: Synthesizer, hooks: Hooks
) -> None:
    admin = chain.sign_in("admin")
    with transaction(engine) as ses:  # the province's H'Mông flash-flood template
        assert seed_demo_templates(session=ses, settings=chain.settings, synthesizer=offline_speech)
    stations = {code: chain.station(admin, code) for code in (Y_TY, A_MU_SUNG)}
    for code, languages in ((Y_TY, ["vi", "hmn"]), (A_MU_SUNG, ["hmn", "vi"])):
        chain.ok("PATCH", f"/stations/{stations[code]['id']}", admin, json={"languages": languages})
    chain.ok(
        "PUT",
        "/alerts/rules/10",
        admin,
        json={"trusted_senders": [SENDER], "hold_minutes": 10, "repeat_minutes": 60},
    )
    subscription = chain.ok(
        "POST", "/webhooks", admin, json={"url": hooks.url, "event_types": ["*"]}
    )
    secret = subscription["secret"]
    token = chain.ok(
        "POST", "/auth/api-tokens", admin, json={"name": "Đài KTTV", "scopes": ["alerts"]}
    )
    centre = {"Authorization": f"Bearer {token['token']}", **CAP_TYPE}

    clock = DeviceClock()
    devices = {
        code: [chain.receiver(r, clock) for r in chain.receiver_ids(admin, s["id"])]
        for code, s in stations.items()
    }
    everyone = [d for group in devices.values() for d in group]

    # The warning: now, every hour until it expires two and a half hours from now.
    server = ShiftedClock()
    worker = chain.background.worker
    worker.clock = server
    assert worker.ingestor is not None
    worker.ingestor.clock = server
    sent = datetime.now(UTC)
    document = flood_alert(
        identifier="KTTV-LCI-E2E-01",
        sent=sent,
        expires=sent + 2 * HOUR + timedelta(minutes=30),
        codes=(Y_TY, A_MU_SUNG),
    )
    received = time.monotonic()
    answer = chain.call("POST", "/alerts/cap", centre, content=document)
    assert answer.status_code == 201, answer.text
    alert = answer.json()
    assert alert["hazard"] == "flash_flood" and alert["languages"] == ["vi", "hmn"]

    def aired() -> dict[str, Any] | None:
        shown = chain.ok("GET", f"/alerts/{alert['id']}", admin)
        return shown if shown.get("broadcast_id") else None

    bid = wait_for(aired, timeout=60)["broadcast_id"]
    first = f"{bid}.1"
    for device in everyone:
        device.wait_for(first, "started", timeout=60)
    assert time.monotonic() - received < 60  # on air within a minute of receipt
    _air(everyone, clock, first)
    bulletin = chain.ok("GET", f"/bulletins/{wait_for(aired)['bulletin_id']}", admin)
    versions = {t["language"]: t for t in bulletin["translations"]}
    assert versions["hmn"]["source"] == "template" and versions["vi"]["source"] != "template"
    # Each station in its own order: Y Tý Vietnamese first, A Mú Sung H'Mông first.
    for code, order in ((Y_TY, ["vi", "hmn"]), (A_MU_SUNG, ["hmn", "vi"])):
        for device in devices[code]:
            (programme,) = [c for c in device.counters.commands if c["broadcast_id"] == first]
            assert _languages(programme) == order, (code, programme["items"])
            assert programme["priority"] == "emergency"

    detail = chain.ok("GET", f"/broadcasts/{bid}", admin)
    air_times = [datetime.fromisoformat(o["air_at"]) for o in detail["occurrences"]]
    assert len(air_times) == 3 and air_times[1] - air_times[0] == HOUR

    # An hour later it airs again.
    second = f"{bid}.2"
    server.offset = air_times[1] - datetime.now(UTC) + timedelta(seconds=1)
    clock.jump_to(air_times[1] + timedelta(seconds=1))
    worker.wake()
    _air(everyone, clock, second)

    # The centre cancels the warning: the third airing never goes out.
    cancel = flood_alert(
        identifier="KTTV-LCI-E2E-02",
        sent=datetime.now(UTC),
        msg_type="Cancel",
        references=f"{SENDER},KTTV-LCI-E2E-01,{stamp(sent)}",
        expires=None,
        codes=(Y_TY, A_MU_SUNG),
    )
    answer = chain.call("POST", "/alerts/cap", centre, content=cancel)
    assert answer.status_code == 201, answer.text
    assert answer.json()["ended_alert_ids"] == [alert["id"]]
    assert chain.ok("GET", f"/broadcasts/{bid}", admin)["status"] == "cancelled"
    server.offset = air_times[2] - datetime.now(UTC) + timedelta(minutes=1)
    clock.jump_to(air_times[2] + timedelta(minutes=1))
    assert worker.dispatch_pass().occurrences == 0  # its time has come: nothing is sent
    third = f"{bid}.3"
    shown = chain.ok("GET", f"/broadcasts/{bid}", admin)
    assert [o["state"] for o in shown["occurrences"]][2] == "cancelled"
    assert all(not d.states(third) for d in everyone)
    assert all(
        [c["broadcast_id"] for c in d.counters.commands if c["type"] == "programme"]
        == [first, second]
        for d in everyone
    )

    # Every event reached the province's subscriber, each signed with its secret.
    def settled_events() -> list[dict[str, Any]]:
        # Events come in no set order (a failed try is retried): wait for all of them.
        done = [e for e in hooks.of("broadcast.completed") if e["data"]["broadcast_id"] == bid]
        sent = {e["data"]["airing"] for e in hooks.of("broadcast.dispatched")}
        created = [e for e in hooks.of("broadcast.created") if e["data"]["broadcast_id"] == bid]
        return done if len(done) >= 4 and {first, second} <= sent and created else []

    def found() -> Any:
        shown = chain.ok("GET", f"/broadcasts/{bid}", admin)["occurrences"]
        rows = chain.ok("GET", f"/broadcasts/{bid}/status", admin)["deliveries"]
        return (
            [(o["seq"], o["state"], o.get("settled")) for o in shown],
            [(r["occurrence"], r["state"]) for r in rows],
            [(e["type"], e["data"].get("airing")) for e in hooks.events()],
            chain.ok("GET", f"/webhooks/{subscription['id']}/deliveries", admin),
        )

    completed = wait_for(settled_events, timeout=30, show=found)
    assert {(e["data"]["airing"], e["data"]["station_id"]) for e in completed} == {
        (ref, s["id"]) for ref in (first, second) for s in stations.values()
    }
    assert any(e["data"].get("broadcast_id") == bid for e in hooks.of("broadcast.created"))
    dispatched = {e["data"]["airing"] for e in hooks.of("broadcast.dispatched")}
    assert {first, second} <= dispatched and third not in dispatched
    assert hooks.received and all(signed_by(secret, h, b) for h, b in hooks.received)
    assert not any(signed_by("whsec_" + base64.b64encode(b"x" * 24).decode(), h, b)
                   for h, b in hooks.received)  # fmt: skip
