"""Programme assembly: order, languages, gaps, idents, overflow, manifest, real rendering."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from playlists import MediaAsset, ProgrammeEntry, SlotRules, assemble
from playlists.render import render_programme
from tts.audio import encode_pcm, probe_duration_ms

RATE = 24_000


def asset(ms: int, tag: str = "") -> MediaAsset:
    sha = hashlib.sha256(f"{ms}{tag}".encode()).hexdigest()
    return MediaAsset(sha256=sha, bytes=ms * 6, duration_ms=ms)


def entry(bid: int, priority: str, order: int, **versions: int) -> ProgrammeEntry:
    return ProgrammeEntry(
        bid, f"Tin {bid}", priority, order, {k: asset(v, f"{bid}{k}") for k, v in versions.items()}
    )


def test_order_by_priority_then_schedule_and_station_language_order() -> None:
    entries = [
        entry(1, "normal", 0, vi=1000, hmn=1200),
        entry(2, "emergency", 1, vi=800, hmn=900),
        entry(3, "priority", 2, vi=700, hmn=600),
        entry(4, "normal", 3, vi=500, hmn=500),
    ]
    prog = assemble(entries, ["vi", "hmn"], SlotRules(gap_ms=300))
    assert [(i.bulletin_id, i.language) for i in prog.items] == [
        (2, "vi"), (2, "hmn"), (3, "vi"), (3, "hmn"), (1, "vi"), (1, "hmn"), (4, "vi"), (4, "hmn"),
    ]  # fmt: skip
    assert prog.total_duration_ms == 6200 + 7 * 300
    assert prog.items[1].start_ms == 800 + 300
    assert not prog.warnings and not prog.overflow


def test_missing_language_warns_and_blocks_only_when_required() -> None:
    entries = [entry(1, "normal", 0, vi=1000), entry(2, "normal", 1, hmn=900)]
    prog = assemble(entries, ["vi", "hmn"], SlotRules())
    codes = [(w.code, w.bulletin_id, w.language) for w in prog.warnings]
    assert ("missing_language", 1, "hmn") in codes and ("missing_language", 2, "vi") in codes
    assert not prog.blocked and len(prog.items) == 2
    strict = assemble(entries, ["vi", "hmn"], SlotRules(require_all_languages=True))
    assert strict.blocked and strict.version != prog.version
    assert "blocked" in [w.code for w in strict.warnings]
    tay = assemble(entries, ["tyz"], SlotRules())
    assert not tay.items and {w.code for w in tay.warnings} >= {"no_version", "empty"}


def test_overflow_moves_lower_priority_to_next_slot_but_never_emergencies() -> None:
    intro, outro = asset(2000, "intro"), asset(1000, "outro")
    entries = [
        entry(1, "normal", 0, vi=4000),
        entry(2, "priority", 1, vi=4000),
        entry(3, "normal", 2, vi=1000),  # would fit, but the queue keeps its order
        entry(4, "emergency", 3, vi=3000),
    ]
    rules = SlotRules(gap_ms=500, max_duration_ms=12_000, intro=intro, outro=outro)
    prog = assemble(entries, ["vi"], rules)
    assert [i.kind for i in prog.items] == ["intro", "bulletin", "bulletin", "outro"]
    assert prog.bulletin_ids == (4, 2)
    assert [e.bulletin_id for e in prog.overflow] == [1, 3]
    assert [w.code for w in prog.warnings] == ["overflow"]
    huge = assemble([*entries[:3], entry(4, "emergency", 3, vi=20000)], ["vi"], rules)
    assert huge.bulletin_ids == (4,) and [e.bulletin_id for e in huge.overflow] == [2, 1, 3]
    assert "overrun" in [w.code for w in huge.warnings]


def test_manifest_fields_and_version_hash() -> None:
    prog = assemble([entry(1, "normal", 0, vi=1000, hmn=900)], ["vi", "hmn"], SlotRules(gap_ms=0))
    manifest = prog.manifest(lambda sha: f"https://loa.example/media/{sha}.mp3")
    assert manifest["total_duration_ms"] == 1900 and manifest["version"] == prog.version
    assert set(manifest["items"][0]) == {
        "url",
        "sha256",
        "bytes",
        "duration_ms",
        "language",
        "title",
    }
    assert manifest["items"][1]["language"] == "hmn"
    changed = assemble(
        [entry(1, "normal", 0, vi=1001, hmn=900)], ["vi", "hmn"], SlotRules(gap_ms=0)
    )
    regap = assemble([entry(1, "normal", 0, vi=1000, hmn=900)], ["vi", "hmn"], SlotRules(gap_ms=1))
    assert len({prog.version, changed.version, regap.version}) == 3


@pytest.fixture
def real_assets(tmp_path: Path) -> list[MediaAsset]:
    out = []
    for i, seconds in enumerate((1.3, 2.05, 0.9, 1.7)):
        t = np.arange(int(RATE * seconds)) / RATE
        data = encode_pcm((0.3 * np.sin(2 * np.pi * (300 + 100 * i) * t)).astype(np.float32), RATE)
        sha = hashlib.sha256(data).hexdigest()
        path = tmp_path / f"{sha}.mp3"
        path.write_bytes(data)
        out.append(MediaAsset(sha, len(data), probe_duration_ms(path), path))
    return out


def test_rendered_programme_lasts_items_plus_gaps(
    tmp_path: Path, real_assets: list[MediaAsset]
) -> None:
    a, b, c, d = real_assets
    entries = [
        ProgrammeEntry(1, "Một", "normal", 0, {"vi": a, "hmn": b}),
        ProgrammeEntry(2, "Hai", "emergency", 1, {"vi": c}),
    ]
    prog = assemble(entries, ["vi", "hmn"], SlotRules(gap_ms=750, intro=d, outro=d))
    result = render_programme(prog, tmp_path / "out" / "programme.mp3")
    measured = probe_duration_ms(result.path)
    assert len(prog.items) == 5
    assert abs(measured - prog.total_duration_ms) <= 50, (measured, prog.total_duration_ms)
