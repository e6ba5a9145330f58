"""Policy, cache, bad input and recordings: the Synthesizer end to end (offline)."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.tts.conftest import cache_files
from tts import (
    EngineUnavailable,
    InvalidInput,
    InvalidRecording,
    Synthesizer,
    TTSConfig,
    UnsupportedLanguage,
    engines_report,
)
from tts.audio import encode_pcm
from tts.engines.base import Engine, EngineCheck, ProgressCallback
from tts.engines.espeak import EspeakEngine

RATE = 24_000


class CountingEngine(Engine):
    """Wraps eSpeak and counts calls, optionally failing."""

    online = False

    def __init__(self, name: str = "espeak", *, fail: bool = False) -> None:
        self.name = name
        self.fail = fail
        self.calls = 0
        self.inner = EspeakEngine(backend="library")
        self.lock = threading.Lock()

    def languages(self) -> tuple[str, ...]:
        return ("vi", "zh")

    def default_voice(self, language: str) -> str:
        return "north"

    def check(self, *, network: bool = True) -> EngineCheck:
        return EngineCheck(not self.fail, "test engine")

    def synthesize(
        self,
        text: str,
        language: str,
        *,
        voice: str,
        speed: float,
        sample_rate: int,
        on_progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        with self.lock:
            self.calls += 1
        if self.fail:
            raise EngineUnavailable("test engine down", "the test says so")
        return self.inner.synthesize(
            text, language, voice=voice, speed=speed, sample_rate=sample_rate
        )


def test_same_input_never_reaches_an_engine_twice(config: TTSConfig) -> None:
    engine = CountingEngine()
    synthesizer = Synthesizer(config, engines={"espeak": engine})
    first = synthesizer.synthesize("UBND xã thông báo.", "vi")
    second = synthesizer.synthesize("UBND xã thông báo.", "vi")
    # Same normalised text from a different spelling: still one engine call.
    third = synthesizer.synthesize("Ủy ban nhân dân xã thông báo.", "vi")
    assert engine.calls == 1
    assert not first.cache_hit and second.cache_hit and third.cache_hit
    assert first.path == second.path and first.sha256 == second.sha256


def test_cache_key_changes_with_settings(config: TTSConfig) -> None:
    engine = CountingEngine()
    synthesizer = Synthesizer(config, engines={"espeak": engine})
    synthesizer.synthesize("Xin chào.", "vi")
    synthesizer.synthesize("Xin chào.", "vi", speed=1.2)
    synthesizer.synthesize("Xin chào.", "vi", voice="south")
    Synthesizer(replace(config, bitrate="64k"), engines={"espeak": engine}).synthesize(
        "Xin chào.", "vi"
    )
    assert engine.calls == 4


def test_concurrent_requests_synthesize_once(config: TTSConfig) -> None:
    engine = CountingEngine()
    synthesizer = Synthesizer(config, engines={"espeak": engine})
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(synthesizer.synthesize("Một hai ba.", "vi")))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert engine.calls == 1 and len(results) == 4
    assert len({r.sha256 for r in results}) == 1  # type: ignore[attr-defined]


def test_cache_layout_is_content_addressed(config: TTSConfig) -> None:
    result = Synthesizer(config).synthesize("Xin chào.", "vi", engine="espeak")
    assert result.path.parent == config.cache_dir / "audio"
    assert result.path.name == f"{result.sha256}.mp3"
    record = json.loads(next((config.cache_dir / "keys").rglob("*.json")).read_text())
    assert record["sha256"] == result.sha256 and record["engine"] == "espeak"
    assert not list(config.cache_dir.rglob("*.tmp"))


def test_damaged_cache_file_is_rebuilt(config: TTSConfig) -> None:
    engine = CountingEngine()
    synthesizer = Synthesizer(config, engines={"espeak": engine})
    first = synthesizer.synthesize("Xin chào.", "vi")
    first.path.write_bytes(b"half")
    again = synthesizer.synthesize("Xin chào.", "vi")
    assert engine.calls == 2 and not again.cache_hit and again.path.stat().st_size == again.bytes


def test_failed_encode_leaves_nothing(config: TTSConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from tts import pipeline

    def broken(*args: object, **kwargs: object) -> bytes:
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "encode_pcm", broken)
    with pytest.raises(OSError):
        Synthesizer(config).synthesize("Xin chào.", "vi", engine="espeak")
    assert cache_files(config) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("   \n ", "empty"), ("*** ./.", "nothing that can be read")],
)
def test_unreadable_text_is_refused(config: TTSConfig, text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        Synthesizer(config).synthesize(text, "vi", engine="espeak")
    assert cache_files(config) == []


def test_text_over_the_maximum_is_refused(config: TTSConfig) -> None:
    small = replace(config, max_chars=50)
    with pytest.raises(InvalidInput, match="more than the maximum of 50"):
        Synthesizer(small).synthesize("a " * 40, "vi", engine="espeak")
    assert cache_files(small) == []


def test_unsupported_language_names_it(config: TTSConfig) -> None:
    with pytest.raises(UnsupportedLanguage, match=r"tiếng H'Mông \(hmn\).*recording"):
        Synthesizer(config).synthesize("Nyob zoo", "hmn")
    assert cache_files(config) == []


def test_unknown_engine_and_wrong_language_for_engine(config: TTSConfig) -> None:
    with pytest.raises(InvalidInput, match="Unknown engine"):
        Synthesizer(config).synthesize("Xin chào.", "vi", engine="piper")
    with pytest.raises(UnsupportedLanguage, match="Khmer"):
        Synthesizer(config).synthesize("សួស្តី", "km", engine="espeak")


def test_all_engines_down_reports_each(config: TTSConfig) -> None:
    engines = {"gtts": CountingEngine("gtts", fail=True), "espeak": CountingEngine(fail=True)}
    with pytest.raises(EngineUnavailable, match="tried gtts, espeak") as info:
        Synthesizer(config, engines=engines).synthesize("Xin chào.", "vi")
    assert "the test says so" in str(info.value)
    assert cache_files(config) == []


def test_language_aliases(config: TTSConfig) -> None:
    result = Synthesizer(config).synthesize("Xin chào.", "vi-VN", engine="espeak")
    assert result.language == "vi"


# --- recordings ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["wav", "mp3", "opus"])
def test_recording_in_any_format(config: TTSConfig, speech_pcm: np.ndarray, codec: str) -> None:
    upload = encode_pcm(speech_pcm * 0.2, RATE, codec=codec)
    result = Synthesizer(config).from_recording(upload, "hmn")
    assert result.engine == "recording" and result.language == "hmn"
    assert result.path.suffix == ".mp3"
    assert result.loudness_lufs == pytest.approx(-16.0, abs=1.0)
    assert abs(result.duration_ms - len(speech_pcm) * 1000 / RATE) < 400  # silence trimmed


def test_recording_from_path_is_cached(
    config: TTSConfig, speech_wav: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "ban-tin-dao.wav"
    path.write_bytes(speech_wav)
    synthesizer = Synthesizer(config)
    first = synthesizer.from_recording(path, "dao")
    second = synthesizer.from_recording(speech_wav, "dao")
    assert not first.cache_hit and second.cache_hit and first.sha256 == second.sha256


def test_corrupt_recording(config: TTSConfig) -> None:
    with pytest.raises(InvalidRecording, match="cannot be decoded"):
        Synthesizer(config).from_recording(b"\x00\x01garbage" * 100, "hmn")
    assert cache_files(config) == []


def test_empty_recording(config: TTSConfig) -> None:
    with pytest.raises(InvalidRecording, match="empty"):
        Synthesizer(config).from_recording(b"", "hmn")


def test_silent_recording(config: TTSConfig) -> None:
    upload = encode_pcm(np.zeros(RATE * 2, np.float32), RATE, codec="wav")
    with pytest.raises(InvalidRecording, match="silent"):
        Synthesizer(config).from_recording(upload, "tyz")
    assert cache_files(config) == []


def test_recording_too_long(config: TTSConfig) -> None:
    short_limit = replace(config, max_recording_seconds=1.0)
    upload = encode_pcm(np.full(RATE * 3, 0.1, np.float32), RATE, codec="wav")
    with pytest.raises(InvalidRecording, match="longer than the maximum of 1 seconds"):
        Synthesizer(short_limit).from_recording(upload, "hmn")
    assert cache_files(short_limit) == []


def test_engines_report_offline(config: TTSConfig) -> None:
    rows = {row.engine: row for row in engines_report(config, network=False)}
    assert rows["espeak"].available and "vi" in rows["espeak"].languages
    assert rows["gtts"].online and "vi" in rows["gtts"].languages
    assert rows["recording"].languages == ("*",)
    assert "viettel" not in rows


def test_engines_report_lists_configured_adapters(config: TTSConfig) -> None:
    with_token = replace(config, viettel_token="t", fpt_token="f")
    rows = {row.engine: row for row in engines_report(with_token, network=False)}
    assert rows["viettel"].available and rows["fpt"].available


def test_config_validates() -> None:
    with pytest.raises(ValueError):
        TTSConfig(cache_dir=Path("x"), speed=10)
    with pytest.raises(ValueError):
        TTSConfig(cache_dir=Path("x"), true_peak_db=1.0)
