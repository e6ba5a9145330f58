"""End to end: a commune station's day, programmed like a small radio station.

The province's culture centre programmes its communes through REST: Bắc Hà's station
relays the national radio's news from a live stream (a real HTTP stream, relayed by the
real `loa receiver` with ffmpeg); at Y Tý a funeral in the village is a blackout that
refuses an airing; a series of bulletins airs its first
airing, is edited from its second airing on (a new bulletin), and the edited airing is
interrupted by an emergency and aired again right after it. Receivers that know only
docs/protocol.md air all of it on their own clocks; the service's clock is moved with
theirs, so the day passes in no time. The as-run record shows each step.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from stations.agent import run_receiver
from stations.mqtt import BrokerAddress
from tests.e2e.conftest import Chain
from tests.e2e.receiver_client import DeviceClock, Receiver, parse_time
from tests.e2e.test_chain import (
    BAC_HA,
    TEXT,
    Y_TY,
    province_people,
    status,
    steps,
    write_and_approve,
)
from tests.e2e.test_emergency_alert import ShiftedClock
from tests.mqtt.conftest import wait_for
from tests.streams import live_stream
from tests.utils import Headers

MINUTE = timedelta(minutes=1)


class World:
    """The service's clock and the receivers' clock, moved together."""

    def __init__(self, chain: Chain, devices_clock: DeviceClock) -> None:
        self.server = ShiftedClock()
        worker = chain.background.worker
        worker.clock = self.server
        assert worker.ingestor is not None
        worker.ingestor.clock = self.server
        chain.app.state.clock = self.server
        self.worker = worker
        self.devices = devices_clock

    def now(self) -> datetime:
        return self.server()

    def to(self, moment: datetime) -> None:
        """Move both clocks to `moment` (never back)."""
        if moment > self.server():
            self.server.offset = moment - datetime.now(UTC)
        self.devices.jump_to(moment)
        self.worker.wake()

    def advance(self, delta: timedelta) -> None:
        self.to(self.now() + delta)


def _air_through(world: World, devices: list[Receiver], ref: str, air_at: datetime) -> None:
    """Move to air time, wait for every receiver to start, move past the programme."""
    world.to(air_at)
    for device in devices:
        device.wait_for(ref, "started", timeout=30)
    world.advance(devices[0].airings[ref].length + timedelta(seconds=0.5))
    for device in devices:
        device.wait_for(ref, "completed")


def _delivered(chain: Chain, people: dict[str, Headers], bid: int) -> list[dict[str, Any]]:
    return list(status(chain, people, bid)["deliveries"])


def _relay_the_news(chain: Chain, people: dict[str, Headers], tmp_path: Path) -> None:
    """Bắc Hà relays VOV1 for 4 s through a real `loa receiver`; the as-run shows it."""
    editor = people["editor"]
    (receiver_id,) = chain.receiver_ids(people["admin"], chain.station(editor, BAC_HA)["id"])
    stop = threading.Event()
    agent = threading.Thread(
        target=run_receiver,
        kwargs={
            "receiver_id": receiver_id,
            "password": chain.passwords[receiver_id],
            "address": BrokerAddress("127.0.0.1", chain.mqtt_port, receiver_id,
                                     chain.passwords[receiver_id]),
            "cache_dir": tmp_path / "relay-cache",
            "prefix": chain.settings.mqtt_topic_prefix,
            "stop": stop,
        },
        daemon=True,
    )  # fmt: skip
    agent.start()
    try:
        wait_for(
            lambda: (
                chain.ok("GET", f"/receivers/{receiver_id}", editor).get("features")
                == ["filler", "relay", "relay_volume"]
            ),
            timeout=30,
        )
        with live_stream(tmp_path) as stream:
            source = chain.ok(
                "POST",
                "/relay-sources",
                editor,
                json={"area_code": "10", "name": "VOV1", "url": stream.url},
            )
            body = {
                "relay_source_id": source["id"],
                "duration_seconds": 4,
                "area_codes": [BAC_HA],
                "starts_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat(),
                "title": "Tiếp âm thời sự VOV1",
            }
            relay = chain.ok("POST", "/broadcasts", editor, json=body)
            assert relay["kind"] == "relay"

            def ended() -> dict[str, Any] | None:
                rows = _delivered(chain, people, relay["id"])  # none until it is dispatched
                if not rows:
                    return None
                (row,) = rows
                return row if row["state"] in ("completed", "failed") else None

            row = wait_for(ended, timeout=40)
        assert row["state"] == "completed", row
        assert 0 <= row["lost_seconds"] < 4 and stream.connections >= 1
    finally:
        stop.set()
        agent.join(10)


def test_a_commune_station_airs_its_programmed_day(chain: Chain, tmp_path: Path) -> None:
    people = province_people(chain)
    editor = people["editor"]
    _relay_the_news(chain, people, tmp_path)
    short = write_and_approve(chain, people, "Phòng chống cháy rừng")
    long = write_and_approve(chain, people, "Lịch tiêm phòng bổ sung", text=TEXT * 15)
    warning = write_and_approve(chain, people, "Cảnh báo lũ quét", priority="emergency")
    station = chain.station(people["admin"], Y_TY)
    clock = DeviceClock()
    world = World(chain, clock)
    devices = [chain.receiver(r, clock) for r in chain.receiver_ids(people["admin"], station["id"])]
    receivers = [d.receiver_id for d in devices]
    start = world.now()

    # A funeral in the village this afternoon: nothing but emergencies may air then.
    funeral = {
        "reason": "Đám tang ở thôn Sín Chải",
        "starts_at": (start + timedelta(hours=6)).isoformat(),
        "ends_at": (start + timedelta(hours=8)).isoformat(),
    }
    chain.ok("POST", f"/areas/{Y_TY}/blackouts", editor, json=funeral)
    inside = {
        "bulletin_ids": [short["id"]],
        "area_codes": [Y_TY],
        "starts_at": (start + timedelta(hours=7)).isoformat(),
    }
    refused = chain.call("POST", "/broadcasts", editor, json=inside)
    assert refused.status_code == 409, refused.text
    assert refused.json()["reason"] == "schedule.blackout"
    assert "Đám tang ở thôn Sín Chải" in refused.json()["detail"]

    # A series: three airings five minutes apart.
    body = {
        "bulletin_ids": [short["id"]],
        "area_codes": [Y_TY],
        "starts_at": (start + timedelta(seconds=5)).isoformat(),
        "rrule": "FREQ=MINUTELY;INTERVAL=5;COUNT=3",
    }
    series = chain.ok("POST", "/broadcasts", editor, json=body)
    sid = series["id"]
    first, second, third = series["occurrences"]
    _air_through(world, devices, first["ref"], parse_time(first["air_at"]))

    # Edited from its second airing on: the long bulletin instead. The receivers, sent
    # the old second and third airings already, are told to drop them.
    edit = {"scope": "following", "seq": 2, "bulletin_ids": [long["id"]]}
    edited = chain.ok("PATCH", f"/broadcasts/{sid}", editor, json=edit)
    nid = edited["id"]
    assert (edited["edited_from_id"], edited["edited_from_seq"]) == (sid, 2)
    again, last = edited["occurrences"]
    assert [again["air_at"], last["air_at"]] == [second["air_at"], third["air_at"]]
    for device in devices:
        for old in (second["ref"], third["ref"]):
            wait_for(lambda d=device, r=old: d.states(r)[-1:] == ["rejected"], timeout=30)

    # The edited airing starts, and a flash-flood warning interrupts it.
    world.to(parse_time(again["air_at"]))
    for device in devices:
        device.wait_for(again["ref"], "started", timeout=30)
        programme = device.airings[again["ref"]]
        assert [i["sha256"] for i in programme.items if i["language"] == "vi"] == [
            long["translations"][0]["audio_sha256"]
        ]
    alarm = chain.ok(
        "POST",
        "/broadcasts",
        editor,
        json={"bulletin_ids": [warning["id"]], "area_codes": [Y_TY], "priority": "emergency"},
    )
    (alert,) = alarm["occurrences"]
    for device in devices:
        device.wait_for(alert["ref"], "started", timeout=30)
        assert device.wait_for(again["ref"], "failed").detail == "interrupted"

    # The edited airing is sent again and airs once the warning has ended.
    wait_for(
        lambda: all(d.airings[again["ref"]].state == "downloaded" for d in devices), timeout=30
    )
    world.advance(devices[0].airings[alert["ref"]].length + timedelta(seconds=0.5))
    wait_for(lambda: all(d.states(again["ref"]).count("started") == 2 for d in devices))
    world.advance(devices[0].airings[again["ref"]].length + timedelta(seconds=0.5))
    for device in devices:
        wait_for(lambda d=device: d.states(again["ref"])[-1:] == ["completed"])

    # The last airing is cancelled on its own.
    cancelled = chain.ok("POST", f"/broadcasts/{nid}/airings/2/cancel", editor)
    assert cancelled["airing"]["state"] == "cancelled"
    for device in devices:
        wait_for(lambda d=device: d.states(last["ref"])[-1:] == ["rejected"], timeout=30)
    world.to(parse_time(last["air_at"]) + MINUTE)
    assert all(d.states(last["ref"]).count("started") == 0 for d in devices)

    # The as-run record.
    def ended(bid: int, seq: int) -> dict[str, str]:
        rows = [r for r in _delivered(chain, people, bid) if r["occurrence"] == seq]
        return {r["receiver_id"]: r["state"] for r in rows}

    wait_for(lambda: ended(sid, 1) == dict.fromkeys(receivers, "completed"))
    wait_for(lambda: ended(nid, 1) == dict.fromkeys(receivers, "completed"))
    rows = [r for r in _delivered(chain, people, nid) if r["occurrence"] == 1]
    assert {(r["attempt"], r["interrupted_by"]) for r in rows} == {(2, alert["ref"])}
    assert all(
        steps(d, again["ref"])
        == ["received", "downloaded", "started", "failed", "received", "downloaded", "started",
            "completed"]
        for d in devices
    )  # fmt: skip
    # Dropped before air time: each receiver answered the cancel (`rejected`, cancelled).
    for bid in (sid, nid):
        wait_for(lambda b=bid: ended(b, 2) == dict.fromkeys(receivers, "rejected"))
    day = start.astimezone(chain.settings.zone).date().isoformat()
    report = chain.ok("GET", "/reports/coverage", editor, params={"from": day, "to": day})
    (commune,) = [c for c in report["communes"] if c["code"] == Y_TY]
    # Aired: the series' first airing, the edited airing (again after the warning), the
    # warning. Cancelled: the replaced second and third airings and the edited third.
    assert (commune["aired"], commune["reaired"], commune["missed"]) == (3, 1, 0), commune
    assert commune["cancelled"] == 3, commune
    (relayed,) = [c for c in report["communes"] if c["code"] == BAC_HA]
    assert (relayed["aired"], relayed["missed"]) == (1, 0), relayed
    assert report["total"]["relays"] == 1 and 0 < report["total"]["relay_minutes"] <= 4 / 60
