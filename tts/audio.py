"""Audio helpers shared by tts/ and playlists/: ffmpeg, PCM decode/encode, loudness.

PCM is always a 1-D numpy float32 array of mono samples in [-1, 1].
ffmpeg is the system binary when present, else the one in the imageio-ffmpeg wheel
(which has no ffprobe, so every call states formats explicitly).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyloudnorm
from scipy.signal import resample_poly

from tts.errors import AudioProcessingError, EngineUnavailable

log = logging.getLogger(__name__)

PCM = npt.NDArray[np.float32]

# BS.1770 needs at least one 400 ms gating block.
_MIN_LOUDNESS_SECONDS = 0.4
# Headroom kept below the true-peak ceiling before encoding: lossy encoders overshoot.
ENCODER_HEADROOM_DB = 0.5
_FFMPEG_TIMEOUT = 600.0

_CODECS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "opus": ["-c:a", "libopus", "-application", "voip", "-f", "ogg"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
}


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: the system one first, else the imageio-ffmpeg wheel."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as exc:
        raise EngineUnavailable(
            "ffmpeg is needed to decode and encode audio and was not found",
            "neither the system package 'ffmpeg' nor the Python wheel 'imageio-ffmpeg' "
            "is installed",
            code="audio.ffmpeg_missing",
        ) from exc


def _run(args: Sequence[str], data: bytes | None = None) -> bytes:
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]
    try:
        done = subprocess.run(
            cmd, input=data, capture_output=True, timeout=_FFMPEG_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise AudioProcessingError(
            "ffmpeg did not finish in time",
            "the audio is very long or the machine is overloaded",
            code="audio.ffmpeg_timeout",
        ) from exc
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise AudioProcessingError(
            "ffmpeg could not process the audio",
            " / ".join(detail) or f"ffmpeg exited with code {done.returncode}",
            code="audio.ffmpeg_failed",
            returncode=done.returncode,
        )
    return done.stdout


def decode_to_pcm(
    source: bytes | Path,
    sample_rate: int,
    *,
    input_format: str | None = None,
    max_seconds: float | None = None,
    tempo: float = 1.0,
) -> PCM:
    """Decode any audio file or bytes to mono float32 PCM at sample_rate."""
    filters = [f"atempo={tempo:.4f}"] if abs(tempo - 1.0) > 1e-3 else []
    out_args = ["-vn", "-ac", "1", "-ar", str(sample_rate), "-f", "f32le"]
    if max_seconds is not None:
        out_args = ["-t", f"{max_seconds:.3f}", *out_args]
    if filters:
        out_args = ["-af", ",".join(filters), *out_args]
    fmt = ["-f", input_format] if input_format else []
    if isinstance(source, Path):
        raw = _run([*fmt, "-i", str(source), *out_args, "pipe:1"])
    else:
        # A temporary file rather than a pipe: MP4/M4A need a seekable input.
        with tempfile.NamedTemporaryFile(suffix=".audio") as tmp:
            tmp.write(source)
            tmp.flush()
            raw = _run([*fmt, "-i", tmp.name, *out_args, "pipe:1"])
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def pcm_to_int16(pcm: PCM) -> npt.NDArray[np.int16]:
    """Convert float PCM to int16 with clipping."""
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)


def encode_pcm(pcm: PCM, sample_rate: int, *, codec: str = "mp3", bitrate: str = "48k") -> bytes:
    """Encode mono float32 PCM through an ffmpeg pipe to mp3, opus (ogg) or wav bytes."""
    if codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}")
    args = ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    args += _CODECS[codec]
    if codec != "wav":
        args += ["-b:a", bitrate]
    data = np.ascontiguousarray(pcm, dtype="<f4").tobytes()
    # The output goes to a seekable temporary file, not a pipe: ffmpeg then writes the
    # LAME/Xing header that lets decoders drop encoder padding (exact duration).
    with tempfile.TemporaryDirectory(prefix="loa-enc-") as tmp:
        target = Path(tmp) / f"out.{codec}"
        _run([*args, "-y", str(target)], data=data)
        return target.read_bytes()


def duration_ms(pcm: PCM, sample_rate: int) -> int:
    """Duration of PCM in milliseconds, rounded."""
    return round(len(pcm) * 1000 / sample_rate)


def probe_duration_ms(source: bytes | Path, *, input_format: str | None = None) -> int:
    """Exact duration of an encoded file, measured by decoding it (no ffprobe needed)."""
    rate = 48_000
    return duration_ms(decode_to_pcm(source, rate, input_format=input_format), rate)


def silence(milliseconds: int, sample_rate: int) -> PCM:
    """Digital silence of the given length."""
    return np.zeros(round(sample_rate * milliseconds / 1000), dtype=np.float32)


def concatenate(parts: Sequence[PCM], sample_rate: int, *, pause_ms: int = 0) -> PCM:
    """Join PCM parts in order with an optional pause between them (one copy, not N)."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    gap = silence(pause_ms, sample_rate)
    pieces: list[PCM] = []
    for index, part in enumerate(parts):
        if index and len(gap):
            pieces.append(gap)
        pieces.append(part.astype(np.float32, copy=False))
    return np.concatenate(pieces)


def peak_db(pcm: PCM) -> float:
    """Sample peak in dBFS (-inf for silence)."""
    peak = float(np.max(np.abs(pcm))) if len(pcm) else 0.0
    return float(20 * np.log10(peak)) if peak > 0 else float("-inf")


def true_peak_db(pcm: PCM, sample_rate: int) -> float:
    """True peak in dBTP, estimated with 4x oversampling as in ITU-R BS.1770-4 annex 2."""
    if not len(pcm):
        return float("-inf")
    upsampled = resample_poly(pcm.astype(np.float64), 4, 1)
    peak = float(np.max(np.abs(upsampled)))
    return float(20 * np.log10(peak)) if peak > 0 else float("-inf")


def integrated_loudness(pcm: PCM, sample_rate: int) -> float:
    """Integrated loudness in LUFS per ITU-R BS.1770 (-inf for silence)."""
    data = pcm.astype(np.float64)
    minimum = int(_MIN_LOUDNESS_SECONDS * sample_rate) + 1
    if len(data) < minimum:
        # Silent padding is removed by the absolute gate, so it does not bias the result.
        data = np.concatenate([data, np.zeros(minimum - len(data))])
    if not np.any(data):
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))


def trim_silence(
    pcm: PCM, sample_rate: int, *, threshold_db: float = -45.0, pad_ms: int = 60
) -> PCM:
    """Cut silence at both ends, keeping pad_ms of margin; all-silent input gives []."""
    window = max(1, sample_rate // 100)  # 10 ms frames
    frames = len(pcm) // window
    if frames == 0:
        return pcm[:0] if peak_db(pcm) < threshold_db else pcm
    energy = pcm[: frames * window].reshape(frames, window).astype(np.float64)
    rms = np.sqrt(np.mean(energy**2, axis=1))
    loud = np.nonzero(rms > 10 ** (threshold_db / 20))[0]
    if not len(loud):
        return pcm[:0]
    pad = round(sample_rate * pad_ms / 1000)
    start = max(0, loud[0] * window - pad)
    end = min(len(pcm), (loud[-1] + 1) * window + pad)
    return pcm[start:end]


def _limit(pcm: PCM, sample_rate: int, ceiling_db: float) -> PCM:
    """Look-ahead peak limiter: smooth gain reduction wherever the true peak exceeds ceiling."""
    ceiling = 10 ** (ceiling_db / 20)
    upsampled = np.abs(resample_poly(pcm.astype(np.float64), 4, 1))
    env = upsampled[: len(pcm) * 4].reshape(-1, 4).max(axis=1)
    if len(env) < len(pcm):
        env = np.pad(env, (0, len(pcm) - len(env)))
    gain = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
    if np.all(gain >= 1.0):
        return pcm
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    half = max(1, sample_rate // 400)  # 2.5 ms each side
    held = minimum_filter1d(gain, size=2 * half + 1, mode="nearest")
    smooth = uniform_filter1d(held, size=half + 1, mode="nearest")
    return (pcm * np.minimum(smooth, gain)).astype(np.float32)


def normalize_loudness(
    pcm: PCM, sample_rate: int, *, target_lufs: float = -16.0, true_peak_ceiling: float = -1.0
) -> PCM:
    """Bring integrated loudness to target_lufs with true peak at most true_peak_ceiling."""
    out = pcm.astype(np.float32)
    for _ in range(6):
        loudness = integrated_loudness(out, sample_rate)
        if not np.isfinite(loudness):
            return out
        gain_db = target_lufs - loudness
        if abs(gain_db) < 0.1 and true_peak_db(out, sample_rate) <= true_peak_ceiling:
            break
        out = (out * 10 ** (gain_db / 20)).astype(np.float32)
        out = _limit(out, sample_rate, true_peak_ceiling)
    # Safety net: never exceed the ceiling, even if the limiter could not converge.
    overshoot = true_peak_db(out, sample_rate) - true_peak_ceiling
    if overshoot > 0:
        out = (out * 10 ** (-(overshoot + 0.05) / 20)).astype(np.float32)
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write bytes to path via a temporary file and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
