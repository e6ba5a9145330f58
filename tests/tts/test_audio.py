"""Audio helpers: ffmpeg discovery, PCM decode/encode, loudness, trimming, atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tts import audio
from tts.errors import AudioProcessingError

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
