"""Bulletin text to broadcast-ready speech for commune loudspeaker radio.

tts/ imports nothing from the other Loa packages; settings come in as TTSConfig.
"""

from __future__ import annotations

from tts.cache import AudioCache, AudioResult, cache_key
from tts.config import TTSConfig
from tts.engines.base import Engine, EngineCheck
from tts.errors import (
    AudioProcessingError,
    EngineUnavailable,
    InvalidInput,
    InvalidRecording,
    TTSError,
    UnsupportedLanguage,
)
from tts.normalizer import chunk_text, normalize, split_sentences
from tts.synthesizer import EngineStatus, Synthesizer, canonical_language, engines_report

__all__ = [
    "AudioCache",
    "AudioProcessingError",
    "AudioResult",
    "Engine",
    "EngineCheck",
    "EngineStatus",
    "EngineUnavailable",
    "InvalidInput",
    "InvalidRecording",
    "Synthesizer",
    "TTSConfig",
    "TTSError",
    "UnsupportedLanguage",
    "cache_key",
    "canonical_language",
    "chunk_text",
    "engines_report",
    "normalize",
    "split_sentences",
]
