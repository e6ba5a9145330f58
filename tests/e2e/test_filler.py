"""Filler end to end: set over REST, sent by the worker, held by an independent receiver.

The receiver is the one written from docs/protocol.md (tests/e2e/receiver_client.py): it
declares `"filler"` in its `state`, downloads the tracks with its own credentials and
reports the version it holds. A receiver that declares nothing never gets filler.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.bulletins.conftest import make_tone
from tests.e2e.conftest import Chain
from tests.e2e.receiver_client import Receiver, parse_time
from tests.mqtt.conftest import wait_for

HOURS = [{"start": "05:30", "end": "07:00"}, {"start": "17:00", "end": "18:30"}]


def _spans(command: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    return [(parse_time(s["start"]), parse_time(s["end"])) for s in command["spans"]]


def _filler_commands(device: Receiver) -> list[dict[str, Any]]:
    return [c for c in device.counters.commands if c.get("type") == "filler"]


def test_filler_reaches_the_receivers_that_air_it_and_follows_each_change(
    chain: Chain, tmp_path: Path
) -> None:
    zone = ZoneInfo(chain.settings.timezone)
    admin = chain.sign_in("admin")
    station = chain.station(admin, "02680")
    url = f"/stations/{station['id']}/filler"
    chain.ok("PUT", url, admin, json={"windows": HOURS})
    track = make_tone(tmp_path / "que-huong.mp3", 2.0, freq=523)
    with track.open("rb") as handle:
        chain.ok(
            "POST",
            f"{url}/tracks",
            admin,
            files={"file": (track.name, handle, "audio/mpeg")},
            data={"title": "Quê hương"},
        )
    shown = chain.ok("PUT", url, admin, json={"enabled": True, "windows": HOURS})
    assert shown["airs"] and shown["version"]

    first, second, *_rest = chain.receiver_ids(admin, station["id"])
    airs = chain.receiver(first, features=["filler"])
    plain = chain.receiver(second)
    wait_for(
        lambda: airs.filler is not None and airs.filler["version"] == shown["version"],
        timeout=20,
        show=lambda: (airs.errors, _filler_commands(airs)),
    )
    assert airs.filler is not None
    assert _spans(airs.filler) == [
        (parse_time(s["start"]), parse_time(s["end"])) for s in shown["spans"]
    ]
    (item,) = airs.filler["items"]
    assert item["sha256"] == shown["tracks"][0]["sha256"] and item["sha256"] in airs.files
    # The service believes it once the receiver says so in its state.
    wait_for(
        lambda: (
            chain.ok("GET", url, admin)["receivers"] == {"total": 3, "capable": 1, "holding": 1}
        ),
        timeout=20,
        show=lambda: chain.ok("GET", url, admin)["receivers"],
    )
    assert _filler_commands(plain) == [] and plain.errors == []
    held = {
        r["id"]: r["filler_version"]
        for r in chain.ok("GET", f"/stations/{station['id']}/receivers", admin)["items"]
    }
    assert held[first] == shown["version"] and held[second] is None

    # A funeral tomorrow, 17:30-18:00 local: those minutes leave the filler.
    tomorrow = datetime.now(zone).date() + timedelta(days=1)
    begins = datetime.combine(tomorrow, time(17, 30), tzinfo=zone)
    chain.ok(
        "POST",
        "/areas/02680/blackouts",
        admin,
        json={
            "reason": "Đám tang thôn Lao Chải",
            "starts_at": begins.isoformat(),
            "ends_at": (begins + timedelta(minutes=30)).isoformat(),
        },
    )
    changed = chain.ok("GET", url, admin)
    assert changed["version"] != shown["version"]
    wait_for(
        lambda: airs.filler is not None and airs.filler["version"] == changed["version"],
        timeout=20,
        show=lambda: airs.errors,
    )
    assert airs.filling((begins - timedelta(minutes=15)).astimezone(UTC))
    assert not airs.filling((begins + timedelta(minutes=15)).astimezone(UTC))
    assert airs.filling((begins + timedelta(minutes=45)).astimezone(UTC))
    assert not airs.filling(datetime.combine(tomorrow, time(12, 0), tzinfo=zone))
    # The track was fetched once: the new command names the same file.
    assert airs.counters.downloads == 1

    # Filler off: the receiver is told to hold none, and says so.
    chain.ok("PUT", url, admin, json={"enabled": False, "windows": HOURS})
    wait_for(lambda: airs.filler is None and bool(_filler_commands(airs)), timeout=20)
    last = _filler_commands(airs)[-1]
    assert last["spans"] == [] and last["items"] == []
    assert _filler_commands(plain) == []
