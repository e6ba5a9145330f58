"""Text or a recording in, cached broadcast-ready audio out, with engine fallback."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from tts.audio import concatenate, decode_to_pcm, peak_db
from tts.cache import AudioCache, AudioResult, cache_key
from tts.config import Codec, TTSConfig
from tts.engines.base import Engine, ProgressCallback
from tts.engines.espeak import EspeakEngine
from tts.engines.gtts_engine import GTTSEngine
from tts.engines.http_engines import FPTEngine, ViettelEngine
from tts.errors import (
    AudioProcessingError,
    EngineUnavailable,
    InvalidInput,
    InvalidRecording,
    UnsupportedLanguage,
)
from tts.normalizer import default_normalizer
from tts.normalizer.symbols import language_names
from tts.pipeline import broadcast_ready, trim

log = logging.getLogger(__name__)

RECORDING = "recording"
# The engine name of audio joined from clips (an emergency template filled in).
ASSEMBLED = "template"
# A recording whose loudest sample stays below this is considered silent.
SILENT_RECORDING_DB = -50.0
_LANGUAGE_ALIASES = {"vi-vn": "vi", "zh-cn": "zh", "cmn": "zh", "zh-hans": "zh", "hmong": "hmn"}


def canonical_language(language: str) -> str:
    """Lower-case language code with common aliases folded (vi-VN -> vi)."""
    code = language.strip().lower().replace("_", "-")
    return _LANGUAGE_ALIASES.get(code, code)


def language_label(language: str) -> str:
    """'tiếng H'Mông (hmn)' for messages; the bare code when the language is unknown."""
    name = language_names().get(language)
    return f"{name} ({language})" if name else repr(language)


def build_engines(config: TTSConfig) -> dict[str, Engine]:
    """The engines this configuration enables, by name."""
    engines: dict[str, Engine] = {
        "gtts": GTTSEngine(
            timeout=config.gtts_timeout,
            retries=config.gtts_retries,
            backoff=config.gtts_backoff,
            workers=config.gtts_workers,
            tld=config.gtts_tld,
            sentence_pause_ms=config.sentence_pause_ms,
        ),
        "espeak": EspeakEngine(
            variant=config.espeak_voice, backend=config.espeak_backend, wpm=config.espeak_wpm
        ),
    }
    if config.viettel_token:
        engines["viettel"] = ViettelEngine(
            token=config.viettel_token,
            voice=config.viettel_voice,
            url=config.viettel_url,
            timeout=config.http_timeout,
            retries=config.http_retries,
        )
    if config.fpt_token:
        engines["fpt"] = FPTEngine(
            token=config.fpt_token,
            voice=config.fpt_voice,
            url=config.fpt_url,
            timeout=config.http_timeout,
            retries=config.http_retries,
        )
    return engines


class Synthesizer:
    """Turns bulletin text (or an uploaded recording) into cached broadcast-ready audio."""

    def __init__(self, config: TTSConfig, *, engines: Mapping[str, Engine] | None = None) -> None:
        self.config = config
        self.engines: dict[str, Engine] = dict(
            engines if engines is not None else build_engines(config)
        )
        self.cache = AudioCache(config.cache_dir)

    # --- policy ---------------------------------------------------------------------------

    def candidates(self, language: str, engine: str | None = None) -> list[Engine]:
        """Engines to try for a language, in policy order, keeping those that speak it."""
        language = canonical_language(language)
        if engine is not None:
            if engine not in self.engines:
                raise InvalidInput(
                    f"Unknown engine {engine!r}",
                    f"the engines enabled here are {', '.join(sorted(self.engines))}",
                    code="tts.unknown_engine",
                    engine=engine,
                    engines=", ".join(sorted(self.engines)),
                )
            chosen = self.engines[engine]
            if not chosen.speaks(language):
                raise UnsupportedLanguage(
                    f"The engine {engine!r} does not speak {language_label(language)}",
                    "choose another engine or let the language policy decide",
                    code="tts.engine_lacks_language",
                    engine=engine,
                    language=language,
                    language_name=language_label(language),
                )
            return [chosen]
        names = self.config.engine_policy.get(language)
        if names is None:
            names = list(self.engines)  # no policy: any engine that speaks it
        found = [
            self.engines[n] for n in names if n in self.engines and self.engines[n].speaks(language)
        ]
        if not found:
            raise UnsupportedLanguage(
                f"No engine speaks {language_label(language)} on this system",
                "this language needs a human recording of the bulletin "
                "(upload one; it is used instead of speech synthesis)",
                code="tts.no_engine",
                language=language,
                language_name=language_label(language),
            )
        return found

    # --- text -----------------------------------------------------------------------------

    def prepare_text(
        self, text: str, language: str, *, lexicon: Mapping[str, str] | None = None
    ) -> str:
        """Validate and normalise text; raise InvalidInput when nothing can be read."""
        if not text or not text.strip():
            raise InvalidInput(
                "The text to read is empty",
                "the bulletin has no content yet",
                code="tts.empty_text",
            )
        if len(text) > self.config.max_chars:
            raise InvalidInput(
                f"The text has {len(text)} characters, more than the maximum of "
                f"{self.config.max_chars}",
                "the bulletin is too long for one programme item; split it into parts",
                code="tts.text_too_long",
                length=len(text),
                limit=self.config.max_chars,
            )
        if canonical_language(language) == "vi":
            prepared = default_normalizer().normalize(text, lexicon=lexicon)
        else:
            prepared = " ".join(text.split())
        if not any(ch.isalnum() for ch in prepared):
            raise InvalidInput(
                "The text has nothing that can be read aloud",
                "it contains only punctuation or markup",
                code="tts.nothing_to_read",
            )
        return prepared

    def synthesize(
        self,
        text: str,
        language: str,
        *,
        lexicon: Mapping[str, str] | None = None,
        engine: str | None = None,
        voice: str | None = None,
        speed: float | None = None,
        accent: str | None = None,
        codec: Codec | None = None,
        bitrate: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> AudioResult:
        """Speak text in a language with the first engine of the policy that works.

        `accent` (north, central, south) picks the engine's regional voice where it has
        one (eSpeak NG); `codec` and `bitrate` replace the configured encoding for this
        one result. Left out, the result is the one the configuration alone gives.
        """
        language = canonical_language(language)
        candidates = self.candidates(language, engine)
        prepared = self.prepare_text(text, language, lexicon=lexicon)
        speed = self.config.speed if speed is None else speed
        if not 0.3 <= speed <= 3.0:
            raise InvalidInput(
                f"Speed {speed} is out of range",
                "use a value from 0.3 to 3.0",
                code="tts.speed_out_of_range",
                speed=speed,
            )
        config = self._encoding(codec, bitrate)
        failures: list[str] = []
        for candidate in candidates:
            chosen_voice = (
                voice
                or (candidate.accent_voice(language, accent) if accent else None)
                or candidate.default_voice(language)
            )
            key = cache_key(
                {
                    "text": prepared,
                    "language": language,
                    "engine": candidate.name,
                    "voice": chosen_voice,
                    "speed": round(speed, 3),
                    "audio": self._audio_settings(config),
                }
            )
            try:
                return self._render(
                    key,
                    lambda c=candidate, v=chosen_voice: c.synthesize(  # type: ignore[misc]
                        prepared,
                        language,
                        voice=v,
                        speed=speed,
                        sample_rate=self.config.sample_rate,
                        on_progress=on_progress,
                    ),
                    engine=candidate.name,
                    language=language,
                    voice=chosen_voice,
                    config=config,
                )
            except EngineUnavailable as exc:
                log.warning("engine %s failed for %s: %s", candidate.name, language, exc)
                failures.append(f"{candidate.name}: {exc.premise} ({exc.cause})")
        raise EngineUnavailable(
            f"No engine could speak {language_label(language)}; tried "
            f"{', '.join(c.name for c in candidates)}",
            "; ".join(failures),
            code="tts.all_engines_failed",
            language=language,
            language_name=language_label(language),
            engines=", ".join(c.name for c in candidates),
        )

    def _encoding(self, codec: Codec | None, bitrate: str | None) -> TTSConfig:
        """The configuration with this result's codec and bitrate (itself when unchanged)."""
        if codec is None and bitrate is None:
            return self.config
        if codec is not None and codec not in ("mp3", "opus"):
            raise InvalidInput(
                f"Unknown codec {codec!r}",
                "use mp3 or opus",
                code="tts.unknown_codec",
                codec=codec,
            )
        return replace(
            self.config, codec=codec or self.config.codec, bitrate=bitrate or self.config.bitrate
        )

    def _audio_settings(self, config: TTSConfig | None = None) -> dict[str, object]:
        c = config or self.config
        return {
            "lufs": c.loudness_lufs,
            "tp": c.true_peak_db,
            "rate": c.sample_rate,
            "bitrate": c.bitrate,
            "codec": c.codec,
            "silence": c.silence_threshold_db,
        }

    def _render(
        self,
        key: str,
        produce: Callable[[], object],
        *,
        engine: str,
        language: str,
        voice: str,
        config: TTSConfig | None = None,
    ) -> AudioResult:
        config = config or self.config
        with self.cache.lock(key):
            hit = self.cache.lookup(key)
            if hit is not None:
                log.debug("cache hit %s", key)
                return hit
            pcm = trim(produce(), self.config)  # type: ignore[arg-type]
            if not len(pcm):
                raise EngineUnavailable(
                    f"The engine {engine!r} returned only silence",
                    "the engine or its voice data is broken",
                    code="tts.silent_output",
                    engine=engine,
                )
            encoded = broadcast_ready(pcm, config)
            return self.cache.store(
                key,
                encoded.data,
                extension=config.extension,
                duration_ms=encoded.duration_ms,
                engine=engine,
                language=language,
                voice=voice,
                loudness_lufs=round(encoded.loudness_lufs, 2),
                true_peak_db=round(encoded.true_peak_db, 2),
            )

    # --- recordings ---------------------------------------------------------------------------

    def from_recording(
        self,
        data: bytes | Path,
        language: str,
        *,
        codec: Codec | None = None,
        bitrate: str | None = None,
    ) -> AudioResult:
        """Make a human recording (any common format) broadcast-ready and cache it.

        `codec` and `bitrate` replace the configured encoding for this one result.
        """
        language = canonical_language(language)
        config = self._encoding(codec, bitrate)
        raw = Path(data).read_bytes() if isinstance(data, Path) else data
        if not raw:
            raise InvalidRecording(
                "The recording is empty", "the upload did not complete", code="recording.empty"
            )
        key = cache_key(
            {
                "recording": hashlib.sha256(raw).hexdigest(),
                "language": language,
                "engine": RECORDING,
                "audio": self._audio_settings(config),
            }
        )
        limit = self.config.max_recording_seconds

        def decode() -> object:
            try:
                # Decode one second past the limit: enough to know it is too long.
                pcm = decode_to_pcm(raw, self.config.sample_rate, max_seconds=limit + 1.0)
            except AudioProcessingError as exc:
                raise InvalidRecording(
                    "The recording cannot be decoded",
                    f"the file is corrupt or not an audio format ffmpeg knows ({exc.cause})",
                    code="recording.undecodable",
                ) from exc
            seconds = len(pcm) / self.config.sample_rate
            if seconds > limit:
                raise InvalidRecording(
                    f"The recording is longer than the maximum of {limit:.0f} seconds",
                    "it holds more than one bulletin or was not stopped; cut it and upload again",
                    code="recording.too_long",
                    limit=round(limit),
                )
            if not len(pcm) or peak_db(pcm) < SILENT_RECORDING_DB:
                raise InvalidRecording(
                    "The recording is silent",
                    "the microphone was muted or unplugged while recording",
                    code="recording.silent",
                )
            return pcm

        try:
            return self._render(
                key, decode, engine=RECORDING, language=language, voice="", config=config
            )
        except EngineUnavailable as exc:
            raise InvalidRecording(
                "The recording holds no sound above the silence threshold",
                "the microphone level was far too low",
                code="recording.too_quiet",
            ) from exc

    # --- assembly -----------------------------------------------------------------------------

    def assemble(self, clips: Sequence[Path], language: str, *, gap_ms: int) -> AudioResult:
        """Join broadcast-ready clips in order, `gap_ms` of silence apart, into one file.

        Each clip is decoded once and the PCM joined in one copy; the whole is levelled
        and encoded once, so the result sounds like any other version. Cached by the
        clips' content, their order and the gap.
        """
        if not clips:
            raise InvalidInput(
                "Nothing to join", "the template has no part", code="tts.nothing_to_join"
            )
        if gap_ms < 0:
            raise InvalidInput(
                f"The gap of {gap_ms} ms is negative",
                "give 0 or more milliseconds",
                code="tts.negative_gap",
                gap_ms=gap_ms,
            )
        language = canonical_language(language)
        digests = [hashlib.sha256(Path(c).read_bytes()).hexdigest() for c in clips]
        key = cache_key(
            {
                "clips": digests,
                "gap_ms": gap_ms,
                "language": language,
                "engine": ASSEMBLED,
                "audio": self._audio_settings(),
            }
        )
        rate = self.config.sample_rate

        def join() -> object:
            try:
                parts = [decode_to_pcm(Path(c), rate) for c in clips]
            except AudioProcessingError as exc:
                raise InvalidRecording(
                    "A clip of the template cannot be decoded",
                    f"its file is damaged ({exc.cause})",
                    code="recording.undecodable",
                ) from exc
            return concatenate(parts, rate, pause_ms=gap_ms)

        return self._render(key, join, engine=ASSEMBLED, language=language, voice="")


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """One row of `loa tts engines`."""

    engine: str
    available: bool
    online: bool
    detail: str
    languages: tuple[str, ...]


def engines_report(
    config: TTSConfig, *, network: bool = True, engines: Mapping[str, Engine] | None = None
) -> list[EngineStatus]:
    """What speaks which language here, and whether each engine is reachable."""
    found = dict(engines if engines is not None else build_engines(config))
    wanted = set(config.engine_policy)
    rows: list[EngineStatus] = []
    for name, engine in found.items():
        check = engine.check(network=network)
        spoken = tuple(sorted(lang for lang in wanted if engine.speaks(lang)))
        rows.append(
            EngineStatus(
                engine=name,
                available=check.available,
                online=engine.online,
                detail=check.detail,
                languages=spoken,
            )
        )
    rows.append(
        EngineStatus(
            engine=RECORDING,
            available=True,
            online=False,
            detail="human recordings in any language (mp3, wav, m4a, ogg, ...)",
            languages=("*",),
        )
    )
    return rows
