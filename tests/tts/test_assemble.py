"""Clips joined into one broadcast-ready file: in order, gaps between, levelled once, cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tts import InvalidInput, Synthesizer, TTSConfig
from tts.audio import decode_to_pcm, encode_pcm, integrated_loudness

RATE = 24_000


def _tone(path: Path, seconds: float, freq: float, level: float) -> Path:
    t = np.arange(round(seconds * RATE)) / RATE
    pcm = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    path.write_bytes(encode_pcm(pcm, RATE))
    return path


def test_clips_are_joined_in_order_with_gaps_and_levelled_as_one(
    config: TTSConfig, tmp_path: Path
) -> None:
    synth = Synthesizer(config, engines={})
    loud = _tone(tmp_path / "loud.mp3", 1.0, 300, 0.8)
    quiet = _tone(tmp_path / "quiet.mp3", 0.5, 900, 0.05)
    joined = synth.assemble([loud, quiet, loud], "hmn", gap_ms=400)
    assert joined.engine == "template" and joined.language == "hmn"
    # 1 s + 0.4 + 0.5 + 0.4 + 1 s, within an mp3 frame or two.
    assert abs(joined.duration_ms - 3300) <= 60
    pcm = decode_to_pcm(joined.path, RATE)
    assert abs(integrated_loudness(pcm, RATE) - config.loudness_lufs) <= 1.0
    # The gaps are silent and the parts sit where they should (the high tone in the middle).
    gap = pcm[round(1.1 * RATE) : round(1.3 * RATE)]
    assert float(np.max(np.abs(gap))) < 0.01
    middle = pcm[round(1.5 * RATE) : round(1.8 * RATE)]
    crossings = np.count_nonzero(np.diff(np.signbit(middle)))
    assert crossings / (0.3 * 2) == pytest.approx(900, rel=0.05)
    # The same clips in the same order are a cache hit; another order is another file.
    assert synth.assemble([loud, quiet, loud], "hmn", gap_ms=400).cache_hit
    assert synth.assemble([quiet, loud, loud], "hmn", gap_ms=400).sha256 != joined.sha256


def test_nothing_to_join_is_refused(config: TTSConfig) -> None:
    with pytest.raises(InvalidInput) as caught:
        Synthesizer(config, engines={}).assemble([], "hmn", gap_ms=0)
    assert caught.value.code == "tts.nothing_to_join"
