"""A station's programme for one slot, built from approved bulletins (see playlists/)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, col, select

from broadcast.bulletins import media, reviewers, voices
from broadcast.bulletins.lexicon import merged_lexicon
from broadcast.bulletins.models import Bulletin, BulletinStatus, SourceKind, Translation
from broadcast.bulletins.service import is_airable, valid_at_clause
from broadcast.core.settings import Settings
from playlists import MediaAsset, Programme, ProgrammeEntry, ProgrammeWarning, SlotRules, assemble
from playlists.render import render_programme
from stations.areas import ancestors
from stations.errors import InvalidInputError
from stations.models import Area, Station
from stations.timeutil import utcnow
from tts import Synthesizer, TTSError
from tts.audio import probe_duration_ms


def media_url(settings: Settings, sha256: str, codec: str = "mp3") -> str:
    """The URL receivers download a file from: {LOA_PUBLIC_BASE_URL}/media/{sha256}.mp3."""
    return media.media_url(settings, sha256, codec)


@functools.lru_cache(maxsize=32)
def _measure_ident(path: str, size: int, mtime_ns: int) -> tuple[str, int, int]:
    """sha256, bytes and duration of one version of an ident file (size and mtime key it)."""
    data = Path(path).read_bytes()  # a jingle: a few seconds of audio
    return hashlib.sha256(data).hexdigest(), len(data), probe_duration_ms(Path(path))


def _ident(settings: Settings, path: Path | None) -> MediaAsset | None:
    """A settings-wide ident file, published under its hash in this service's media."""
    if path is None:
        return None
    stat = path.stat()
    sha, size, duration = _measure_ident(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    media.publish(settings, path, sha)
    return media.asset(settings, sha, size, duration)


def slot_rules(settings: Settings) -> SlotRules:
    """The slot rules configured by LOA_PROGRAMME_* settings."""
    minutes = settings.programme_max_minutes
    return SlotRules(
        gap_ms=settings.programme_gap_ms,
        max_duration_ms=round(minutes * 60_000) if minutes else None,
        intro=_ident(settings, settings.programme_intro_file),
        outro=_ident(settings, settings.programme_outro_file),
        require_all_languages=settings.programme_require_all_languages,
    )


IDENT_KINDS = ("intro", "outro")


def station_idents(settings: Settings, station: Station) -> dict[str, MediaAsset]:
    """The station's own intro/outro jingles (they replace the settings-wide ones)."""
    found: dict[str, MediaAsset] = {}
    for kind, meta in (station.idents or {}).items():
        if kind in IDENT_KINDS and meta.get("sha256"):
            found[kind] = media.asset(
                settings, meta["sha256"], int(meta["bytes"]), int(meta["duration_ms"])
            )
    return found


def _why_not_airable(bulletin: Bulletin) -> str:
    """Why a scheduled bulletin cannot air (only approved bulletins can be scheduled)."""
    head = f"Bulletin {bulletin.id} '{bulletin.title}'"
    if bulletin.status in (BulletinStatus.draft, BulletinStatus.submitted):
        # Any change to an approved bulletin sends it back to draft.
        return f"{head} was changed after its approval and is {bulletin.status} again: left out"
    if bulletin.status == BulletinStatus.approved:
        return f"{head} changed since its approval: left out"
    return f"{head} is {bulletin.status}, not approved: left out"


def programme_for_station(
    *,
    session: Session,
    station: Station,
    bulletin_ids: Sequence[int] | None,
    settings: Settings,
    at: datetime | None = None,
    rules: SlotRules | None = None,
    codec: str | None = None,
    synth: Synthesizer | None = None,
) -> Programme:
    """The station's programme from approved bulletins of its area and the areas above it.

    Each Vietnamese text version is read in the station's voice (or the bulletin's), and
    every version (recordings too) is encoded in the station's codec, or in `codec` when
    given ("mp3" for receivers that play nothing else); recordings keep their own voice.
    Variants come from the audio cache (rendered ahead by the render worker); one that
    cannot be made falls back to the version's default audio, with a warning.

    `bulletin_ids` are in schedule order; None takes every approved bulletin valid
    at `at` (default now) for the station's area and its ancestors, oldest approval first.
    Bulletins that cannot air (not approved, changed since approval, other area) are
    left out with a warning.
    """
    area = session.get(Area, station.area_id)
    if area is None:
        raise ValueError(f"station {station.id} has no area")
    chain = [a.id for a in ancestors(session=session, area=area)]
    skipped: list[ProgrammeWarning] = []
    if bulletin_ids is None:
        bulletins = list(
            session.exec(
                select(Bulletin)
                .where(
                    Bulletin.status == BulletinStatus.approved,
                    col(Bulletin.area_id).in_(chain),
                    valid_at_clause(at or utcnow()),
                )
                .order_by(col(Bulletin.reviewed_at), col(Bulletin.id))
            ).all()
        )
    else:
        found = {
            b.id: b
            for b in session.exec(
                select(Bulletin).where(col(Bulletin.id).in_(list(bulletin_ids)))
            ).all()
        }
        bulletins = []
        for bid in bulletin_ids:
            b = found.get(bid)
            if b is None or b.area_id not in chain:
                skipped.append(
                    ProgrammeWarning(
                        "not_for_station",
                        f"Bulletin {bid} does not exist or is not for this station's area",
                        bid,
                    )
                )
            else:
                bulletins.append(b)
    entries: list[ProgrammeEntry] = []
    versions_by_bulletin: dict[int, list[Translation]] = {}
    if bulletins:
        for t in session.exec(
            select(Translation).where(col(Translation.bulletin_id).in_([b.id for b in bulletins]))
        ).all():
            versions_by_bulletin.setdefault(t.bulletin_id, []).append(t)
    base = voices.station_voice(session=session, station=station, settings=settings)
    if codec == "mp3":
        base = voices.as_mp3(base)
    variants = _Variants(session=session, settings=settings, synth=synth)
    named_by_area: dict[int, dict[str, reviewers.Reviewers]] = {}
    never_wait = reviewers.exempt_ids(session=session, bulletins=bulletins)
    for order, b in enumerate(bulletins):
        versions = versions_by_bulletin.get(b.id or 0, [])
        if not is_airable(b, versions):
            skipped.append(ProgrammeWarning("not_approved", _why_not_airable(b), b.id))
            continue
        if b.area_id not in named_by_area:
            owner = session.get(Area, b.area_id)
            named_by_area[b.area_id] = (
                reviewers.effective_reviewers(session=session, area=owner) if owner else {}
            )
        exempt = (b.id or 0) in never_wait
        voice = voices.bulletin_voice(base, b)
        chosen: dict[str, MediaAsset] = {}
        for t in versions:
            if not t.audio_sha256:
                continue
            if reviewers.needs_sign_off(
                t.language, named_by_area[b.area_id], exempt=exempt
            ) and not reviewers.signed_off(t):
                skipped.append(
                    ProgrammeWarning(
                        "language_review",
                        f"Bulletin {b.id} '{b.title}': the '{t.language}' version waits for "
                        "its language reviewer's sign-off: left out",
                        b.id,
                        t.language,
                    )
                )
                continue
            default = media.asset(
                settings, t.audio_sha256, t.audio_bytes or 0, t.audio_duration_ms or 0
            )
            wanted = voices.for_language(voice, t.language, settings)
            if t.source != SourceKind.text:  # a person's voice: only the codec applies
                wanted = voices.as_recorded(wanted, settings)
            if voices.is_default(wanted, settings):
                chosen[t.language] = default
                continue
            asset, warning = variants.get(b, t, wanted)
            chosen[t.language] = asset or default
            if warning is not None:
                skipped.append(warning)
        entries.append(
            ProgrammeEntry(
                bulletin_id=b.id or 0,
                title=b.title,
                priority=str(b.priority),
                order=order,
                versions=chosen,
            )
        )
    rules = rules or slot_rules(settings)
    own = station_idents(settings, station)
    if own:
        rules = dataclasses.replace(
            rules, intro=own.get("intro", rules.intro), outro=own.get("outro", rules.outro)
        )
    programme = assemble(entries, list(station.languages or ["vi"]), rules)
    if skipped:
        programme = dataclasses.replace(programme, warnings=(*skipped, *programme.warnings))
    return programme


class _Variants:
    """Voice and codec variants of versions for one programme, made through the cache."""

    def __init__(self, *, session: Session, settings: Settings, synth: Synthesizer | None):
        self.session = session
        self.settings = settings
        self._synth = synth
        self._lexicons: dict[int, dict[str, str]] = {}

    def get(
        self, bulletin: Bulletin, version: Translation, voice: voices.Voice
    ) -> tuple[MediaAsset | None, ProgrammeWarning | None]:
        """The variant, or None and why the default audio airs instead."""
        if bulletin.area_id not in self._lexicons:
            area = self.session.get(Area, bulletin.area_id)
            self._lexicons[bulletin.area_id] = (
                merged_lexicon(session=self.session, area=area) if area else {}
            )
        self._synth = self._synth or media.synthesizer(self.settings)
        try:
            if version.source != SourceKind.text:
                asset = voices.render_recording_variant(
                    synth=self._synth,
                    settings=self.settings,
                    voice=voice,
                    sha256=version.audio_sha256 or "",
                    language=version.language,
                )
            else:
                asset = voices.render_variant(
                    synth=self._synth,
                    settings=self.settings,
                    voice=voice,
                    text=version.text or "",
                    language=version.language,
                    lexicon=self._lexicons[bulletin.area_id],
                )
        except (TTSError, OSError) as exc:
            return None, ProgrammeWarning(
                "voice_fallback",
                f"Bulletin {bulletin.id} '{bulletin.title}' could not be read in the "
                f"station's voice ({error_line(exc)}): its default audio airs",
                bulletin.id,
                version.language,
            )
        return asset, None


def error_line(exc: BaseException) -> str:
    """The first line of an error, for a warning people read."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def programme_audio(
    *, session: Session, settings: Settings, station: Station, bulletin_ids: Sequence[int]
) -> tuple[Path, Programme]:
    """The station's programme of these bulletins as one MP3, for an operator to air by hand.

    Rendered once per programme version under LOA_MEDIA_DIR/programmes/ (a changed
    bulletin makes a new version, so a file is never stale) and written atomically.
    """
    programme = programme_for_station(
        session=session,
        station=station,
        bulletin_ids=list(bulletin_ids),
        settings=settings,
        codec="mp3",
    )
    if not programme.items or programme.blocked:
        raise InvalidInputError(
            f"Station {station.id} has nothing to air in this programme",
            code="programme.nothing_to_air",
            station_id=station.id,
        )
    path = settings.media_dir / "programmes" / f"{programme.version}.mp3"
    if not path.is_file():
        render_programme(
            programme, path, sample_rate=settings.tts_sample_rate, bitrate=settings.tts_bitrate
        )
    return path, programme
