"""How bulletin versions and station idents sound: uploaded recordings and the text read.

A recording uploaded by a person is copied to disk in chunks, checked and levelled by
tts/ and published under its content hash; the original upload is kept as sent. The
REST API and the console both go through these functions, so a file is refused or
stored alike whichever face it came through.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from pydub import AudioSegment
from pydub.silence import detect_leading_silence
from sqlmodel import Session

from broadcast.bulletins import media
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.lexicon import merged_lexicon
from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.people.service import Principal
from stations import registry
from stations.errors import ConflictError, InvalidInputError, NotFoundError, TooLargeError
from stations.models import Area, Station
from tts import AudioProcessingError, AudioResult, InvalidRecording, Synthesizer, TTSError
from tts.audio import decode_to_pcm

UPLOAD_CHUNK = 1024 * 1024


def save_upload(source: BinaryIO, folder: Path, max_bytes: int) -> tuple[Path, str]:
    """Copy an upload to a temporary file in chunks, refusing more than max_bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=folder, prefix="upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := source.read(UPLOAD_CHUNK):
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


# Silence is judged against the recording's own peak, not against digital silence: a
# hall's hum or a phone's hiss at the start of a take sits far above -45 dBFS (what the
# tts pipeline trims) yet far below the voice. For a quiet take the threshold
# never drops below -50 dBFS.
SILENCE_BELOW_PEAK_DB = 30.0
SILENCE_FLOOR_DBFS = -50.0
# Kept before the first and after the last sound, so soft onsets are not clipped.
KEEP_MS = 150


def trim_recording(path: Path, *, sample_rate: int, max_seconds: float, folder: Path) -> Path:
    """The upload as mono 16-bit WAV at `sample_rate`, its leading and trailing silence cut.

    Decoded by ffmpeg (any format), trimmed with pydub's silence detection and written
    to a new file in `folder` (the caller removes it). A file that cannot be decoded, or
    holds no sound at all, comes back as it is, for the checks to refuse it.
    """
    try:
        # One second past the limit: enough for the checks to know it is too long.
        pcm = decode_to_pcm(path, sample_rate, max_seconds=max_seconds + 1.0)
    except AudioProcessingError:
        return path
    samples = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    del pcm
    take = AudioSegment(data=samples, sample_width=2, frame_rate=sample_rate, channels=1)
    if not len(take) or take.max_dBFS == -math.inf:
        return path
    threshold = max(take.max_dBFS - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS)
    lead = detect_leading_silence(take, silence_threshold=threshold)
    tail = detect_leading_silence(take.reverse(), silence_threshold=threshold)
    start = max(0, lead - KEEP_MS)
    end = max(start, len(take) - max(0, tail - KEEP_MS))
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=folder, prefix="trimmed-", suffix=".wav")
    os.close(fd)
    take[start:end].export(name, format="wav")
    return Path(name)


def level_recording(
    settings: Settings, synthesizer: Synthesizer, path: Path, language: str
) -> AudioResult:
    """Trim, check and level a recording, publish it as media; 422-class errors for bad audio."""
    trimmed = trim_recording(
        path,
        sample_rate=settings.tts_sample_rate,
        max_seconds=settings.max_recording_seconds,
        folder=_upload_folder(settings),
    )
    try:
        result = synthesizer.from_recording(trimmed, language)
    except InvalidRecording as exc:
        raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
    except TTSError as exc:
        raise InvalidInputError(
            f"The recording could not be processed: {exc}", code=exc.code, **exc.fields
        ) from exc
    finally:
        if trimmed != path:
            trimmed.unlink(missing_ok=True)
    media.publish(settings, result.path, result.sha256)
    return result


def level_upload(
    settings: Settings, synthesizer: Synthesizer, upload: BinaryIO, language: str
) -> AudioResult:
    """An uploaded file (a jingle, a filler track) checked, levelled and published; the
    upload itself is not kept."""
    tmp, _upload_sha = save_upload(
        upload, _upload_folder(settings), settings.max_upload_mb * 1_000_000
    )
    try:
        return level_recording(settings, synthesizer, tmp, language)
    finally:
        tmp.unlink(missing_ok=True)


def _upload_folder(settings: Settings) -> Path:
    return settings.media_dir / "uploads"


def store_bulletin_recording(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    bulletin_id: int,
    language: str,
    upload: BinaryIO,
    filename: str | None,
) -> tuple[Bulletin, Area]:
    """A person's recording becomes a version's audio: kept as sent, levelled, published.

    A corrupt, silent or too long file is refused (InvalidInputError) and nothing is
    stored. Returns the bulletin and its area.
    """
    bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    # Cheap checks before the audio work.
    principal.require(Role.editor)
    if bulletin.status == BulletinStatus.archived:
        raise ConflictError(
            f"Bulletin {bulletin_id} is archived and can no longer change",
            code="bulletin.archived",
            bulletin_id=bulletin_id,
        )
    bulletins.check_language(session=session, area=area, language=language)
    tmp, upload_sha = save_upload(
        upload, _upload_folder(settings), settings.max_upload_mb * 1_000_000
    )
    try:
        result = level_recording(settings, synthesizer, tmp, language)
        suffix = Path(filename or "").suffix.lower()[:8] or ".audio"
        keep = settings.media_dir / "recordings" / f"{upload_sha}{suffix}"
        keep.parent.mkdir(parents=True, exist_ok=True)
        if not keep.exists():
            tmp.replace(keep)
    finally:
        tmp.unlink(missing_ok=True)
    bulletins.set_translation_recording(
        session=session,
        principal=principal,
        bulletin=bulletin,
        area=area,
        language=language,
        upload_sha256=upload_sha,
        audio_sha256=result.sha256,
        audio_bytes=result.bytes,
        duration_ms=result.duration_ms,
    )
    return bulletin, area


def store_station_ident(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    station_id: int,
    kind: str,
    upload: BinaryIO,
) -> tuple[Station, Area]:
    """A station's intro or outro jingle, levelled like any recording (administrators)."""
    principal.require()
    station, area = registry.get_station(
        session=session, station_id=station_id, scope=principal.scope
    )
    language = station.languages[0] if station.languages else "vi"
    result = level_upload(settings, synthesizer, upload, language)
    station.idents = {
        **(station.idents or {}),
        kind: {"sha256": result.sha256, "bytes": result.bytes, "duration_ms": result.duration_ms},
    }
    session.add(station)
    audit.record(
        session=session,
        actor=principal.user,
        action=f"station.ident.{kind}",
        object_type="station",
        object_id=station_id,
        area_id=station.area_id,
        detail={"sha256": result.sha256, "duration_ms": result.duration_ms},
    )
    return station, area


@dataclass(frozen=True, slots=True)
class Reading:
    """A version's text as written and as the synthesizer will read it."""

    language: str
    text: str
    normalized: str
    lexicon: dict[str, str]  # the area's lexicon entries the text uses


def reading_of(
    *,
    session: Session,
    principal: Principal,
    synthesizer: Synthesizer,
    bulletin_id: int,
    language: str,
) -> Reading:
    """The version's text after the normaliser and the area's lexicon."""
    bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    version = bulletins.get_translation(session=session, bulletin=bulletin, language=language)
    if not version.text:
        raise NotFoundError(
            f"The '{language}' version is a recording without text",
            code="translation.no_text",
            language=language,
        )
    lexicon = merged_lexicon(session=session, area=area)
    try:
        prepared = synthesizer.prepare_text(version.text, language, lexicon=lexicon)
    except TTSError as exc:
        raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
    used = {k: v for k, v in lexicon.items() if k in version.text}
    return Reading(language=language, text=version.text, normalized=prepared, lexicon=used)


def version_audio(
    *, session: Session, principal: Principal, settings: Settings, bulletin_id: int, language: str
) -> tuple[Path, str]:
    """The published mp3 of one version and its sha256, or NotFoundError."""
    bulletin, _area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    version = bulletins.get_translation(session=session, bulletin=bulletin, language=language)
    if version.audio_state != AudioState.ready or not version.audio_sha256:
        detail = f" ({version.audio_error})" if version.audio_error else ""
        raise NotFoundError(
            f"The '{language}' audio of bulletin {bulletin_id} is {version.audio_state}{detail}",
            code="audio.not_ready",
            language=language,
            bulletin_id=bulletin_id,
            state=version.audio_state,
        )
    path = media.media_path(settings, version.audio_sha256)
    if not path.is_file():
        raise NotFoundError(
            f"The '{language}' audio file is missing from the media folder",
            code="audio.file_missing",
            language=language,
        )
    return path, version.audio_sha256
