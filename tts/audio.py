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
from pyloudnorm.iirfilter import IIRfilter
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, sosfilt, upfirdn

from tts.errors import AudioProcessingError, EngineUnavailable

log = logging.getLogger(__name__)

PCM = npt.NDArray[np.float32]

# BS.1770 needs at least one 400 ms gating block.
_MIN_LOUDNESS_SECONDS = 0.4
# Headroom kept below the true-peak ceiling before encoding: lossy encoders overshoot.
ENCODER_HEADROOM_DB = 0.5
_FFMPEG_TIMEOUT = 600.0
# True peak: 4x oversampling with resample_poly's filter, searched block by block.
_OVERSAMPLE = 4
_BLOCK = 256  # samples; more than the filter's reach on each side
_CONTEXT = 32  # samples of neighbours each block's filter needs (at least 21)
_CHUNK_BLOCKS = 256  # blocks oversampled at once (bounded memory)
# The limiter aims this far below the ceiling: its smoothed gain can overshoot a little.
_LIMITER_MARGIN_DB = 0.05
_LEVELLING_STEPS = 8

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
    """True peak in dBTP, estimated with 4x oversampling as in ITU-R BS.1770-4 annex 2.

    The value is that of the 4x oversampled signal (scipy's resample_poly filter), worked
    out only where it can be the maximum: a block whose bound (from its neighbourhood's
    sample peak and second difference) is below a peak already found cannot hold it.
    """
    if not len(pcm):
        return float("-inf")
    peak = _PeakEnvelope(pcm).true_peak()
    return float(20 * np.log10(peak)) if peak > 0 else float("-inf")


@cache
def _oversampling_filter() -> tuple[npt.NDArray[np.float64], float, float, float]:
    """resample_poly's 4x filter and three bounds on what one output can reach.

    Each phase of the filter is split into the two-tap interpolation with the same sum and
    centre (c) and a rest r that cancels constants and ramps, so r = q * [1, -2, 1]: an
    output is at most |c|.max|x| + |q|.max|second difference of x| around it, tight for
    speech, whose second difference is small. The plain bound is |phase|.max|x|.
    Returned: taps, max |phase|, max |c|, max |q| (the sums of absolute values).
    """
    half = 10 * _OVERSAMPLE
    taps = firwin(2 * half + 1, 1 / _OVERSAMPLE, window=("kaiser", 5.0)) * _OVERSAMPLE
    plain = interpolation = rest = 0.0
    for phase in range(_OVERSAMPLE):
        weights = taps[phase::_OVERSAMPLE]
        total = float(weights.sum())
        centre = float((np.arange(len(weights)) * weights).sum()) / total
        left = int(np.floor(centre))
        fraction = centre - left
        two_tap = np.zeros_like(weights)
        two_tap[left] = total * (1 - fraction)
        if fraction > 0:
            two_tap[left + 1] = total * fraction
        q = np.cumsum(np.cumsum(weights - two_tap))
        plain = max(plain, float(np.abs(weights).sum()))
        interpolation = max(interpolation, float(np.abs(two_tap).sum()))
        # q's last two terms are zero up to rounding; counting them keeps the bound safe.
        rest = max(rest, float(np.abs(q).sum()))
    taps.flags.writeable = False
    # A hair above the bounds: rounding must never exclude a block that holds the peak.
    slack = 1 + 1e-9
    return taps, plain * slack, interpolation * slack, rest * slack


@cache
def _k_weighting(sample_rate: int) -> npt.NDArray[np.float64]:
    """BS.1770's K-weighting (pyloudnorm's two biquads) as second-order sections."""
    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    sos = np.array([np.r_[shelf.b, shelf.a], np.r_[highpass.b, highpass.a]], dtype=np.float64)
    sos.flags.writeable = False
    return sos


def _weighted_squares(pcm: PCM, sample_rate: int) -> npt.NDArray[np.float64] | None:
    """Squares of the K-weighted signal, padded to one gating block; None for silence."""
    data = pcm.astype(np.float64)
    minimum = int(_MIN_LOUDNESS_SECONDS * sample_rate) + 1
    if len(data) < minimum:
        # Silent padding is removed by the absolute gate, so it does not bias the result.
        data = np.concatenate([data, np.zeros(minimum - len(data))])
    if not np.any(data):
        return None
    weighted = sosfilt(_k_weighting(sample_rate).copy(), data)
    return weighted * weighted


def _block_bounds(length: int, sample_rate: int) -> tuple[npt.NDArray[np.int64], ...]:
    """pyloudnorm's gating blocks (400 ms, 75 % overlap) over length samples: lower, upper."""
    block, step = _MIN_LOUDNESS_SECONDS, 0.25
    seconds = length / sample_rate
    count = int(np.round((seconds - block) / (block * step))) + 1
    index = np.arange(count)
    lower = (block * (index * step) * sample_rate).astype(np.int64)
    upper = np.minimum((block * (index * step + 1) * sample_rate).astype(np.int64), length)
    return lower, upper


def _block_energies(squares: npt.NDArray[np.float64], sample_rate: int) -> npt.NDArray[np.float64]:
    """Sum of the K-weighted squares of every gating block."""
    lower, upper = _block_bounds(len(squares), sample_rate)
    energy = np.concatenate([[0.0], np.cumsum(squares)])
    return np.asarray(energy[upper] - energy[lower], dtype=np.float64)


def _gated(energies: npt.NDArray[np.float64], sample_rate: int) -> float:
    """BS.1770's gated loudness from the blocks' energies (absolute, then relative gate)."""
    power = energies / (_MIN_LOUDNESS_SECONDS * sample_rate)
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10.0 * np.log10(np.maximum(power, 0.0))
    gated = power[levels >= -70.0]
    if not len(gated):
        return float("-inf")
    relative = -0.691 + 10.0 * np.log10(np.mean(gated)) - 10.0
    kept = power[(levels > relative) & (levels > -70.0)]
    if not len(kept):
        return float("-inf")
    return float(-0.691 + 10.0 * np.log10(np.mean(kept)))


def _gated_loudness(squares: npt.NDArray[np.float64], sample_rate: int) -> float:
    """BS.1770's gated loudness from the K-weighted squares, with pyloudnorm's block bounds."""
    return _gated(_block_energies(squares, sample_rate), sample_rate)


def integrated_loudness(pcm: PCM, sample_rate: int) -> float:
    """Integrated loudness in LUFS per ITU-R BS.1770 (-inf for silence).

    pyloudnorm's meter (its K-weighting filters, block bounds and gates), with the block
    energies from one cumulative sum instead of a loop over blocks.
    """
    squares = _weighted_squares(pcm, sample_rate)
    return float("-inf") if squares is None else _gated_loudness(squares, sample_rate)


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


def _oversampled_peaks(
    padded: npt.NDArray[np.float64], blocks: npt.NDArray[np.intp]
) -> npt.NDArray[np.float64]:
    """Exact 4x oversampled peak of each sample of the given blocks, shape (blocks, _BLOCK).

    padded holds the signal after _CONTEXT zeros, then zeros to a whole block and _CONTEXT
    more: the zeros resample_poly assumes beyond both ends.
    """
    taps = _oversampling_filter()[0]
    delay = (len(taps) - 1) // 2
    start = _OVERSAMPLE * _CONTEXT + delay
    span = np.arange(_BLOCK + 2 * _CONTEXT)
    peaks = np.empty((len(blocks), _BLOCK), dtype=np.float64)
    for first in range(0, len(blocks), _CHUNK_BLOCKS):
        chunk = blocks[first : first + _CHUNK_BLOCKS]
        segments = padded[chunk[:, None] * _BLOCK + span]
        upsampled = upfirdn(taps, segments, up=_OVERSAMPLE, axis=1)
        window = np.abs(upsampled[:, start : start + _OVERSAMPLE * _BLOCK])
        phases = window.reshape(len(chunk), _BLOCK, _OVERSAMPLE)
        # Pairwise maxima: numpy reduces a short last axis slowly.
        peaks[first : first + len(chunk)] = np.maximum(
            np.maximum(phases[:, :, 0], phases[:, :, 1]),
            np.maximum(phases[:, :, 2], phases[:, :, 3]),
        )
    return peaks


def _padded(pcm: PCM, blocks: int) -> npt.NDArray[np.float64]:
    padded = np.zeros(blocks * _BLOCK + 2 * _CONTEXT, dtype=np.float64)
    padded[_CONTEXT : _CONTEXT + len(pcm)] = pcm
    return padded


def _with_neighbours(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each block's value or its neighbours', whichever is largest."""
    out = values.copy()
    out[1:] = np.maximum(out[1:], values[:-1])
    out[:-1] = np.maximum(out[:-1], values[1:])
    return out


class _PeakEnvelope:
    """The 4x oversampled peak of each sample of a signal, worked out only where needed.

    Every output of the oversampling filter is a weighted sum of about 20 neighbouring
    samples, so it is bounded by their sample peak and second difference (see
    _oversampling_filter). Blocks whose neighbourhood cannot reach a level are left at their
    sample values; the others get their exact oversampled peaks (resample_poly's values).
    """

    def __init__(self, pcm: PCM) -> None:
        self.length = len(pcm)
        blocks = -(-self.length // _BLOCK)
        self.padded = _padded(pcm, blocks)
        body = np.abs(self.padded[_CONTEXT : _CONTEXT + blocks * _BLOCK]).reshape(blocks, _BLOCK)
        self.peaks = body.max(axis=1)
        # |second difference| centred on each sample (curvature[j] on padded[j + 1]).
        curvature = np.abs(np.diff(self.padded, 2))
        body_bends = curvature[_CONTEXT - 1 : _CONTEXT - 1 + blocks * _BLOCK]
        bends = body_bends.reshape(blocks, _BLOCK).max(axis=1)
        # The zeros around the signal bend at its ends: the end blocks count them.
        bends[0] = max(bends[0], float(curvature[: _CONTEXT - 1].max()))
        bends[-1] = max(bends[-1], float(curvature[_CONTEXT - 1 + blocks * _BLOCK :].max()))
        _, plain, interpolation, rest = _oversampling_filter()
        near = _with_neighbours(self.peaks)
        bend = _with_neighbours(bends)
        # What any oversampled value of the block may reach (its filter stays in reach).
        self.reach = np.minimum(near * plain, near * interpolation + bend * rest) + 1e-12 * near
        self.envelope = body
        self.exact = np.zeros(blocks, dtype=bool)

    def _compute(self, blocks: npt.NDArray[np.intp]) -> None:
        self.envelope[blocks] = _oversampled_peaks(self.padded, blocks)
        self.exact[blocks] = True

    def cover(self, level: float) -> npt.NDArray[np.float64]:
        """Per-block envelopes, exact wherever the oversampled peak may exceed level."""
        wanted = np.nonzero((self.reach > level) & ~self.exact)[0]
        if len(wanted):
            self._compute(wanted)
        return self.envelope

    def true_peak(self) -> float:
        """The largest oversampled magnitude of the whole signal."""
        if not len(self.peaks) or not np.any(self.peaks):
            return 0.0
        loudest = int(np.argmax(self.peaks))
        self._compute(np.array([loudest], dtype=np.intp))
        found = float(self.envelope[loudest].max())
        envelope = self.cover(found)
        return float(envelope[self.exact].max())

    def limiter_gain(
        self, gain: float, ceiling: float, sample_rate: int
    ) -> tuple[PCM, npt.NDArray[np.intp]] | None:
        """The gain curve that keeps gain * signal under ceiling, and the blocks where it is
        not 1; None when no sample needs limiting.

        Look-ahead and hold of 2.5 ms each side of every sample over the ceiling, smoothed
        by a moving average of half that; worked out on the blocks around limited ones only
        (the curve is exactly 1 elsewhere, so runs of such blocks join without seams).
        """
        envelope = self.cover(ceiling / gain)
        limited = np.zeros(len(self.exact), dtype=bool)
        reachable = np.nonzero(self.reach * gain > ceiling)[0]
        limited[reachable] = envelope[reachable].max(axis=1) * gain > ceiling
        if not np.any(limited):
            return None
        active = limited.copy()
        active[1:] |= limited[:-1]
        active[:-1] |= limited[1:]
        rows = np.nonzero(active)[0]
        needed = np.minimum(1.0, ceiling / np.maximum(envelope[rows] * gain, 1e-12)).ravel()
        half = max(1, sample_rate // 400)  # 2.5 ms each side
        held = minimum_filter1d(needed, size=2 * half + 1, mode="nearest")
        smooth = uniform_filter1d(held, size=half + 1, mode="nearest")
        curve = np.ones((len(self.exact), _BLOCK), dtype=np.float32)
        curve[rows] = np.minimum(smooth, needed).reshape(len(rows), _BLOCK)
        return curve.ravel()[: self.length], rows

    def peak_after(self, gain: float, out: PCM, rows: npt.NDArray[np.intp]) -> float:
        """True peak (linear) of out = gain * signal * curve, the curve 1 outside rows.

        Outside the rows (and their filter's reach, which stays inside them) the
        oversampled output is gain times this envelope; inside, it is worked out anew.
        """
        found = 0.0
        if len(rows):
            found = float(_oversampled_peaks(_padded(out, len(self.exact)), rows).max())
        elsewhere = np.ones(len(self.exact), dtype=bool)
        elsewhere[rows] = False
        if not np.any(elsewhere):
            return found
        if found <= 0.0:
            loudest = int(np.argmax(np.where(elsewhere, self.peaks, -1.0)))
            self._compute(np.array([loudest], dtype=np.intp))
            found = gain * float(self.envelope[loudest].max())
        envelope = self.cover(found / gain)
        candidates = elsewhere & self.exact
        if np.any(candidates):
            found = max(found, gain * float(envelope[candidates].max()))
        return found


def normalize_loudness(
    pcm: PCM, sample_rate: int, *, target_lufs: float = -16.0, true_peak_ceiling: float = -1.0
) -> PCM:
    """Bring integrated loudness to target_lufs with true peak at most true_peak_ceiling.

    One gain on the source, limited where its true peak would pass the ceiling. The gain
    is corrected by secant steps on an estimate of the limited loudness (the source's
    K-weighted energy times the squared gain curve), and the result is measured exactly
    before it is accepted.
    """
    source = pcm.astype(np.float32)
    squares = _weighted_squares(source, sample_rate)
    loudness = float("-inf") if squares is None else _gated_loudness(squares, sample_rate)
    if squares is None or not np.isfinite(loudness):
        return source
    energies = _block_energies(squares, sample_rate)
    lower, upper = _block_bounds(len(squares), sample_rate)
    envelope = _PeakEnvelope(source)
    limit_at = 10 ** ((true_peak_ceiling - _LIMITER_MARGIN_DB) / 20)
    gain_db = target_lufs - loudness
    offset = 0.0  # exact minus estimated loudness, learnt from each exact measurement
    previous: tuple[float, float] | None = None
    out, peak, rendered_at = source, float("-inf"), float("nan")
    for attempt in range(_LEVELLING_STEPS):
        gain = 10 ** (gain_db / 20)
        limited = envelope.limiter_gain(gain, limit_at, sample_rate)
        estimate = energies
        if limited is not None:
            curve, rows = limited
            # What the curve takes off each block: its cumulative sum over limited samples.
            positions = (rows[:, None] * _BLOCK + np.arange(_BLOCK)).ravel()
            positions = positions[positions < len(source)]
            removed = squares[positions] * (1.0 - np.square(curve[positions], dtype=np.float64))
            taken = np.concatenate([[0.0], np.cumsum(removed)])
            estimate = energies - (
                taken[np.searchsorted(positions, upper)] - taken[np.searchsorted(positions, lower)]
            )
        value = _gated(estimate * (gain * gain), sample_rate) + offset
        if abs(target_lufs - value) < 0.05 or attempt == _LEVELLING_STEPS - 1:
            if limited is None:
                out = (source * np.float32(gain)).astype(np.float32)
                rows = np.zeros(0, dtype=np.intp)
            else:
                out = (source * (curve * np.float32(gain))).astype(np.float32)
            rendered_at = gain_db
            measured = integrated_loudness(out, sample_rate)
            peak_linear = envelope.peak_after(gain, out, rows)
            peak = float(20 * np.log10(peak_linear)) if peak_linear > 0 else float("-inf")
            if abs(target_lufs - measured) < 0.1 and peak <= true_peak_ceiling:
                break
            offset += measured - value
            value = measured
            if peak > true_peak_ceiling:
                limit_at *= 10 ** (-(peak - true_peak_ceiling + 0.02) / 20)
        slope = 1.0
        if previous is not None and abs(gain_db - previous[0]) > 1e-6:
            slope = min(1.0, max(0.1, (value - previous[1]) / (gain_db - previous[0])))
        previous = (gain_db, value)
        gain_db += (target_lufs - value) / slope
    log.debug("levelled at %+.2f dB gain (%.2f dBTP)", rendered_at, peak)
    # Safety net: never exceed the ceiling, even if the limiter could not converge.
    overshoot = peak - true_peak_ceiling
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
