"""gTTS (Google Translate voice): online; timeout, bounded retries, parallel chunks."""

from __future__ import annotations

import io
import logging
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

import httpx
import numpy as np
import requests
from gtts import gTTS, gTTSError
from gtts.lang import tts_langs
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from tts.audio import PCM, decode_to_pcm, silence
from tts.engines.base import Engine, EngineCheck, ProgressCallback
from tts.errors import EngineUnavailable, TTSError
from tts.normalizer.segment import split_sentences

log = logging.getLogger(__name__)

# Google refuses longer requests; gTTS would split them itself, we do it at clause ends.
CHUNK_CHARS = 100
# Our language codes -> gTTS codes, where they differ.
LANGUAGE_CODES = {"zh": "zh-CN"}
CHECK_URL = "https://translate.google.com/"
# Retry backoff never waits longer than this, whatever the configured base.
MAX_BACKOFF_SECONDS = 8.0


class GTTSEngine(Engine):
    """Google Translate TTS through the gTTS package."""

    name = "gtts"
    online = True

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 0.5,
        workers: int = 4,
        tld: str = "com",
        sentence_pause_ms: int = 250,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.workers = workers
        self.tld = tld
        self.sentence_pause_ms = sentence_pause_ms

    def languages(self) -> tuple[str, ...]:
        codes = set(tts_langs())
        ours = {code for code, theirs in LANGUAGE_CODES.items() if theirs in codes}
        return tuple(sorted(codes | ours))

    def default_voice(self, language: str) -> str:
        return f"{LANGUAGE_CODES.get(language, language)}@{self.tld}"

    def check(self, *, network: bool = True) -> EngineCheck:
        if not network:
            return EngineCheck(True, "online engine (reachability not checked)")
        try:
            response = httpx.head(CHECK_URL, timeout=min(self.timeout, 5.0))
        except httpx.HTTPError as exc:
            return EngineCheck(False, f"translate.google.com unreachable: {exc}")
        return EngineCheck(True, f"translate.google.com reachable (HTTP {response.status_code})")

    def _fetch(self, text: str, lang: str) -> bytes:
        """One chunk to MP3 bytes, with bounded retries and exponential backoff."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retries + 1),
            wait=wait_exponential(multiplier=self.backoff, max=MAX_BACKOFF_SECONDS),
            retry=retry_if_exception_type((gTTSError, requests.RequestException, OSError)),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                buffer = io.BytesIO()
                gTTS(
                    text,
                    lang=lang,
                    tld=self.tld,
                    timeout=self.timeout,
                    lang_check=False,
                    pre_processor_funcs=[],
                ).write_to_fp(buffer)
                if not buffer.getvalue():
                    raise gTTSError("empty audio in the response")
                return buffer.getvalue()
        raise AssertionError("unreachable")  # pragma: no cover

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
        lang = LANGUAGE_CODES.get(language, language)
        chunks = split_sentences(text, CHUNK_CHARS)
        done = 0
        with ThreadPoolExecutor(
            max_workers=min(self.workers, max(1, len(chunks))), thread_name_prefix="gtts"
        ) as pool:
            futures: list[Future[bytes]] = [pool.submit(self._fetch, c, lang) for c in chunks]
            pending: set[Future[bytes]] = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in finished:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise EngineUnavailable(
                            f"gTTS could not synthesize {language!r} after "
                            f"{self.retries + 1} attempts",
                            f"no internet access or Google refused the request ({error})",
                            code="tts.engine_unreachable",
                            engine="gtts",
                        ) from error
                    done += 1
                    if on_progress:
                        on_progress(done, len(chunks))
        parts: list[PCM] = []
        for index, (chunk, future) in enumerate(zip(chunks, futures, strict=True)):
            try:
                parts.append(
                    decode_to_pcm(future.result(), sample_rate, input_format="mp3", tempo=speed)
                )
            except TTSError as exc:
                raise EngineUnavailable(
                    "gTTS returned audio that cannot be decoded",
                    f"the service answered with something other than MP3 ({exc})",
                    code="tts.engine_bad_audio",
                    engine="gtts",
                ) from exc
            if index < len(chunks) - 1:
                pause = self.sentence_pause_ms if chunk[-1] in ".!?;:" else 0
                parts.append(silence(pause, sample_rate))
        return np.concatenate(parts) if parts else silence(0, sample_rate)
