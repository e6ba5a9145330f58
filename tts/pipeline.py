"""PCM from an engine or a recording -> broadcast-ready encoded audio."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from tts.audio import (
    ENCODER_HEADROOM_DB,
    PCM,
    decode_to_pcm,
    duration_ms,
    encode_pcm,
    integrated_loudness,
    normalize_loudness,
    trim_silence,
    true_peak_db,
)
from tts.config import TTSConfig

log = logging.getLogger(__name__)

# Accepted distance between the measured output loudness and the target.
LOUDNESS_TOLERANCE_LU = 0.5
_MAX_ENCODE_PASSES = 3


@dataclass(frozen=True, slots=True)
class Encoded:
    """An encoded file with what was measured on it (not on the input)."""

    data: bytes
    duration_ms: int
    loudness_lufs: float
    true_peak_db: float


def trim(pcm: PCM, config: TTSConfig) -> PCM:
    """Cut leading and trailing silence."""
    return trim_silence(pcm, config.sample_rate, threshold_db=config.silence_threshold_db)


def broadcast_ready(pcm: PCM, config: TTSConfig) -> Encoded:
    """Normalise loudness and true peak, encode, and measure the result on the output.

    Lossy encoding shifts loudness and peaks a little, so the encoded file is decoded,
    measured, and re-made with corrected targets when it misses them.
    """
    rate = config.sample_rate
    target = config.loudness_lufs
    ceiling = config.true_peak_db - ENCODER_HEADROOM_DB
    best: Encoded | None = None
    for _ in range(_MAX_ENCODE_PASSES):
        levelled = normalize_loudness(pcm, rate, target_lufs=target, true_peak_ceiling=ceiling)
        data = encode_pcm(levelled, rate, codec=config.codec, bitrate=config.bitrate)
        decoded = decode_to_pcm(data, rate, input_format="ogg" if config.codec == "opus" else "mp3")
        measured = Encoded(
            data=data,
            duration_ms=duration_ms(decoded, rate),
            loudness_lufs=float(integrated_loudness(decoded, rate)),
            true_peak_db=float(true_peak_db(decoded, rate)),
        )
        best = measured
        loud_ok = abs(measured.loudness_lufs - config.loudness_lufs) <= LOUDNESS_TOLERANCE_LU
        peak_ok = measured.true_peak_db <= config.true_peak_db
        if (loud_ok or not np.isfinite(measured.loudness_lufs)) and peak_ok:
            break
        target += config.loudness_lufs - measured.loudness_lufs
        if not peak_ok:
            ceiling -= measured.true_peak_db - config.true_peak_db + 0.1
        log.debug(
            "re-encoding: measured %.2f LUFS %.2f dBTP; new target %.2f, ceiling %.2f",
            measured.loudness_lufs,
            measured.true_peak_db,
            target,
            ceiling,
        )
    assert best is not None
    return best
