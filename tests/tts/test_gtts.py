"""gTTS with its HTTP layer stubbed by `responses`; one real call marked `net`."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import requests
import responses

from tests.tts.conftest import GTTS_URL, cache_files, gtts_body
from tts import EngineUnavailable, Synthesizer, TTSConfig
from tts.engines import gtts_engine
from tts.engines.gtts_engine import GTTSEngine

RATE = 24_000
LONG = ". ".join(f"Đây là câu thông báo số {i} của đài truyền thanh xã" for i in range(8))


def test_gtts_synthesizes_from_stubbed_http(
    config: TTSConfig, stub_gtts_ok: responses.RequestsMock
) -> None:
    result = Synthesizer(config).synthesize("UBND xã thông báo lịch họp.", "vi")
    assert result.engine == "gtts" and result.language == "vi"
    assert result.duration_ms > 1000
    assert len(stub_gtts_ok.calls) == 1


def test_long_text_is_chunked_and_fetched_in_parallel(
    config: TTSConfig, stub_gtts_ok: responses.RequestsMock
) -> None:
    progress: list[tuple[int, int]] = []
    result = Synthesizer(config).synthesize(
        LONG, "vi", on_progress=lambda d, t: progress.append((d, t))
    )
    calls = len(stub_gtts_ok.calls)
    assert calls >= 8 and progress[-1] == (calls, calls)
    assert result.engine == "gtts"


def test_chunks_reassembled_in_order_even_when_finished_out_of_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = GTTSEngine(workers=4, sentence_pause_ms=0)
    last_done = threading.Event()
    chunks = ["Câu một.", "Câu hai.", "Câu ba.", "Câu bốn."]

    def fake_fetch(self: GTTSEngine, text: str, lang: str) -> bytes:
        index = chunks.index(text)
        if index == 0:
            assert last_done.wait(timeout=10)  # the first chunk finishes last
        if index == len(chunks) - 1:
            last_done.set()
        return str(index).encode()

    def fake_decode(data: bytes, rate: int, **kwargs: object) -> np.ndarray:
        return np.full(10, float(data.decode()), dtype=np.float32)

    monkeypatch.setattr(GTTSEngine, "_fetch", fake_fetch)
    monkeypatch.setattr(gtts_engine, "decode_to_pcm", fake_decode)
    pcm = engine.synthesize(" ".join(chunks), "vi", voice="", speed=1.0, sample_rate=RATE)
    assert list(pcm[::10]) == [0.0, 1.0, 2.0, 3.0]


def test_transient_failures_are_retried(
    config: TTSConfig, gtts_stub: responses.RequestsMock, speech_mp3: bytes
) -> None:
    gtts_stub.add(responses.POST, GTTS_URL, status=503)
    gtts_stub.add(responses.POST, GTTS_URL, body=requests.ConnectionError("reset"))
    gtts_stub.add(responses.POST, GTTS_URL, body=gtts_body(speech_mp3))
    result = Synthesizer(config).synthesize("Xin chào.", "vi")
    assert result.engine == "gtts"
    assert len(gtts_stub.calls) == 3


def test_outage_falls_back_to_espeak_and_records_it(
    config: TTSConfig, stub_gtts_down: responses.RequestsMock
) -> None:
    result = Synthesizer(config).synthesize("Xin chào bà con.", "vi")
    assert result.engine == "espeak"
    assert len(stub_gtts_down.calls) == config.gtts_retries + 1


def test_outage_without_fallback_is_clear_and_caches_nothing(
    config: TTSConfig, stub_gtts_down: responses.RequestsMock
) -> None:
    with pytest.raises(EngineUnavailable, match="Probable cause") as info:
        Synthesizer(config).synthesize("Xin chào.", "km")
    assert "gtts" in str(info.value)
    assert cache_files(config) == []


def test_garbage_answer_is_an_engine_failure(
    config: TTSConfig, gtts_stub: responses.RequestsMock
) -> None:
    gtts_stub.add(responses.POST, GTTS_URL, body=gtts_body(b"definitely not mp3" * 20))
    with pytest.raises(EngineUnavailable):
        Synthesizer(config).synthesize("Xin chào.", "vi", engine="gtts")
    assert cache_files(config) == []


def test_engine_timeout_is_always_set() -> None:
    assert GTTSEngine().timeout > 0


@pytest.mark.net
def test_real_gtts(tmp_path: object) -> None:
    config = TTSConfig(cache_dir=tmp_path)  # type: ignore[arg-type]
    result = Synthesizer(config).synthesize("Xin chào bà con.", "vi", engine="gtts")
    assert result.engine == "gtts" and result.duration_ms > 500
