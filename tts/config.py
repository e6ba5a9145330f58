"""Settings of the tts package, passed in by the caller (never read from the environment)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Codec = Literal["mp3", "opus"]
EspeakVariant = Literal["north", "central", "south"]


def _default_policy() -> dict[str, list[str]]:
    # Online gTTS sounds far better; eSpeak NG keeps a station on air offline.
    return {
        "vi": ["gtts", "espeak"],
        "zh": ["gtts", "espeak"],
        "yue": ["espeak"],
        "th": ["gtts", "espeak"],
        "km": ["gtts"],
        "en": ["gtts", "espeak"],
    }


@dataclass(frozen=True, slots=True)
class TTSConfig:
    """Everything the synthesizer needs; build it once in the application layer."""

    cache_dir: Path
    engine_policy: dict[str, list[str]] = field(default_factory=_default_policy)
    # Input limits.
    max_chars: int = 20_000
    max_recording_seconds: float = 1800.0
    # gTTS (online).
    gtts_timeout: float = 10.0
    gtts_retries: int = 2
    gtts_backoff: float = 0.5  # seconds, doubled at each retry; tests set 0
    gtts_workers: int = 4
    gtts_tld: str = "com"
    # eSpeak NG (offline).
    espeak_voice: EspeakVariant = "north"
    espeak_backend: Literal["auto", "binary", "library"] = "auto"
    espeak_wpm: int = 165  # words per minute at speed 1.0
    # Reading speed multiplier (1.0 = engine default).
    speed: float = 1.0
    # Broadcast audio.
    loudness_lufs: float = -16.0
    true_peak_db: float = -1.0
    sample_rate: int = 24_000
    bitrate: str = "48k"
    codec: Codec = "mp3"
    silence_threshold_db: float = -45.0
    sentence_pause_ms: int = 250
    # Commercial Vietnamese TTS adapters (optional; disabled without a token).
    viettel_token: str | None = None
    viettel_voice: str = "hn-quynhanh"
    viettel_url: str = "https://viettelai.vn/tts/speech_synthesis"
    fpt_token: str | None = None
    fpt_voice: str = "banmai"
    fpt_url: str = "https://api.fpt.ai/hmi/tts/v5"
    http_timeout: float = 20.0
    http_retries: int = 2

    def __post_init__(self) -> None:
        if self.max_chars <= 0:
            raise ValueError("max_chars must be positive")
        if not 0.3 <= self.speed <= 3.0:
            raise ValueError("speed must lie between 0.3 and 3.0")
        if self.true_peak_db > 0:
            raise ValueError("true_peak_db must be at most 0 dBTP")
        if self.codec not in ("mp3", "opus"):
            raise ValueError("codec must be 'mp3' or 'opus'")
        if self.gtts_workers < 1:
            raise ValueError("gtts_workers must be at least 1")

    @property
    def extension(self) -> str:
        """File extension of encoded output."""
        return "opus" if self.codec == "opus" else "mp3"
