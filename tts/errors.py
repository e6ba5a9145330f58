"""Domain exceptions of the tts package.

Every message reads "{premise}. Probable cause: {cause}" so that an editor or an
operator can act on it without reading a traceback.

Like Loa's other domain errors (stations/errors.py), each also carries a stable dotted
`code` (`recording.too_long`) and the structured `fields` of the message
(`limit_seconds=120`), from which the console says it in Vietnamese.
"""

from __future__ import annotations

from typing import Any


class TTSError(Exception):
    """Base class of every error raised by the tts package."""

    default_code = "tts.failed"

    def __init__(self, premise: str, cause: str, *, code: str | None = None, **fields: Any) -> None:
        self.premise = premise.rstrip(".")
        self.cause = cause.rstrip(".")
        self.code = code or self.default_code
        self.fields: dict[str, Any] = fields
        super().__init__(f"{self.premise}. Probable cause: {self.cause}.")


class InvalidInput(TTSError):
    """The text given for synthesis cannot be read (empty, too long, ...)."""

    default_code = "tts.invalid_text"


class UnsupportedLanguage(TTSError):
    """No engine speaks the language and no recording was supplied."""

    default_code = "tts.unsupported_language"


class EngineUnavailable(TTSError):
    """An engine could not produce audio (network outage, missing library, ...)."""

    default_code = "tts.engine_unavailable"


class InvalidRecording(TTSError):
    """An uploaded human recording is corrupt, silent or too long."""

    default_code = "recording.invalid"


class AudioProcessingError(TTSError):
    """ffmpeg or the loudness pipeline failed on audio we produced ourselves."""

    default_code = "audio.processing_failed"
