"""End to end: a bulletin written over REST is read by eSpeak NG, approved, scheduled, sent
over MQTT, downloaded from the media route and aired by receivers that know only the
protocol, and then shows up as aired in the status and the coverage report.

Receivers air on their own clocks, which the tests move to air time and past the
programme's length: nobody waits for either.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.delivery.models import Delivery, DeliveryEvent
from tests.audio import tone_recording
from tests.e2e.conftest import Chain
from tests.e2e.receiver_client import DeviceClock, Receiver, parse_time
from tests.mqtt.conftest import wait_for
from tests.utils import TEST_PASSWORD, Headers

Y_TY, PHA_LONG, BAC_HA = "02680", "02743", "02800"  # IP, legacy, IP (one receiver)
TEXT = "Bà con chú ý phòng chống cháy rừng."


def now() -> datetime:
    """The service's time (the same machine)."""
    return datetime.now(UTC)


def province_people(chain: Chain) -> dict[str, Headers]:
    """A province editor and approver created by the admin, and the demo operator of the
    legacy station, each signed in."""
    admin = chain.sign_in("admin")
    for username, role in (("bientap.tinh", "editor"), ("duyet.tinh", "approver")):
        body = {"username": username, "password": TEST_PASSWORD, "role": role, "area_code": "10"}
        chain.ok("POST", "/users", admin, json=body)
    return {
        "admin": admin,
        "editor": chain.sign_in("bientap.tinh"),
        "approver": chain.sign_in("duyet.tinh"),
        "operator": chain.sign_in("vanhanh.phalong"),
    }


@pytest.fixture
def people(chain: Chain) -> dict[str, Headers]:
    """Those of `province_people`."""
    return province_people(chain)


def write_and_approve(
    chain: Chain,
    people: dict[str, Headers],
    title: str,
    priority: str = "normal",
    text: str = TEXT,
) -> dict[str, Any]:
    """A province bulletin in Vietnamese: rendered in the background, submitted, approved."""
    body = {
        "title": title,
        "priority": priority,
        "area_code": "10",
        "translations": [{"language": "vi", "text": text}],
    }
    bulletin = chain.ok("POST", "/bulletins", people["editor"], json=body)
    path = f"/bulletins/{bulletin['id']}"

    def rendered() -> dict[str, Any] | None:
        shown = chain.ok("GET", path, people["editor"])
        return shown if shown["translations"][0]["audio_state"] != "pending" else None

    shown = wait_for(rendered, timeout=30)
    (vi,) = shown["translations"]
    assert (vi["audio_state"], vi["audio_engine"]) == ("ready", "espeak"), vi
    assert vi["audio_duration_ms"] > 500 and vi["audio_bytes"] > 0
    chain.ok("POST", f"{path}/submit", people["editor"])
    approved = chain.ok("POST", f"{path}/approve", people["approver"])
    assert approved["status"] == "approved"
    return dict(approved)


def schedule(
    chain: Chain,
    people: dict[str, Headers],
    bulletin: dict[str, Any],
    areas: list[str],
    *,
    in_seconds: float = 3.0,
    priority: str = "normal",
) -> dict[str, Any]:
    """Schedule one airing; returns the broadcast as created."""
    body: dict[str, Any] = {"bulletin_ids": [bulletin["id"]], "area_codes": areas}
    body["priority"] = priority
    if priority != "emergency":
        body["starts_at"] = (now() + timedelta(seconds=in_seconds)).isoformat()
    created = chain.ok("POST", "/broadcasts", people["editor"], json=body)
    assert len(created["occurrences"]) == 1
    return dict(created)


def status(chain: Chain, people: dict[str, Headers], broadcast_id: int) -> dict[str, Any]:
    """GET /broadcasts/{id}/status."""
    return dict(chain.ok("GET", f"/broadcasts/{broadcast_id}/status", people["editor"]))


def states(chain: Chain, people: dict[str, Headers], broadcast_id: int) -> dict[str, str]:
    """Delivery state per receiver (or legacy station) from the status route."""
    rows = status(chain, people, broadcast_id)["deliveries"]
    return {r["receiver_id"] or f"station:{r['station_id']}": r["state"] for r in rows}


def all_in(chain: Chain, people: dict[str, Headers], bid: int, wanted: dict[str, str]) -> bool:
    """True once the deliveries named in `wanted` are in those states."""
    found = states(chain, people, bid)
    return all(found.get(k) == v for k, v in wanted.items())


def vi_audio(bulletin: dict[str, Any]) -> tuple[str, int, int]:
    """The Vietnamese version's (sha256, bytes, duration_ms)."""
    (vi,) = bulletin["translations"]
    return vi["audio_sha256"], vi["audio_bytes"], vi["audio_duration_ms"]


def steps(device: Receiver, ref: str) -> list[str]:
    """The states a receiver went through for an airing (a repeated ack, its answer to a
    duplicate command, counted once)."""
    found: list[str] = []
    for state in device.states(ref):
        if not found or found[-1] != state:
            found.append(state)
    return found


def programme_of(device: Receiver, ref: str) -> dict[str, Any]:
    """The programme command it got (the service may send it again: always the same)."""
    commands = [c for c in device.counters.commands if c["broadcast_id"] == ref]
    assert commands and all(c == commands[0] for c in commands), commands
    return commands[0]


def air(devices: list[Receiver], clock: DeviceClock, ref: str, air_at: datetime) -> None:
    """Move the receivers' clock to air time, then past the programme: they air it."""
    clock.jump_to(air_at)
    started = [d.wait_for(ref, "started") for d in devices]
    assert all(s.at >= air_at for s in started)
    length = max(d.airings[ref].length for d in devices)
    clock.advance(length.total_seconds())
    for device in devices:
        device.wait_for(ref, "completed")


def test_a_bulletin_airs_on_ip_and_legacy_stations_and_is_reported(
    chain: Chain, people: dict[str, Headers]
) -> None:
    bulletin = write_and_approve(chain, people, "Phòng chống cháy rừng")
    sha, size, duration_ms = vi_audio(bulletin)
    y_ty = chain.station(people["admin"], Y_TY)
    pha_long = chain.station(people["admin"], PHA_LONG)
    assert (y_ty["kind"], pha_long["kind"]) == ("ip", "legacy")
    clock = DeviceClock()
    devices = [
        chain.receiver(rid, clock) for rid in chain.receiver_ids(people["admin"], y_ty["id"])
    ]
    assert len(devices) == 3

    broadcast = schedule(chain, people, bulletin, [Y_TY, PHA_LONG])
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref, air_at = occurrence["ref"], parse_time(occurrence["air_at"])
    for device in devices:
        device.wait_for(ref, "downloaded")
    # The programme is the bulletin as eSpeak NG read it, fetched from the service's own
    # media route (HTTP Basic, the receiver's credentials) and checked; nothing airs early.
    for device in devices:
        command = programme_of(device, ref)
        assert command["type"] == "programme" and command["broadcast_id"] == ref
        assert [
            (i["sha256"], i["bytes"], i["duration_ms"], i["language"]) for i in command["items"]
        ] == [(sha, size, duration_ms, "vi")]
        assert command["items"][0]["url"] == f"{chain.base_url}/media/{sha}.mp3"
        assert device.counters.downloads == 1 and len(device.files[sha]) == size
        assert steps(device, ref) == ["received", "downloaded"]

    air(devices, clock, ref, air_at)
    receivers = {d.receiver_id: "completed" for d in devices}
    wait_for(lambda: all_in(chain, people, bid, receivers))
    legacy = f"station:{pha_long['id']}"
    assert states(chain, people, bid)[legacy] == "sent"

    # The operator of the wired station confirms by hand that it aired at air time.
    body = {"station_id": pha_long["id"], "aired_at": occurrence["air_at"], "note": "Phát đủ"}
    confirmed = chain.ok("POST", f"/broadcasts/{bid}/confirmations", people["operator"], json=body)
    assert confirmed["state"] == "confirmed"

    shown = status(chain, people, bid)
    assert shown["counts"] == {"completed": 3, "confirmed": 1}
    assert (shown["total"], shown["aired"], shown["late"]) == (4, 4, 0)
    for row in shown["deliveries"]:
        if row["receiver_id"]:
            assert parse_time(row["started_at"]) >= air_at
            assert parse_time(row["completed_at"]) >= air_at + timedelta(milliseconds=duration_ms)
    receiver = chain.ok("GET", f"/receivers/{devices[0].receiver_id}", people["admin"])
    assert receiver["online"] is True and receiver["programme_broadcast_id"] == ref

    day = air_at.astimezone(chain.settings.zone).date().isoformat()
    report = chain.ok("GET", "/reports/coverage", people["editor"], params={"from": day, "to": day})
    communes = {c["code"]: c for c in report["communes"]}
    minutes = round(duration_ms / 60000, 2)
    for code in (Y_TY, PHA_LONG):
        row = communes[code]
        assert (row["planned"], row["aired"], row["on_time"], row["missed"]) == (1, 1, 1, 0), row
        assert row["minutes_aired"] == minutes
    assert (communes[Y_TY]["deliveries"], communes[Y_TY]["deliveries_aired"]) == (3, 3)
    assert report["total"]["aired"] == 2
    assert report["total"]["minutes_aired"] == round(2 * duration_ms / 60000, 2)


def test_an_emergency_airs_at_once(chain: Chain, people: dict[str, Headers]) -> None:
    bulletin = write_and_approve(chain, people, "Cảnh báo lũ quét", priority="emergency")
    y_ty = chain.station(people["admin"], Y_TY)
    clock = DeviceClock()
    devices = [
        chain.receiver(rid, clock) for rid in chain.receiver_ids(people["admin"], y_ty["id"])
    ]
    asked = now()
    broadcast = schedule(chain, people, bulletin, [Y_TY], priority="emergency")
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref = occurrence["ref"]
    assert broadcast["priority"] == "emergency"
    assert abs(parse_time(occurrence["air_at"]) - asked) < timedelta(seconds=5)
    # Nobody moves the clock: the receivers air it as soon as it is downloaded.
    started = [d.wait_for(ref, "started") for d in devices]
    assert all(s.at - asked < timedelta(seconds=10) for s in started)
    clock.advance(devices[0].airings[ref].length.total_seconds())
    wait_for(lambda: all_in(chain, people, bid, {d.receiver_id: "completed" for d in devices}))
    shown = status(chain, people, bid)
    assert shown["aired"] == 3 and shown["late"] == 0


def test_a_broadcast_cancelled_before_air_time_is_not_aired(
    chain: Chain, people: dict[str, Headers]
) -> None:
    bulletin = write_and_approve(chain, people, "Lịch họp thôn")
    y_ty = chain.station(people["admin"], Y_TY)
    clock = DeviceClock()
    devices = [
        chain.receiver(rid, clock) for rid in chain.receiver_ids(people["admin"], y_ty["id"])
    ]
    broadcast = schedule(chain, people, bulletin, [Y_TY], in_seconds=600)
    bid, ref = broadcast["id"], broadcast["occurrences"][0]["ref"]
    for device in devices:
        device.wait_for(ref, "downloaded")
    # The editor sees every receiver holding it, and cancels.
    wait_for(lambda: all_in(chain, people, bid, {d.receiver_id: "downloaded" for d in devices}))
    cancelled = chain.ok("POST", f"/broadcasts/{bid}/cancel", people["editor"])
    assert cancelled["cancelled_deliveries"] == 3
    for device in devices:
        answer = device.wait_for(ref, "rejected")
        assert answer.detail == "cancelled"
    wait_for(
        lambda: all(r["detail"] == "cancelled" for r in status(chain, people, bid)["deliveries"])
    )
    # Air time comes and goes on the receivers' clocks: nothing airs.
    clock.jump_to(parse_time(broadcast["occurrences"][0]["air_at"]) + timedelta(minutes=1))
    shown = chain.ok("GET", f"/broadcasts/{bid}", people["editor"])
    assert shown["status"] == "cancelled"
    assert shown["occurrences"][0]["state"] == "cancelled"
    # Each receiver's answer ends its delivery (a receiver's end outranks the cancel).
    after = status(chain, people, bid)
    assert after["counts"] == {"rejected": 3} and after["aired"] == 0
    assert {(r["state"], r["detail"]) for r in after["deliveries"]} == {("rejected", "cancelled")}
    assert all(steps(d, ref) == ["received", "downloaded", "rejected"] for d in devices)
    day = parse_time(broadcast["occurrences"][0]["air_at"]).astimezone(chain.settings.zone)
    params = {"from": day.date().isoformat(), "to": day.date().isoformat()}
    report = chain.ok("GET", "/reports/coverage", people["editor"], params=params)
    (row,) = [c for c in report["communes"] if c["code"] == Y_TY]
    assert (row["cancelled"], row["planned"], row["aired"]) == (1, 0, 0)


def test_a_receiver_offline_at_dispatch_gets_the_programme_when_it_connects(
    chain: Chain, people: dict[str, Headers]
) -> None:
    bulletin = write_and_approve(chain, people, "Tiêm phòng cho gia súc")
    bac_ha = chain.station(people["admin"], BAC_HA)
    (rid,) = chain.receiver_ids(people["admin"], bac_ha["id"])
    broadcast = schedule(chain, people, bulletin, [BAC_HA])
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref = occurrence["ref"]
    # Sent while the receiver has never connected: the broker keeps nothing for it.
    wait_for(lambda: states(chain, people, bid) == {rid: "sent"})
    clock = DeviceClock()
    device = chain.receiver(rid, clock)  # its `online` state makes the service resend
    device.wait_for(ref, "downloaded")
    # A dropped link before air time: the programme comes again, and the receiver only
    # repeats where it stands.
    device.reconnect()
    wait_for(lambda: device.states(ref).count("downloaded") >= 2)
    assert len(device.counters.commands) >= 2 and programme_of(device, ref)
    assert steps(device, ref) == ["received", "downloaded"] and device.counters.downloads == 1
    air([device], clock, ref, parse_time(occurrence["air_at"]))
    wait_for(lambda: states(chain, people, bid) == {rid: "completed"})


def test_a_station_with_a_jingle_airs_it_before_the_bulletin(
    chain: Chain, people: dict[str, Headers], tmp_path: Any
) -> None:
    bulletin = write_and_approve(chain, people, "Nhạc hiệu và bản tin")
    y_ty = chain.station(people["admin"], Y_TY)
    jingle = tone_recording(tmp_path / "nhac-hieu.mp3", 1000, freq=660)
    with jingle.open("rb") as handle:
        files = {"file": ("nhac-hieu.mp3", handle, "audio/mpeg")}
        answer = chain.call(
            "PUT", f"/stations/{y_ty['id']}/idents/intro", people["admin"], files=files
        )
    assert answer.status_code == 200, answer.text
    intro = answer.json()["idents"]["intro"]
    clock = DeviceClock()
    devices = [
        chain.receiver(rid, clock) for rid in chain.receiver_ids(people["admin"], y_ty["id"])
    ]
    broadcast = schedule(chain, people, bulletin, [Y_TY])
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref = occurrence["ref"]
    for device in devices:
        device.wait_for(ref, "downloaded")
    command = programme_of(devices[0], ref)
    assert [i["sha256"] for i in command["items"]] == [intro["sha256"], vi_audio(bulletin)[0]]
    assert all(d.counters.downloads == 2 for d in devices)
    air(devices, clock, ref, parse_time(occurrence["air_at"]))
    wait_for(lambda: all_in(chain, people, bid, {d.receiver_id: "completed" for d in devices}))


def test_a_receiver_whose_download_failed_airs_after_it_is_sent_again(
    chain: Chain, people: dict[str, Headers], engine: Engine
) -> None:
    bulletin = write_and_approve(chain, people, "Lịch tiêm phòng bổ sung")
    y_ty = chain.station(people["admin"], Y_TY)
    broken, *others = chain.receiver_ids(people["admin"], y_ty["id"])
    clock = DeviceClock()
    devices = [chain.receiver(rid, clock) for rid in (broken, *others)]
    devices[0].link_down = "[Errno 111] Connection refused"
    broadcast = schedule(chain, people, bulletin, [Y_TY], in_seconds=60)
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref = occurrence["ref"]
    devices[0].wait_for(ref, "failed")
    for device in devices[1:]:
        device.wait_for(ref, "downloaded")
    wanted = {broken: "failed", **dict.fromkeys(others, "downloaded")}
    wait_for(lambda: states(chain, people, bid) == wanted)
    (failed,) = [d for d in status(chain, people, bid)["deliveries"] if d["receiver_id"] == broken]
    assert failed["attempt"] == 1 and "Connection refused" in failed["detail"]

    # The link is mended; the commune's operator sends the airing again to what failed.
    devices[0].link_down = None
    operator = chain.sign_in("vanhanh.yty")
    answer = chain.ok("POST", f"/broadcasts/{bid}/resend", operator, json={"occurrence": 1})
    (resent,) = answer["resent"]
    assert (resent["receiver_id"], resent["state"], resent["attempt"]) == (broken, "queued", 2)
    assert resent["version"] != failed["version"] and resent["detail"] is None
    assert answer["skipped"] == []

    # A new version of the same airing: the receiver downloads it and airs with the others.
    devices[0].wait_for(ref, "downloaded")
    assert devices[0].airings[ref].version == resent["version"]
    air(devices, clock, ref, parse_time(occurrence["air_at"]))
    wait_for(lambda: set(states(chain, people, bid).values()) == {"completed"})
    shown = {d["receiver_id"]: d for d in status(chain, people, bid)["deliveries"]}
    assert shown[broken]["attempt"] == 2 and shown[broken]["completed_at"] is not None
    assert {shown[rid]["attempt"] for rid in others} == {1}

    # The as-run log keeps both attempts apart.
    with Session(engine) as session:
        events = session.exec(
            select(DeliveryEvent.attempt, DeliveryEvent.state, DeliveryEvent.source)
            .join(Delivery, col(Delivery.id) == col(DeliveryEvent.delivery_id))
            .where(Delivery.broadcast_id == bid, Delivery.receiver_id == broken)
            .order_by(col(DeliveryEvent.attempt), col(DeliveryEvent.at), col(DeliveryEvent.id))
        ).all()
    first = [state for attempt, state, _ in events if attempt == 1]
    second = [(state, source) for attempt, state, source in events if attempt == 2]
    assert first == ["sent", "received", "failed"], events
    assert [state for state, _ in second] == [
        "queued",
        "sent",
        "received",
        "downloaded",
        "started",
        "completed",
    ], events
    assert second[0][1] == "operator"

    # Nothing is left to send again: a second request says so, receiver by receiver.
    again = chain.call(
        "POST",
        f"/broadcasts/{bid}/resend",
        operator,
        json={"occurrence": 1, "receiver_ids": [broken, "khong-co"]},
    )
    assert again.status_code == 200, again.text
    assert again.json()["resent"] == []
    assert again.json()["skipped"] == [
        {"receiver_id": broken, "reason": "resend.not_failed"},
        {"receiver_id": "khong-co", "reason": "resend.receiver_not_in_airing"},
    ]


def test_a_programme_an_emergency_interrupts_airs_again_right_after_it(
    chain: Chain, people: dict[str, Headers], engine: Engine
) -> None:
    # A long programme (about a minute), so the emergency surely comes while it airs.
    regular = write_and_approve(chain, people, "Lịch tiêm phòng bổ sung", text=TEXT * 15)
    warning = write_and_approve(chain, people, "Cảnh báo lũ quét", priority="emergency")
    y_ty = chain.station(people["admin"], Y_TY)
    clock = DeviceClock()
    devices = [
        chain.receiver(rid, clock) for rid in chain.receiver_ids(people["admin"], y_ty["id"])
    ]
    broadcast = schedule(chain, people, regular, [Y_TY])
    bid, (occurrence,) = broadcast["id"], broadcast["occurrences"]
    ref = occurrence["ref"]
    clock.jump_to(parse_time(occurrence["air_at"]))
    for device in devices:
        device.wait_for(ref, "started", timeout=30)
    first_version = {d.receiver_id: d.airings[ref].version for d in devices}

    # The warning interrupts it on every loudspeaker.
    emergency = schedule(chain, people, warning, [Y_TY], priority="emergency")
    eid, (alarm,) = emergency["id"], emergency["occurrences"]
    eref = alarm["ref"]
    for device in devices:
        device.wait_for(eref, "started", timeout=30)
        interrupted = device.wait_for(ref, "failed")
        assert interrupted.detail == "interrupted"

    # The service sends the interrupted programme again; the receivers hold it while the
    # warning plays (a programme waits for the one playing to end).
    def held_again() -> bool:
        return all(
            d.airings[ref].version != first_version[d.receiver_id]
            and d.airings[ref].state == "downloaded"
            for d in devices
        )

    wait_for(held_again, timeout=30)
    assert all(d.states(ref).count("started") == 1 for d in devices)

    # The warning ends: the programme airs again at once, and to its end.
    clock.advance(devices[0].airings[eref].length.total_seconds() + 0.5)
    for device in devices:
        device.wait_for(eref, "completed")
    wait_for(lambda: all(d.states(ref).count("started") == 2 for d in devices), timeout=30)
    clock.advance(devices[0].airings[ref].length.total_seconds() + 0.5)
    for device in devices:
        device.wait_for(ref, "completed")
    receivers = [d.receiver_id for d in devices]
    wait_for(lambda: all_in(chain, people, bid, dict.fromkeys(receivers, "completed")))
    wait_for(lambda: all_in(chain, people, eid, dict.fromkeys(receivers, "completed")))

    # The status names the emergency that interrupted each receiver's airing.
    rows = status(chain, people, bid)["deliveries"]
    assert {(r["attempt"], r["reaired"], r["interrupted_by"]) for r in rows} == {(2, True, eref)}
    assert all(
        steps(d, ref)
        == [
            "received",
            "downloaded",
            "started",
            "failed",
            "received",
            "downloaded",
            "started",
            "completed",
        ]
        for d in devices
    ), {d.receiver_id: d.states(ref) for d in devices}

    # The as-run log keeps the interruption and the airing after it apart.
    with Session(engine) as session:
        events = session.exec(
            select(DeliveryEvent.attempt, DeliveryEvent.state, DeliveryEvent.detail)
            .join(Delivery, col(Delivery.id) == col(DeliveryEvent.delivery_id))
            .where(Delivery.broadcast_id == bid, Delivery.receiver_id == receivers[0])
            .order_by(col(DeliveryEvent.attempt), col(DeliveryEvent.at), col(DeliveryEvent.id))
        ).all()
    assert [s for a, s, _ in events if a == 1][-1] == "failed"
    again = [(s, d) for a, s, d in events if a == 2]
    assert again[0] == ("queued", f"aired again after emergency {eref}")
    assert again[-1][0] == "completed"

    # The coverage report counts the station's airing as aired, and aired again.
    day = now().astimezone(chain.settings.zone).date().isoformat()
    report = chain.ok("GET", "/reports/coverage", people["editor"], params={"from": day, "to": day})
    assert report["total"]["reaired"] == 1
    (commune,) = [c for c in report["communes"] if c["code"] == Y_TY]
    assert (commune["aired"], commune["reaired"], commune["missed"]) == (2, 1, 0)
