"""Emergency templates: writing them, recording their phrases, review, and filling them in.

An editor of an area writes a template for a hazard in a language as ordered parts
(recorded phrases, Vietnamese text, slots), uploads each phrase and, where wanted, a
recording of a slot's value (a village's name); an approver of the area who did not
write it listens and marks it reviewed. Any later change clears the review.

When an alert needs a language no engine speaks, the nearest reviewed, active template
of the alert's area (its own, else the nearest ancestor's) is filled in: each phrase's
clip, each slot value's recording in that language or, lacking one, its Vietnamese
reading by the engine, joined in one pass and levelled like any version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from broadcast.bulletins import media
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.lexicon import merged_lexicon
from broadcast.bulletins.models import Bulletin, Translation
from broadcast.bulletins.recordings import level_recording, save_upload
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from broadcast.templates.hazards import fold
from broadcast.templates.models import (
    EmergencyTemplate,
    Hazard,
    PartKind,
    Slot,
    SlotRecording,
    TemplatePart,
)
from stations.areas import ancestors, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from stations.models import Area, Language
from stations.timeutil import as_utc, utcnow
from tts import AudioResult, Synthesizer, TTSError

# Silence between two parts of a filled-in template: a breath, not a programme gap.
PART_GAP_MS = 250
MAX_PARTS = 60
MAX_TEXT_CHARS = 2000
MAX_SLOT_VALUE_CHARS = 200
# Slots are always read in Vietnamese when no recording of their value exists.
SLOT_LANGUAGE = bulletins.SOURCE_LANGUAGE


@dataclass(frozen=True, slots=True)
class PartSpec:
    """One part as an editor gives it; `keep_part_id` keeps that phrase's recording."""

    kind: str
    slot: str | None = None
    text: str | None = None
    keep_part_id: int | None = None


@dataclass(frozen=True, slots=True)
class AssembledPart:
    """One clip of a filled-in template: what it is and how it was voiced."""

    kind: str  # phrase, text or slot
    label: str  # the slot's value, the text, or the phrase's position
    source: str  # "recording" (in the template's language) or "speech" (Vietnamese)
    language: str
    duration_ms: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Assembled:
    """A filled-in template: the published audio and its parts in order."""

    template: EmergencyTemplate
    audio: AudioResult
    parts: tuple[AssembledPart, ...]
    gap_ms: int


# --- reading -----------------------------------------------------------------------------


def _above(principal: Principal) -> list[int]:
    area = principal.area
    return [int(p) for p in (area.path if area else "").strip("/").split("/") if p]


def get_template(
    *, session: Session, principal: Principal, template_id: int, write: bool = False
) -> tuple[EmergencyTemplate, Area]:
    """The template and its area, or NotFoundError.

    Callers read the templates of their subtree and of the areas above them (those serve
    their communes too); they change only those of their subtree.
    """
    row = session.exec(
        select(EmergencyTemplate, Area)
        .join(Area, col(EmergencyTemplate.area_id) == col(Area.id))
        .where(EmergencyTemplate.id == template_id)
    ).first()
    visible = row is not None and (
        principal.scope.covers(row[1]) or (not write and row[1].id in _above(principal))
    )
    if row is None or not visible:
        raise NotFoundError(
            f"Emergency template {template_id} not found",
            code="template.not_found",
            template_id=template_id,
        )
    return row[0], row[1]


def parts_of(*, session: Session, template_id: int) -> list[TemplatePart]:
    """The template's parts in order."""
    return list(
        session.exec(
            select(TemplatePart)
            .where(TemplatePart.template_id == template_id)
            .order_by(col(TemplatePart.position))
        ).all()
    )


def slot_recordings_of(*, session: Session, template_id: int) -> list[SlotRecording]:
    """The template's recorded slot values, by slot then value."""
    return list(
        session.exec(
            select(SlotRecording)
            .where(SlotRecording.template_id == template_id)
            .order_by(col(SlotRecording.slot), col(SlotRecording.value))
        ).all()
    )


def list_templates(
    *, session: Session, principal: Principal, area_code: str
) -> tuple[Area, list[tuple[EmergencyTemplate, Area]]]:
    """The templates that serve an area: its own and those of the areas above it.

    Ordered by hazard and language; for each pair the nearest area's comes first (that
    one is used).
    """
    area = get_area(session=session, code=area_code, scope=principal.scope)
    chain = ancestors(session=session, area=area)
    depth = {a.id: i for i, a in enumerate(chain)}
    rows = session.exec(
        select(EmergencyTemplate, Area)
        .join(Area, col(EmergencyTemplate.area_id) == col(Area.id))
        .where(col(EmergencyTemplate.area_id).in_(list(depth)))
    ).all()
    ordered = sorted(
        ((t, a) for t, a in rows),
        key=lambda row: (row[0].hazard, row[0].language, -depth[row[1].id]),
    )
    return area, ordered


def effective_template(
    *, session: Session, area: Area, hazard: Hazard, language: str
) -> EmergencyTemplate | None:
    """The reviewed, active template for the hazard and language nearest to `area`."""
    chain = ancestors(session=session, area=area)
    depth = {a.id: i for i, a in enumerate(chain)}
    rows = session.exec(
        select(EmergencyTemplate).where(
            col(EmergencyTemplate.area_id).in_(list(depth)),
            EmergencyTemplate.hazard == hazard,
            EmergencyTemplate.language == language,
            col(EmergencyTemplate.active),
            col(EmergencyTemplate.reviewed_at).is_not(None),
        )
    ).all()
    return max(rows, key=lambda t: depth[t.area_id], default=None)


# --- writing -----------------------------------------------------------------------------


def _record(
    session: Session, actor: User | None, action: str, template: EmergencyTemplate, **detail: object
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type="emergency_template",
        object_id=template.id or 0,
        area_id=template.area_id,
        detail=dict(detail),
    )


def _hazard(value: str) -> Hazard:
    try:
        return Hazard(value)
    except ValueError:
        raise InvalidInputError(
            f"Unknown hazard '{value[:40]}' (known: {', '.join(h.value for h in Hazard)})",
            code="template.unknown_hazard",
            hazard=value[:40],
        ) from None


def _name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise InvalidInputError(
            "A template needs a name of 1 to 200 characters", code="template.name_required"
        )
    return name


def _changed(template: EmergencyTemplate) -> None:
    """Any change to what a template sounds like: it must be reviewed again."""
    template.reviewed_at = None
    template.reviewed_by_id = None
    template.preview_sha256 = None
    template.updated_at = utcnow()


def create_template(
    *,
    session: Session,
    principal: Principal,
    area_code: str,
    hazard: str,
    language: str,
    name: str,
    active: bool = True,
) -> EmergencyTemplate:
    """An editor's new (empty, unreviewed) template for a hazard and language of the area."""
    principal.require(Role.editor)
    area = get_area(session=session, code=area_code, scope=principal.scope)
    kind = _hazard(hazard)
    row = session.get(Language, language)
    if row is None or not row.active:
        raise InvalidInputError(
            f"Unknown or inactive language '{language[:16]}'",
            code="language.unknown",
            language=language[:16],
        )
    clash = session.exec(
        select(EmergencyTemplate).where(
            EmergencyTemplate.area_id == area.id,
            EmergencyTemplate.hazard == kind,
            EmergencyTemplate.language == language,
        )
    ).first()
    if clash is not None:
        raise ConflictError(
            f"{area.name} already has a '{kind.value}' template in '{language}' "
            f"(template {clash.id})",
            code="template.exists",
            area=area.name,
            hazard=kind.value,
            language=language,
            template_id=clash.id,
        )
    template = EmergencyTemplate(
        area_id=area.id or 0,
        hazard=kind,
        language=language,
        name=_name(name),
        active=active,
        created_by_id=principal.user.id,
    )
    session.add(template)
    session.flush()
    _record(
        session, principal.user, "template.create", template, hazard=kind.value, language=language
    )
    return template


def update_template(
    *,
    session: Session,
    principal: Principal,
    template_id: int,
    name: str | None = None,
    active: bool | None = None,
) -> EmergencyTemplate:
    """Rename a template or switch it on or off (neither needs a new review)."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    changes: dict[str, object] = {}
    if name is not None:
        template.name = _name(name)
        changes["name"] = template.name
    if active is not None:
        template.active = active
        changes["active"] = active
    template.updated_at = utcnow()
    session.add(template)
    session.flush()
    _record(session, principal.user, "template.update", template, **changes)
    return template


def delete_template(*, session: Session, principal: Principal, template_id: int) -> None:
    """Remove a template with its parts and slot recordings (versions made keep their audio)."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    for part in parts_of(session=session, template_id=template_id):
        session.delete(part)
    for recording in slot_recordings_of(session=session, template_id=template_id):
        session.delete(recording)
    session.flush()
    _record(session, principal.user, "template.delete", template, name=template.name)
    session.delete(template)
    session.flush()


def set_parts(
    *, session: Session, principal: Principal, template_id: int, parts: Sequence[PartSpec]
) -> list[TemplatePart]:
    """Replace the template's parts, in order. A phrase keeps a recording by `keep_part_id`."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    if not parts or len(parts) > MAX_PARTS:
        raise InvalidInputError(
            f"A template has 1 to {MAX_PARTS} parts (got {len(parts)})",
            code="template.part_count",
            count=len(parts),
            limit=MAX_PARTS,
        )
    old = {p.id: p for p in parts_of(session=session, template_id=template_id)}
    made: list[TemplatePart] = []
    for position, spec in enumerate(parts, start=1):
        made.append(_part(spec, position, template_id, old))
    for part in old.values():
        session.delete(part)
    session.flush()  # positions are unique: the old rows go first
    for part in made:
        session.add(part)
    _changed(template)
    session.add(template)
    session.flush()
    _record(
        session,
        principal.user,
        "template.parts",
        template,
        parts=[{"kind": p.kind, "slot": p.slot} for p in made],
    )
    return made


def _part(
    spec: PartSpec, position: int, template_id: int, old: Mapping[int | None, TemplatePart]
) -> TemplatePart:
    try:
        kind = PartKind(spec.kind)
    except ValueError:
        raise InvalidInputError(
            f"Part {position}: unknown kind '{spec.kind[:20]}' (phrase, text or slot)",
            code="template.unknown_part_kind",
            position=position,
            kind=spec.kind[:20],
        ) from None
    part = TemplatePart(template_id=template_id, position=position, kind=kind)
    if kind is PartKind.slot:
        names = [s.value for s in Slot]
        if not spec.slot or spec.slot not in names:
            raise InvalidInputError(
                f"Part {position}: a slot needs a name among {', '.join(names)}",
                code="template.unknown_slot",
                position=position,
                slot=(spec.slot or "")[:32],
                slots=names,
            )
        part.slot = spec.slot
    elif kind is PartKind.text:
        text = (spec.text or "").strip()
        if not text or len(text) > MAX_TEXT_CHARS:
            raise InvalidInputError(
                f"Part {position}: a text part needs 1 to {MAX_TEXT_CHARS} characters",
                code="template.text_required",
                position=position,
                limit=MAX_TEXT_CHARS,
            )
        part.text = text
    elif spec.keep_part_id is not None:
        kept = old.get(spec.keep_part_id)
        if kept is None or kept.kind != PartKind.phrase:
            raise InvalidInputError(
                f"Part {position}: part {spec.keep_part_id} is no phrase of this template",
                code="template.unknown_part",
                position=position,
                part_id=spec.keep_part_id,
            )
        part.recording_sha256 = kept.recording_sha256
        part.audio_sha256 = kept.audio_sha256
        part.audio_bytes = kept.audio_bytes
        part.audio_duration_ms = kept.audio_duration_ms
    return part


def _level_upload(
    settings: Settings,
    synthesizer: Synthesizer,
    upload: BinaryIO,
    filename: str | None,
    language: str,
) -> tuple[str, AudioResult]:
    """Checked, levelled and published like any recording; the upload kept as sent."""
    folder = settings.media_dir / "uploads"
    tmp, upload_sha = save_upload(upload, folder, settings.max_upload_mb * 1_000_000)
    try:
        result = level_recording(settings, synthesizer, tmp, language)
        suffix = Path(filename or "").suffix.lower()[:8] or ".audio"
        keep = settings.media_dir / "recordings" / f"{upload_sha}{suffix}"
        keep.parent.mkdir(parents=True, exist_ok=True)
        if not keep.exists():
            tmp.replace(keep)
    finally:
        tmp.unlink(missing_ok=True)
    return upload_sha, result


def store_part_recording(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    template_id: int,
    position: int,
    upload: BinaryIO,
    filename: str | None,
) -> TemplatePart:
    """A phrase's recording, through the same checks and levelling as any recording."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    part = session.exec(
        select(TemplatePart).where(
            TemplatePart.template_id == template_id, TemplatePart.position == position
        )
    ).first()
    if part is None:
        raise NotFoundError(
            f"Template {template_id} has no part {position}",
            code="template.part_not_found",
            template_id=template_id,
            position=position,
        )
    if part.kind != PartKind.phrase:
        raise InvalidInputError(
            f"Part {position} is a {part.kind}, not a phrase: only phrases are recorded",
            code="template.not_phrase",
            position=position,
        )
    upload_sha, result = _level_upload(settings, synthesizer, upload, filename, template.language)
    part.recording_sha256 = upload_sha
    part.audio_sha256 = result.sha256
    part.audio_bytes = result.bytes
    part.audio_duration_ms = result.duration_ms
    session.add(part)
    _changed(template)
    session.add(template)
    session.flush()
    _record(
        session,
        principal.user,
        "template.phrase",
        template,
        position=position,
        audio_sha256=result.sha256,
        duration_ms=result.duration_ms,
    )
    return part


def slot_key(value: str) -> str:
    """How a slot value is matched to its recordings: case and tone marks aside."""
    return fold(value)[:MAX_SLOT_VALUE_CHARS]


def _slot_name(slot: str) -> str:
    names = [s.value for s in Slot]
    if slot not in names:
        raise InvalidInputError(
            f"Unknown slot '{slot[:32]}' (known: {', '.join(names)})",
            code="template.unknown_slot",
            position=0,
            slot=slot[:32],
            slots=names,
        )
    return slot


def store_slot_recording(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    template_id: int,
    slot: str,
    value: str,
    upload: BinaryIO,
    filename: str | None,
) -> SlotRecording:
    """A slot value recorded in the template's language (replaces an earlier one)."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    _slot_name(slot)
    label = " ".join(value.split())
    if not label or len(label) > MAX_SLOT_VALUE_CHARS:
        raise InvalidInputError(
            f"A slot value has 1 to {MAX_SLOT_VALUE_CHARS} characters",
            code="template.slot_value_required",
            limit=MAX_SLOT_VALUE_CHARS,
        )
    upload_sha, result = _level_upload(settings, synthesizer, upload, filename, template.language)
    key = slot_key(label)
    row = session.exec(
        select(SlotRecording).where(
            SlotRecording.template_id == template_id,
            SlotRecording.slot == slot,
            SlotRecording.value == key,
        )
    ).first()
    if row is None:
        row = SlotRecording(
            template_id=template_id,
            slot=slot,
            value=key,
            label=label,
            recording_sha256=upload_sha,
            audio_sha256=result.sha256,
            audio_bytes=result.bytes,
            audio_duration_ms=result.duration_ms,
        )
    else:
        row.label = label
        row.recording_sha256 = upload_sha
        row.audio_sha256 = result.sha256
        row.audio_bytes = result.bytes
        row.audio_duration_ms = result.duration_ms
    session.add(row)
    _changed(template)
    session.add(template)
    session.flush()
    _record(
        session,
        principal.user,
        "template.slot_recording",
        template,
        slot=slot,
        value=label,
        audio_sha256=result.sha256,
    )
    return row


def delete_slot_recording(
    *, session: Session, principal: Principal, template_id: int, recording_id: int
) -> None:
    """Forget one recorded slot value: that value is read in Vietnamese again."""
    principal.require(Role.editor)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    row = session.get(SlotRecording, recording_id)
    if row is None or row.template_id != template_id:
        raise NotFoundError(
            f"Template {template_id} has no slot recording {recording_id}",
            code="template.slot_recording_not_found",
            template_id=template_id,
            recording_id=recording_id,
        )
    session.delete(row)
    _changed(template)
    session.add(template)
    session.flush()
    _record(session, principal.user, "template.slot_recording_delete", template, slot=row.slot)


def missing_recordings(parts: Sequence[TemplatePart]) -> list[int]:
    """Positions of phrases that have no recording yet."""
    return [p.position for p in parts if p.kind == PartKind.phrase and not p.audio_sha256]


def review_template(
    *, session: Session, principal: Principal, template_id: int, now: datetime | None = None
) -> EmergencyTemplate:
    """An approver of the area, not its author, has listened: the template may air."""
    principal.require(Role.approver)
    template, _area = get_template(
        session=session, principal=principal, template_id=template_id, write=True
    )
    if template.created_by_id == principal.user.id:
        raise PermissionDeniedError(
            f"You wrote template {template_id}: another approver of the area must review it",
            code="template.self_review",
            template_id=template_id,
        )
    parts = parts_of(session=session, template_id=template_id)
    missing = missing_recordings(parts)
    if not parts or missing:
        raise InvalidInputError(
            f"Template {template_id} cannot be reviewed: "
            + (f"phrases {missing} have no recording" if parts else "it has no part"),
            code="template.incomplete",
            template_id=template_id,
            positions=missing,
        )
    template.reviewed_at = as_utc(now or utcnow())
    template.reviewed_by_id = principal.user.id
    session.add(template)
    session.flush()
    _record(session, principal.user, "template.review", template)
    return template


# --- filling in --------------------------------------------------------------------------


def local_time_text(moment: datetime, zone: ZoneInfo) -> str:
    """A moment as the Vietnamese normaliser reads it: "14:30 ngày 15/8/2031", local time."""
    local = as_utc(moment).astimezone(zone)
    return f"{local.hour}:{local.minute:02d} ngày {local.day}/{local.month}/{local.year}"


def assemble(
    *,
    session: Session,
    settings: Settings,
    synthesizer: Synthesizer,
    template: EmergencyTemplate,
    values: Mapping[str, Sequence[str]],
) -> Assembled:
    """Fill the template in with slot values, join the clips once, publish the result.

    A slot with several values (the places of an alert) is read value by value; one
    without a value is left out. Raises InvalidInputError when a phrase has no recording
    or a reading fails.
    """
    parts = parts_of(session=session, template_id=template.id or 0)
    missing = missing_recordings(parts)
    if not parts or missing:
        raise InvalidInputError(
            f"Template {template.id} cannot be filled in: "
            + (f"phrases {missing} have no recording" if parts else "it has no part"),
            code="template.incomplete",
            template_id=template.id,
            positions=missing,
        )
    recorded = {
        (r.slot, r.value): r
        for r in slot_recordings_of(session=session, template_id=template.id or 0)
    }
    area = session.get(Area, template.area_id)
    lexicon = merged_lexicon(session=session, area=area) if area else {}
    clips: list[Path] = []
    made: list[AssembledPart] = []

    def speak(text: str) -> AudioResult:
        try:
            result = synthesizer.synthesize(text, SLOT_LANGUAGE, lexicon=lexicon)
        except TTSError as exc:
            raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
        media.publish(settings, result.path, result.sha256)
        return result

    def stored(sha256: str, position: int) -> Path:
        path = media.media_path(settings, sha256)
        if not path.is_file():
            raise InvalidInputError(
                f"Template {template.id}: the audio of part {position} is missing from the "
                "media folder. Probable cause: the media folder was restored without it; "
                "upload the recording again",
                code="template.audio_missing",
                template_id=template.id,
                position=position,
            )
        return path

    for part in parts:
        if part.kind == PartKind.phrase:
            sha = part.audio_sha256 or ""
            clips.append(stored(sha, part.position))
            made.append(
                AssembledPart(
                    "phrase",
                    str(part.position),
                    "recording",
                    template.language,
                    part.audio_duration_ms or 0,
                    sha,
                )
            )
        elif part.kind == PartKind.text:
            result = speak(part.text or "")
            clips.append(result.path)
            made.append(
                AssembledPart(
                    "text",
                    part.text or "",
                    "speech",
                    SLOT_LANGUAGE,
                    result.duration_ms,
                    result.sha256,
                )
            )
        else:
            for value in values.get(part.slot or "", ()):
                value = " ".join(value.split())[:MAX_SLOT_VALUE_CHARS]
                if not value:
                    continue
                own = recorded.get((part.slot or "", slot_key(value)))
                if own is not None:
                    clips.append(stored(own.audio_sha256, part.position))
                    made.append(
                        AssembledPart(
                            "slot",
                            value,
                            "recording",
                            template.language,
                            own.audio_duration_ms,
                            own.audio_sha256,
                        )
                    )
                else:
                    result = speak(value)
                    clips.append(result.path)
                    made.append(
                        AssembledPart(
                            "slot",
                            value,
                            "speech",
                            SLOT_LANGUAGE,
                            result.duration_ms,
                            result.sha256,
                        )
                    )
    try:
        audio = synthesizer.assemble(clips, template.language, gap_ms=PART_GAP_MS)
    except TTSError as exc:
        raise InvalidInputError(str(exc), code=exc.code, **exc.fields) from exc
    media.publish(settings, audio.path, audio.sha256)
    return Assembled(template=template, audio=audio, parts=tuple(made), gap_ms=PART_GAP_MS)


def preview(
    *,
    session: Session,
    principal: Principal,
    settings: Settings,
    synthesizer: Synthesizer,
    template_id: int,
    values: Mapping[str, Sequence[str]],
) -> Assembled:
    """The template filled in with the given values, to listen to before reviewing it."""
    template, _area = get_template(session=session, principal=principal, template_id=template_id)
    for slot in values:
        _slot_name(slot)
    done = assemble(
        session=session,
        settings=settings,
        synthesizer=synthesizer,
        template=template,
        values=values,
    )
    if principal.scope.covers(_area):
        template.preview_sha256 = done.audio.sha256
        session.add(template)
        session.flush()
    return done


def template_audio(
    *, session: Session, principal: Principal, settings: Settings, template_id: int, sha256: str
) -> Path:
    """A file of the template (a phrase, a recorded slot value, its last preview)."""
    template, _area = get_template(session=session, principal=principal, template_id=template_id)
    known = {template.preview_sha256}
    known |= {p.audio_sha256 for p in parts_of(session=session, template_id=template_id)}
    known |= {r.audio_sha256 for r in slot_recordings_of(session=session, template_id=template_id)}
    path = media.media_path(settings, sha256) if media.SHA256_RE.match(sha256) else None
    if sha256 not in known or path is None or not path.is_file():
        raise NotFoundError(
            f"Template {template_id} has no audio {sha256[:64]}",
            code="template.audio_not_found",
            template_id=template_id,
        )
    return path


def fill_version(
    *,
    session: Session,
    settings: Settings,
    synthesizer: Synthesizer,
    actor: User | None,
    bulletin: Bulletin,
    template: EmergencyTemplate,
    values: Mapping[str, Sequence[str]],
    text: str | None,
) -> tuple[Translation, Assembled]:
    """The bulletin's version in the template's language, assembled from the template."""
    done = assemble(
        session=session,
        settings=settings,
        synthesizer=synthesizer,
        template=template,
        values=values,
    )
    version = bulletins.set_translation_assembled(
        session=session,
        actor=actor,
        bulletin=bulletin,
        language=template.language,
        text=text,
        template_id=template.id or 0,
        audio_sha256=done.audio.sha256,
        audio_bytes=done.audio.bytes,
        duration_ms=done.audio.duration_ms,
    )
    return version, done
