"""Audio uploads: copied to disk in chunks, then checked and levelled by tts/."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from fastapi import UploadFile

from broadcast import media
from broadcast.settings import Settings
from stations.errors import InvalidInputError, TooLargeError
from tts import AudioResult, InvalidRecording, Synthesizer, TTSError

UPLOAD_CHUNK = 1024 * 1024
_synths: dict[int, Synthesizer] = {}


def synthesizer_for(settings: Settings) -> Synthesizer:
    """One synthesizer per settings object (it holds engine pools and the cache)."""
    if id(settings) not in _synths:
        _synths[id(settings)] = media.synthesizer(settings)
    return _synths[id(settings)]


def save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> tuple[Path, str]:
    """Copy an upload to a temporary file in chunks, refusing more than max_bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := upload.file.read(UPLOAD_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLargeError(
                        f"The recording is larger than {max_bytes // 1_000_000} MB. "
                        "Probable cause: it is far too long or not compressed; send an mp3",
                        code="recording.too_large",
                        limit_mb=max_bytes // 1_000_000,
                    )
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise InvalidInputError(
                "The recording is empty. Probable cause: the upload failed",
                code="recording.empty",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest()


def level_recording(settings: Settings, path: Path, language: str) -> AudioResult:
    """Check and level a recording, publish it as media; 422-class errors for bad audio."""
    try:
        result = synthesizer_for(settings).from_recording(path, language)
    except InvalidRecording as exc:
        raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
    except TTSError as exc:
        raise InvalidInputError(
            f"The recording could not be processed: {exc}", code=exc.code, **exc.fields
        ) from exc
    media.publish(settings, result.path, result.sha256)
    return result
