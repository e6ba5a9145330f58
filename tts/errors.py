"""Domain exceptions of the tts package.

Every message reads "{premise}. Probable cause: {cause}" so that an editor or an
operator can act on it without reading a traceback.
"""

from __future__ import annotations


class TTSError(Exception):
    """Base class of every error raised by the tts package."""

    def __init__(self, premise: str, cause: str) -> None:
        self.premise = premise.rstrip(".")
        self.cause = cause.rstrip(".")
        super().__init__(f"{self.premise}. Probable cause: {self.cause}.")


class InvalidInput(TTSError):
    """The text given for synthesis cannot be read (empty, too long, ...)."""


class UnsupportedLanguage(TTSError):
    """No engine speaks the language and no recording was supplied."""


class EngineUnavailable(TTSError):
    """An engine could not produce audio (network outage, missing library, ...)."""


class InvalidRecording(TTSError):
    """An uploaded human recording is corrupt, silent or too long."""


class AudioProcessingError(TTSError):
    """ffmpeg or the loudness pipeline failed on audio we produced ourselves."""
