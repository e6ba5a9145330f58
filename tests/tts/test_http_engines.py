"""Viettel AI and FPT.AI adapters, against stubbed HTTP only (httpx.MockTransport)."""

from __future__ import annotations

import json

import httpx
import pytest

from tts import EngineUnavailable, Synthesizer, TTSConfig
from tts.engines.http_engines import FPTEngine, ViettelEngine

RATE = 24_000


def test_viettel_sends_token_voice_speed(speech_mp3: bytes) -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, content=speech_mp3, headers={"content-type": "audio/mpeg"})

    engine = ViettelEngine(
        token="secret",
        voice="hcm-diemmy",
        url="https://viettel.test/tts",
        transport=httpx.MockTransport(handler),
    )
    pcm = engine.synthesize("Xin chào.", "vi", voice="hcm-diemmy", speed=2.0, sample_rate=RATE)
    assert len(pcm) > RATE
    assert seen[0]["token"] == "secret" and seen[0]["voice"] == "hcm-diemmy"
    assert seen[0]["speed"] == 1.3  # clamped to the API's range


def test_viettel_bad_token_is_explained() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(401, json={"error": "bad token"}))
    engine = ViettelEngine(
        token="x", voice="v", url="https://viettel.test/tts", transport=transport
    )
    with pytest.raises(EngineUnavailable, match="token"):
        engine.synthesize("Xin chào.", "vi", voice="v", speed=1.0, sample_rate=RATE)


def test_viettel_server_errors_retried_then_reported() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    engine = ViettelEngine(
        token="x",
        voice="v",
        url="https://viettel.test/tts",
        retries=2,
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(EngineUnavailable, match="Probable cause"):
        engine.synthesize("Xin chào.", "vi", voice="v", speed=1.0, sample_rate=RATE)
    assert len(calls) == 3


def test_fpt_polls_async_link(speech_mp3: bytes) -> None:
    polls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.headers["api-key"] == "k" and request.headers["voice"] == "leminh"
            assert request.headers["speed"] == "0"
            return httpx.Response(200, json={"async": "https://files.test/a.mp3", "error": 0})
        polls["n"] += 1
        if polls["n"] < 3:
            return httpx.Response(404)
        return httpx.Response(200, content=speech_mp3)

    engine = FPTEngine(
        token="k",
        voice="leminh",
        url="https://fpt.test/tts",
        transport=httpx.MockTransport(handler),
    )
    pcm = engine.synthesize("Xin chào.", "vi", voice="leminh", speed=1.0, sample_rate=RATE)
    assert len(pcm) > RATE and polls["n"] == 3


def test_fpt_error_answer() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"error": 1, "message": "quota exceeded"})
    )
    engine = FPTEngine(token="k", voice="banmai", url="https://fpt.test/tts", transport=transport)
    with pytest.raises(EngineUnavailable, match="quota"):
        engine.synthesize("Xin chào.", "vi", voice="banmai", speed=1.0, sample_rate=RATE)


def test_adapters_enabled_by_settings_and_usable_in_policy(
    config: TTSConfig, speech_mp3: bytes
) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=speech_mp3))
    engine = ViettelEngine(
        token="t", voice="hn-quynhanh", url="https://v.test", transport=transport
    )
    synthesizer = Synthesizer(config, engines={"viettel": engine})
    result = synthesizer.synthesize("Xin chào.", "vi", engine="viettel")
    assert result.engine == "viettel" and result.voice == "hn-quynhanh"


def test_without_token_the_engine_is_unavailable() -> None:
    engine = FPTEngine(token=None, voice="banmai", url="https://fpt.test")
    assert not engine.check(network=False).available
