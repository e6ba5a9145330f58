"""Optional adapters for Vietnamese commercial TTS APIs (Viettel AI, FPT.AI).

Both need an account token from the settings and the network. The HTTP client is
injected (`transport`) so tests run against stubbed responses only.
"""

from __future__ import annotations

import logging
import time

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from tts.audio import PCM, concatenate, decode_to_pcm
from tts.engines.base import Engine, EngineCheck, ProgressCallback
from tts.errors import EngineUnavailable, TTSError
from tts.normalizer.segment import chunk_text

log = logging.getLogger(__name__)

# Seconds between polls of FPT.AI's asynchronous result URL; tests set it to 0.
FPT_POLL_INTERVAL = 1.0
FPT_POLL_ATTEMPTS = 30
BACKOFF_SECONDS = 0.5


class _Retryable(Exception):
    """A transient HTTP failure (5xx, 429) worth another attempt."""


class _HTTPEngine(Engine):
    online = True
    chunk_chars = 1000
    audio_format = "mp3"

    def __init__(
        self,
        *,
        token: str | None,
        voice: str,
        url: str,
        timeout: float = 20.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.token = token
        self.voice = voice
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.transport = transport

    def languages(self) -> tuple[str, ...]:
        return ("vi",)

    def default_voice(self, language: str) -> str:
        return self.voice

    def _client(self) -> httpx.Client:
        return httpx.Client(timeout=self.timeout, transport=self.transport)

    def check(self, *, network: bool = True) -> EngineCheck:
        if not self.token:
            return EngineCheck(False, "no token configured")
        if not network:
            return EngineCheck(True, "token configured (reachability not checked)")
        try:
            with self._client() as client:
                response = client.head(self.url)
        except httpx.HTTPError as exc:
            return EngineCheck(False, f"{self.url} unreachable: {exc}")
        return EngineCheck(True, f"{self.url} reachable (HTTP {response.status_code})")

    def _with_retries(self, client: httpx.Client, text: str, voice: str, speed: float) -> bytes:
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=BACKOFF_SECONDS, max=8.0),
            retry=retry_if_exception_type((_Retryable, httpx.TransportError)),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._request(client, text, voice, speed)
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(self, client: httpx.Client, text: str, voice: str, speed: float) -> bytes:
        raise NotImplementedError

    def synthesize(
        self,
        text: str,
        language: str,
        *,
        voice: str,
        speed: float,
        sample_rate: int,
        on_progress: ProgressCallback | None = None,
    ) -> PCM:
        if not self.token:
            raise EngineUnavailable(
                f"{self.name} cannot be used",
                "no API token is configured for it",
                code="tts.engine_token_missing",
                engine=self.name,
            )
        chunks = chunk_text(text, self.chunk_chars)
        parts: list[PCM] = []
        with self._client() as client:
            for index, chunk in enumerate(chunks, start=1):
                try:
                    audio = self._with_retries(client, chunk, voice, speed)
                    parts.append(decode_to_pcm(audio, sample_rate, input_format=self.audio_format))
                except (_Retryable, httpx.HTTPError, TTSError, ValueError) as exc:
                    if isinstance(exc, EngineUnavailable):
                        raise
                    raise EngineUnavailable(
                        f"{self.name} could not synthesize the text",
                        f"the service failed or is unreachable ({exc})",
                        code="tts.engine_unreachable",
                        engine=self.name,
                    ) from exc
                if on_progress:
                    on_progress(index, len(chunks))
        return concatenate(parts, sample_rate)


def _raise_for(response: httpx.Response, service: str) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        raise _Retryable(f"{service} answered HTTP {response.status_code}")
    if response.status_code in (401, 403):
        raise EngineUnavailable(
            f"{service} refused the request (HTTP {response.status_code})",
            "the API token in the settings is wrong or expired",
            code="tts.engine_token_refused",
            engine=service,
            status=response.status_code,
        )
    if response.status_code >= 400:
        raise EngineUnavailable(
            f"{service} rejected the request (HTTP {response.status_code})",
            f"the voice or speed in the settings is not accepted: {response.text[:200]}",
            code="tts.engine_request_refused",
            engine=service,
            status=response.status_code,
        )


class ViettelEngine(_HTTPEngine):
    """Viettel AI text-to-speech (voices such as hn-quynhanh, hcm-diemmy; speed 0.7-1.3)."""

    name = "viettel"

    def _request(self, client: httpx.Client, text: str, voice: str, speed: float) -> bytes:
        response = client.post(
            self.url,
            json={
                "text": text,
                "voice": voice,
                "speed": max(0.7, min(1.3, speed)),
                "tts_return_option": 3,  # 2 = wav, 3 = mp3
                "token": self.token,
                "without_filter": False,
            },
        )
        _raise_for(response, "Viettel AI")
        if response.headers.get("content-type", "").startswith("application/json"):
            raise EngineUnavailable(
                "Viettel AI answered without audio",
                f"the service reported an error: {response.text[:200]}",
                code="tts.engine_bad_audio",
                engine="Viettel AI",
            )
        return response.content


class FPTEngine(_HTTPEngine):
    """FPT.AI text-to-speech v5 (voices banmai, leminh, thuminh, ...; speed -3..3)."""

    name = "fpt"

    def _request(self, client: httpx.Client, text: str, voice: str, speed: float) -> bytes:
        fpt_speed = max(-3, min(3, round((speed - 1.0) * 6)))
        response = client.post(
            self.url,
            content=text.encode("utf-8"),
            headers={"api-key": self.token or "", "voice": voice, "speed": str(fpt_speed)},
        )
        _raise_for(response, "FPT.AI")
        body = response.json()
        if body.get("error", 0) != 0 or not body.get("async"):
            raise EngineUnavailable(
                "FPT.AI answered without an audio link",
                f"the service reported: {body.get('message', body)}",
                code="tts.engine_bad_audio",
                engine="FPT.AI",
            )
        link = str(body["async"])
        # The MP3 appears at the link a little later; poll it a bounded number of times.
        for _ in range(FPT_POLL_ATTEMPTS):
            audio = client.get(link)
            if audio.status_code == 200 and audio.content:
                return audio.content
            if audio.status_code not in (404, 202):
                _raise_for(audio, "FPT.AI")
            time.sleep(FPT_POLL_INTERVAL)
        raise EngineUnavailable(
            "FPT.AI never delivered the audio",
            f"the file at {link} was still missing after {FPT_POLL_ATTEMPTS} polls",
            code="tts.engine_unreachable",
            engine="FPT.AI",
        )
