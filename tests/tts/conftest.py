"""Fixtures of the tts tests: a cache in tmp_path, real audio made once, a gTTS stub."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import responses

from tts.audio import encode_pcm
from tts.config import TTSConfig
from tts.engines import http_engines
from tts.engines.espeak import EspeakEngine

GTTS_URL = "https://translate.google.com/_/TranslateWebserverUi/data/batchexecute"
SEED = Path("/work/shared/seed/ke-hoach-thong-tin-truyen-thong-bien-gioi-2023.txt")
RATE = 24_000


def gtts_body(mp3: bytes) -> str:
    """A batchexecute answer as gTTS parses it."""
    b64 = base64.b64encode(mp3).decode("ascii")
    return ")]}'\n\n" + '[["wrb.fr","jQ1olc","[\\"' + b64 + '\\"]",null,null,null,"generic"]]'


@pytest.fixture
def config(tmp_path: Path) -> TTSConfig:
    """A configuration whose cache lives in tmp_path and whose retries never wait."""
    return TTSConfig(
        cache_dir=tmp_path / "cache",
        gtts_backoff=0.0,
        gtts_timeout=2.0,
        gtts_retries=2,
        http_retries=1,
    )


@pytest.fixture(scope="session")
def speech_pcm() -> np.ndarray:
    """About three seconds of real Vietnamese speech from eSpeak NG."""
    return EspeakEngine().synthesize(
        "Xin chào bà con. Đây là đài truyền thanh xã.",
        "vi",
        voice="north",
        speed=1.0,
        sample_rate=RATE,
    )


@pytest.fixture(scope="session")
def speech_mp3(speech_pcm: np.ndarray) -> bytes:
    """The same speech as MP3 bytes, as gTTS or Viettel would send it."""
    return encode_pcm(speech_pcm * 0.3, RATE)


@pytest.fixture(scope="session")
def speech_wav(speech_pcm: np.ndarray) -> bytes:
    """The same speech as a WAV upload."""
    return encode_pcm(speech_pcm, RATE, codec="wav")


@pytest.fixture
def gtts_stub(speech_mp3: bytes) -> Iterator[responses.RequestsMock]:
    """Every gTTS request answered with real MP3 speech; tests may add failures first."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def stub_gtts_ok(gtts_stub: responses.RequestsMock, speech_mp3: bytes) -> responses.RequestsMock:
    """gTTS answers every chunk with speech."""
    gtts_stub.add(responses.POST, GTTS_URL, body=gtts_body(speech_mp3), status=200)
    return gtts_stub


@pytest.fixture
def stub_gtts_down(gtts_stub: responses.RequestsMock) -> responses.RequestsMock:
    """gTTS unreachable: every request fails at the connection."""
    gtts_stub.add(responses.POST, GTTS_URL, body=requests.ConnectionError("network is unreachable"))
    return gtts_stub


@pytest.fixture(autouse=True)
def _no_poll_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Timing knobs to zero: no test waits for real time.
    monkeypatch.setattr(http_engines, "FPT_POLL_INTERVAL", 0.0)
    monkeypatch.setattr(http_engines, "BACKOFF_SECONDS", 0.0)


def cache_files(config: TTSConfig) -> list[Path]:
    """Every file below the cache, locks excepted."""
    root = config.cache_dir
    if not root.exists():
        return []
    return [p for p in root.rglob("*") if p.is_file() and "locks" not in p.parts]


CountingFactory = Callable[..., object]
