"""How bulletin versions and station idents sound: uploaded recordings and the text read.

A recording uploaded by a person is copied to disk in chunks, checked and levelled by
tts/ and published under its content hash; the original upload is kept as sent. The
REST API and the console both go through these functions, so a file is refused or
stored alike whichever face it came through.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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
from tts import AudioResult, InvalidRecording, Synthesizer, TTSError

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


def level_recording(
    settings: Settings, synthesizer: Synthesizer, path: Path, language: str
) -> AudioResult:
    """Check and level a recording, publish it as media; 422-class errors for bad audio."""
    try:
        result = synthesizer.from_recording(path, language)
    except InvalidRecording as exc:
        raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
    except TTSError as exc:
        raise InvalidInputError(
            f"The recording could not be processed: {exc}", code=exc.code, **exc.fields
        ) from exc
    media.publish(settings, result.path, result.sha256)
    return result


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
    tmp, _upload_sha = save_upload(
        upload, _upload_folder(settings), settings.max_upload_mb * 1_000_000
    )
    try:
        language = station.languages[0] if station.languages else "vi"
        result = level_recording(settings, synthesizer, tmp, language)
    finally:
        tmp.unlink(missing_ok=True)
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
