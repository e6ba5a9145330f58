"""eSpeak NG synthesised for real, through the system binary and the wheel's library."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tts import Synthesizer, TTSConfig
from tts.audio import decode_to_pcm, integrated_loudness, true_peak_db
from tts.engines.espeak import EspeakEngine

RATE = 24_000
TEXT = "Ủy ban nhân dân xã thông báo lịch tiêm phòng cho đàn gia súc."


@pytest.mark.parametrize(
    "backend",
    [
        "library",
        pytest.param(
            "binary",
            marks=pytest.mark.skipif(not shutil.which("espeak-ng"), reason="no espeak-ng"),
        ),
    ],
)
@pytest.mark.parametrize("variant", ["north", "central", "south"])
def test_espeak_speaks_vietnamese_variants(backend: str, variant: str) -> None:
    engine = EspeakEngine(backend=backend)  # type: ignore[arg-type]
    assert engine.check(network=False).available
    pcm = engine.synthesize(TEXT, "vi", voice=variant, speed=1.0, sample_rate=RATE)
    assert 2.0 < len(pcm) / RATE < 8.0


def test_speed_changes_duration() -> None:
    engine = EspeakEngine(backend="library")
    normal = engine.synthesize(TEXT, "vi", voice="north", speed=1.0, sample_rate=RATE)
    fast = engine.synthesize(TEXT, "vi", voice="north", speed=1.5, sample_rate=RATE)
    assert len(fast) < 0.8 * len(normal)


@pytest.mark.parametrize("language", ["zh", "th", "yue"])
def test_espeak_other_languages(language: str) -> None:
    text = {"zh": "你好", "th": "สวัสดี", "yue": "你好"}[language]
    pcm = EspeakEngine().synthesize(text, language, voice="", speed=1.0, sample_rate=RATE)
    assert len(pcm) > RATE // 4


@pytest.mark.parametrize("codec", ["mp3", "opus"])
def test_broadcast_ready_output_duration_and_loudness(tmp_path: Path, codec: str) -> None:
    config = TTSConfig(cache_dir=tmp_path, codec=codec)  # type: ignore[arg-type]
    result = Synthesizer(config).synthesize(
        "Nghị quyết số 33-NQ/TW ngày 28/9/2018. UBND xã có 1.650 cụm loa.",
        "vi",
        engine="espeak",
    )
    assert result.engine == "espeak" and not result.cache_hit
    assert result.path.name == f"{result.sha256}.{config.extension}"
    data = result.path.read_bytes()
    assert len(data) == result.bytes
    pcm = decode_to_pcm(data, RATE, input_format="ogg" if codec == "opus" else "mp3")
    assert result.duration_ms == pytest.approx(len(pcm) * 1000 / RATE, abs=1)
    assert 4_000 < result.duration_ms < 20_000
    assert integrated_loudness(pcm, RATE) == pytest.approx(-16.0, abs=1.0)
    assert true_peak_db(pcm, RATE) <= -1.0 + 0.05
    if codec == "mp3":
        assert data[:3] == b"ID3" or data[0] == 0xFF


def test_loudness_target_is_configurable(tmp_path: Path) -> None:
    config = TTSConfig(cache_dir=tmp_path, loudness_lufs=-20.0, sample_rate=16_000, bitrate="32k")
    result = Synthesizer(config).synthesize("Xin chào bà con.", "vi", engine="espeak")
    pcm = decode_to_pcm(result.path, 16_000, input_format="mp3")
    assert integrated_loudness(pcm, 16_000) == pytest.approx(-20.0, abs=1.0)
