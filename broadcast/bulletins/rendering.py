"""Background rendering of bulletin audio: pending text versions become published mp3 files.

Rendering happens outside the request and outside any transaction: a version is
read, spoken by the tts package, and its result written back only if the version
has not changed meanwhile (its content hash still matches).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.bulletins import voices
from broadcast.bulletins.lexicon import merged_lexicon
from broadcast.bulletins.media import publish, synthesizer
from broadcast.bulletins.models import AudioState, Bulletin, SourceKind, Translation
from broadcast.core import audit
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from stations.models import Area
from stations.timeutil import utcnow
from tts import AudioProcessingError, Synthesizer, TTSError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    translation_id: int
    bulletin_id: int
    area_id: int
    language: str
    text: str
    content_hash: str


def _pending_jobs(session: Session, limit: int) -> list[_Job]:
    rows = session.exec(
        select(Translation, Bulletin)
        .join(Bulletin, col(Translation.bulletin_id) == col(Bulletin.id))
        .where(
            Translation.audio_state == AudioState.pending,
            Translation.source == SourceKind.text,
        )
        .order_by(col(Translation.updated_at))
        .limit(limit)
    ).all()
    return [
        _Job(t.id or 0, b.id or 0, b.area_id, t.language, t.text or "", t.content_hash)
        for t, b in rows
    ]


def _render(*, engine: Engine, settings: Settings, synth: Synthesizer, job: _Job) -> bool:
    """Render one pending version; False when it changed meanwhile or is no longer pending."""
    with Session(engine, expire_on_commit=False) as session:
        area = session.get(Area, job.area_id)
        lexicon = merged_lexicon(session=session, area=area) if area else {}
        bulletin = session.get(Bulletin, job.bulletin_id)
        wanted = (
            voices.voices_under(session=session, area=area, settings=settings)
            if area is not None and bulletin is not None
            else []
        )
        wanted = [
            voices.for_language(voices.bulletin_voice(v, bulletin), job.language, settings)
            for v in wanted
            if bulletin is not None
        ]
    error: TTSError | None = None
    result = None
    try:
        result = synth.synthesize(job.text, job.language, lexicon=lexicon)
        publish(settings, result.path, result.sha256)
    except TTSError as exc:
        error = exc
    except OSError as exc:
        error = AudioProcessingError(
            "The audio could not be stored", str(exc), code="audio.store_failed"
        )
    with transaction(engine) as session:
        row = session.get(Translation, job.translation_id)
        if row is None or row.content_hash != job.content_hash:
            return False  # edited while rendering: the new text is pending already
        if row.audio_state != AudioState.pending:
            return False
        if result is not None:
            row.audio_state = AudioState.ready
            row.audio_sha256 = result.sha256
            row.audio_bytes = result.bytes
            row.audio_duration_ms = result.duration_ms
            row.audio_engine = result.engine
            row.audio_error = row.audio_error_code = row.audio_error_fields = None
        else:
            row.audio_state = AudioState.failed
            row.audio_error = str(error or "unknown error")[:1000]
            row.audio_error_code = error.code if error else None
            row.audio_error_fields = error.fields if error else None
        row.audio_content_hash = job.content_hash
        row.rendered_at = utcnow()
        session.add(row)
        audit.record(
            session=session,
            actor=None,
            action="translation.rendered" if result else "translation.render_failed",
            object_type="bulletin",
            object_id=job.bulletin_id,
            area_id=job.area_id,
            detail={
                "language": job.language,
                "audio_sha256": result.sha256 if result else None,
                "engine": result.engine if result else None,
                "error": row.audio_error,
            },
        )
    if result is not None:  # the version is ready: its other voices come after
        _render_variants(settings=settings, synth=synth, job=job, lexicon=lexicon, wanted=wanted)
    return True


def _render_variants(
    *,
    settings: Settings,
    synth: Synthesizer,
    job: _Job,
    lexicon: dict[str, str],
    wanted: list[voices.Voice],
) -> None:
    """Render ahead the voices and codecs of the stations that may air this version.

    Programme building takes them from the cache; one that fails here is tried again
    there (and falls back to the default audio), so a failure is only logged.
    """
    for voice in dict.fromkeys(wanted):
        if voices.is_default(voice, settings):
            continue
        try:
            voices.render_variant(
                synth=synth,
                settings=settings,
                voice=voice,
                text=job.text,
                language=job.language,
                lexicon=lexicon,
            )
        except (TTSError, OSError) as exc:
            log.warning("translation %s in voice %s: %s", job.translation_id, voice, exc)


def render_pending(
    *, engine: Engine, settings: Settings, limit: int = 20, synth: Synthesizer | None = None
) -> int:
    """Render up to `limit` pending text versions; returns how many were settled."""
    with Session(engine) as session:
        jobs = _pending_jobs(session, limit)
    if not jobs:
        return 0
    synth = synth or synthesizer(settings)
    done = 0
    for job in jobs:
        try:
            if _render(engine=engine, settings=settings, synth=synth, job=job):
                done += 1
        except Exception:  # one bad version must not stop the others
            log.exception("rendering translation %s failed", job.translation_id)
    return done


class RenderWorker:
    """A thread that renders pending audio, woken by `notify()` or every poll period."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._synth: Synthesizer | None = None
        self._wake = threading.Event()

    def notify(self) -> None:
        """Render at once (call after committing new text or a new pronunciation)."""
        self._wake.set()

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="loa-render", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current item and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._synth = self._synth or synthesizer(self.settings)
                busy = render_pending(engine=self.engine, settings=self.settings, synth=self._synth)
            except Exception:
                log.exception("render worker round failed")
                busy = 0
            if busy:
                continue
            self._wake.wait(self.settings.render_poll_seconds)
            self._wake.clear()
