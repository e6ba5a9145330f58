"""Audio helpers: ffmpeg discovery, PCM decode/encode, loudness, trimming, atomic writes."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from tts import audio
from tts.config import TTSConfig
from tts.errors import AudioProcessingError
from tts.synthesizer import Synthesizer

RATE = 24_000


def tone(seconds: float, level: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_ffmpeg_is_found() -> None:
    assert Path(audio.ffmpeg_exe()).exists()


def test_ffmpeg_falls_back_to_the_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    audio.ffmpeg_exe.cache_clear()
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    try:
        assert "imageio_ffmpeg" in audio.ffmpeg_exe()
        pcm = tone(0.5)
        decoded = audio.decode_to_pcm(audio.encode_pcm(pcm, RATE), RATE, input_format="mp3")
        assert len(decoded) == len(pcm)
    finally:
        audio.ffmpeg_exe.cache_clear()


@pytest.mark.parametrize(("codec", "fmt"), [("mp3", "mp3"), ("opus", "ogg"), ("wav", "wav")])
def test_encode_decode_round_trip_keeps_duration(codec: str, fmt: str) -> None:
    pcm = tone(1.25)
    data = audio.encode_pcm(pcm, RATE, codec=codec)
    decoded = audio.decode_to_pcm(data, RATE, input_format=fmt)
    assert abs(len(decoded) - len(pcm)) <= RATE // 100
    assert audio.probe_duration_ms(data) == pytest.approx(1250, abs=10)


def test_decode_resamples_and_downmixes(tmp_path: Path) -> None:
    wav = audio.encode_pcm(tone(1.0), RATE, codec="wav")
    path = tmp_path / "x.wav"
    path.write_bytes(wav)
    decoded = audio.decode_to_pcm(path, 8000)
    assert len(decoded) == 8000
    assert audio.pcm_to_int16(decoded).dtype == np.int16


def test_decode_garbage_raises() -> None:
    with pytest.raises(AudioProcessingError, match="Probable cause"):
        audio.decode_to_pcm(b"not audio at all" * 10, RATE)


def test_trim_silence_keeps_padding() -> None:
    pcm = np.concatenate([np.zeros(RATE), tone(1.0), np.zeros(RATE)]).astype(np.float32)
    trimmed = audio.trim_silence(pcm, RATE, pad_ms=50)
    assert len(trimmed) / RATE == pytest.approx(1.1, abs=0.03)
    assert len(audio.trim_silence(np.zeros(RATE, np.float32), RATE)) == 0


def test_loudness_normalised_with_true_peak_ceiling() -> None:
    pcm = tone(3.0, level=0.05)
    out = audio.normalize_loudness(pcm, RATE, target_lufs=-16.0, true_peak_ceiling=-1.0)
    assert audio.integrated_loudness(out, RATE) == pytest.approx(-16.0, abs=0.3)
    assert audio.true_peak_db(out, RATE) <= -1.0


def test_limiter_holds_peaks_of_spiky_signal() -> None:
    pcm = tone(3.0, level=0.02)
    pcm[RATE :: RATE // 2] = 0.9  # clicks far above the speech level
    out = audio.normalize_loudness(pcm, RATE, target_lufs=-16.0, true_peak_ceiling=-1.0)
    assert audio.true_peak_db(out, RATE) <= -1.0


def test_short_clip_loudness_is_finite() -> None:
    assert np.isfinite(audio.integrated_loudness(tone(0.1), RATE))
    assert audio.integrated_loudness(np.zeros(100, np.float32), RATE) == float("-inf")


def test_concatenate_inserts_pauses() -> None:
    joined = audio.concatenate([tone(0.5), tone(0.5)], RATE, pause_ms=250)
    assert len(joined) == RATE + RATE // 4


def test_write_atomic_leaves_no_temporary_on_failure(tmp_path: Path) -> None:
    class Boom(bytes):
        pass

    target = tmp_path / "dir" / "file.mp3"
    audio.write_atomic(target, b"abc")
    assert target.read_bytes() == b"abc"
    with pytest.raises(TypeError):
        audio.write_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_bytes() == b"abc"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.mp3"]


def reference_true_peak_db(pcm: np.ndarray) -> float:
    """True peak the plain way: the whole signal 4x oversampled, its largest magnitude."""
    return float(20 * np.log10(np.max(np.abs(resample_poly(pcm.astype(np.float64), 4, 1)))))


def reference_loudness(pcm: np.ndarray) -> float:
    """pyloudnorm's own meter."""
    return float(pyloudnorm.Meter(RATE).integrated_loudness(pcm.astype(np.float64)))


def ebur128(path: Path) -> tuple[float, float]:
    """ffmpeg's EBU R128 meter on a file: integrated loudness (LUFS), true peak (dBTP)."""
    done = subprocess.run(
        [audio.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
        + ["-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    summary = done.stderr[done.stderr.rindex("Summary:") :]
    loudness = re.search(r"I:\s+(-?[\d.]+) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary)
    assert loudness and peak, summary
    return float(loudness.group(1)), float(peak.group(1))


def loud_peaky(speech: np.ndarray) -> np.ndarray:
    """Speech driven 12 dB into hard clipping, with full-scale clicks every half second."""
    loud = np.clip(speech / np.max(np.abs(speech)) * 4.0, -1.0, 1.0).astype(np.float32)
    loud[RATE // 4 :: RATE // 2] = 1.0
    loud[RATE // 4 + 1 :: RATE // 2] = -1.0
    return loud


@pytest.mark.parametrize("kind", ["speech", "noise", "tone", "clicks"])
def test_meters_agree_with_the_plain_computations(kind: str, speech_pcm: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    signal = {
        "speech": speech_pcm,
        "noise": (rng.standard_normal(RATE * 2) * 0.2).astype(np.float32),
        "tone": tone(2.0, level=0.7, freq=RATE / 4 - 11.0),
        "clicks": loud_peaky(speech_pcm),
    }[kind]
    assert audio.true_peak_db(signal, RATE) == pytest.approx(
        reference_true_peak_db(signal), abs=1e-9
    )
    assert audio.integrated_loudness(signal, RATE) == pytest.approx(
        reference_loudness(signal), abs=1e-6
    )


def test_loud_peaky_recording_comes_out_on_target(
    config: TTSConfig, tmp_path: Path, speech_pcm: np.ndarray
) -> None:
    loud = loud_peaky(speech_pcm)
    # The input is far too loud and peaks over full scale between samples.
    assert reference_loudness(loud) > config.loudness_lufs + 6
    assert reference_true_peak_db(loud) > 0.0
    upload = audio.encode_pcm(loud, RATE, codec="wav")

    result = Synthesizer(config).from_recording(upload, "vi")

    # Measured independently on the file a receiver downloads: ffmpeg's own meter ...
    loudness, peak = ebur128(result.path)
    assert loudness == pytest.approx(config.loudness_lufs, abs=0.5)
    assert peak <= config.true_peak_db
    # ... and pyloudnorm with plain 4x oversampling of the decoded samples.
    decoded = audio.decode_to_pcm(result.path, RATE)
    assert reference_loudness(decoded) == pytest.approx(config.loudness_lufs, abs=0.5)
    assert reference_true_peak_db(decoded) <= config.true_peak_db
    # The figures stored with the audio are those of the file.
    assert result.loudness_lufs == pytest.approx(reference_loudness(decoded), abs=0.01)
    assert result.true_peak_db == pytest.approx(reference_true_peak_db(decoded), abs=0.01)
    # Content-addressed: another cache makes the same bytes from the same upload.
    again = Synthesizer(replace(config, cache_dir=tmp_path / "other")).from_recording(upload, "vi")
    assert again.sha256 == result.sha256 and not again.cache_hit


def test_levelling_is_deterministic(speech_pcm: np.ndarray) -> None:
    loud = loud_peaky(speech_pcm)
    first = audio.normalize_loudness(loud, RATE, target_lufs=-16.0, true_peak_ceiling=-1.5)
    second = audio.normalize_loudness(loud, RATE, target_lufs=-16.0, true_peak_ceiling=-1.5)
    assert first.tobytes() == second.tobytes()
    assert reference_loudness(first) == pytest.approx(-16.0, abs=0.1)
    assert reference_true_peak_db(first) <= -1.5
