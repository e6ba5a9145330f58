"""Real bulletin audio for tests, stored and approved the way the service does it.

One synthesizer with offline engines only (eSpeak NG) and a cache for the whole test run
renders and levels each text or recording once; every test then publishes the result into
its own media folder, as the service does, and takes its bulletins through the real
submit and approve steps. Programmes built from them hold real files with their real
sha256, size and duration.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins import media
from broadcast.bulletins.models import AudioState, Bulletin, Priority, Translation
from broadcast.bulletins.rendering import render_pending
from broadcast.bulletins.service import (
    NewTranslation,
    approve,
    create_bulletin,
    set_translation_recording,
    submit,
)
from broadcast.core.db import transaction
from broadcast.core.settings import Environment, Settings
from broadcast.people.models import Role, User
from broadcast.people.service import Principal, create_user, user_area
from stations.areas import Scope
from stations.models import Area
from tests.utils import TEST_PASSWORD, TEST_SECRET
from tts import Synthesizer
from tts.audio import ffmpeg_exe

# The length of the recording most tests air: 2 s, exactly, once levelled.
RECORDING_MS = 2000


def offline_synthesizer(root: Path) -> Synthesizer:
    """The service's synthesizer with LOA_TTS_ONLINE=false, caching under `root`."""
    settings = Settings(
        env=Environment.test, secret_key=TEST_SECRET, media_dir=root, tts_online=False
    )
    return media.synthesizer(settings)


def tone_recording(path: Path, milliseconds: int = RECORDING_MS, *, freq: int = 440) -> Path:
    """A sine tone as an editor would upload it (mp3 made by ffmpeg), `milliseconds` long."""
    source = f"sine=frequency={freq}:sample_rate=16000:duration={milliseconds / 1000}"
    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", source, "-af", "volume=0.5",
            "-ac", "1", "-b:a", "32k", str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


def principal_of(session: Session, username: str) -> Principal:
    """The signed-in caller `username` (an existing user)."""
    user = session.exec(select(User).where(User.username == username)).one()
    return Principal(user, user_area(session=session, user=user))


def ensure_user(session: Session, username: str, role: Role, area_code: str | None) -> str:
    """Create the user unless it exists (password TEST_PASSWORD); returns the username."""
    if session.exec(select(User).where(User.username == username)).first() is None:
        create_user(
            session=session,
            username=username,
            password=TEST_PASSWORD,
            role=role,
            area_code=area_code,
            scope=Scope.everything(),
        )
    return username


def attach_recording(
    *,
    session: Session,
    settings: Settings,
    synth: Synthesizer,
    principal: Principal,
    bulletin: Bulletin,
    language: str,
    source: Path,
) -> Translation:
    """What the recording upload route does: level, publish, keep the original, attach."""
    upload_sha = hashlib.sha256(source.read_bytes()).hexdigest()
    result = synth.from_recording(source, language)
    media.publish(settings, result.path, result.sha256)
    keep = settings.media_dir / "recordings" / f"{upload_sha}{source.suffix or '.audio'}"
    keep.parent.mkdir(parents=True, exist_ok=True)
    if not keep.exists():
        shutil.copyfile(source, keep)
    area = session.get(Area, bulletin.area_id)
    assert area is not None
    return set_translation_recording(
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


def approved_bulletin(
    engine: Engine,
    settings: Settings,
    synth: Synthesizer,
    *,
    title: str,
    area_code: str,
    author: str,
    approver: str,
    texts: Mapping[str, str] | None = None,
    recordings: Mapping[str, Path] | None = None,
    priority: Priority = Priority.normal,
) -> int:
    """A bulletin written by `author`, rendered or recorded, submitted and approved.

    `texts` are read by eSpeak NG through the background renderer's own pass;
    `recordings` are attached as uploaded. Fails when a version has no audio.
    """
    with transaction(engine) as ses:
        writer = principal_of(ses, author)
        bulletin = create_bulletin(
            session=ses,
            principal=writer,
            title=title,
            priority=priority,
            area_code=area_code,
            translations=[NewTranslation(lang, text) for lang, text in (texts or {}).items()],
        )
        for language, source in (recordings or {}).items():
            attach_recording(
                session=ses,
                settings=settings,
                synth=synth,
                principal=writer,
                bulletin=bulletin,
                language=language,
                source=source,
            )
        bulletin_id = bulletin.id or 0
    if texts:
        render_pending(engine=engine, settings=settings, synth=synth)
    with transaction(engine) as ses:
        versions = ses.exec(select(Translation).where(Translation.bulletin_id == bulletin_id)).all()
        unready = {t.language: t.audio_error for t in versions if t.audio_state != AudioState.ready}
        assert not unready, f"bulletin audio not rendered: {unready}"
        bulletin = ses.get(Bulletin, bulletin_id)
        assert bulletin is not None
        submit(session=ses, principal=principal_of(ses, author), bulletin=bulletin)
        approve(session=ses, principal=principal_of(ses, approver), bulletin=bulletin)
    return bulletin_id


def version_audio(engine: Engine, bulletin_id: int, language: str) -> Translation:
    """The stored version of a bulletin in `language`, with its audio fields."""
    with Session(engine) as ses:
        return ses.exec(
            select(Translation).where(
                Translation.bulletin_id == bulletin_id, Translation.language == language
            )
        ).one()


def mean_volume_db(path: Path) -> float:
    """ffmpeg's mean volume of a file, in dB."""
    run = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-i", str(path), "-af", "volumedetect"]
        + ["-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"mean_volume: (-?[\d.]+) dB", run.stderr)
    assert found, run.stderr
    return float(found.group(1))
