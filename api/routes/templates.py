"""Emergency templates of an area: parts, phrase and slot recordings, preview, review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, Response, UploadFile
from sqlmodel import Session

from api import template_schemas as ts
from api.deps import IdPath, PrincipalDep, SessionDep, SettingsDep, SynthesizerDep
from api.responses import file_response
from broadcast.people.service import Principal
from broadcast.templates import service as templates
from broadcast.templates.models import EmergencyTemplate
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(tags=["emergency templates"])

Sha256Path = Annotated[str, Path(max_length=64, description="The file's sha256")]


def _audio_url(template_id: int, sha256: str) -> str:
    return f"/api/v1/emergency-templates/{template_id}/audio/{sha256}.mp3"


def template_public(session: Session, template: EmergencyTemplate, area: Area) -> ts.TemplatePublic:
    """A template as shown."""
    tid = template.id or 0
    parts = templates.parts_of(session=session, template_id=tid)
    recorded = templates.slot_recordings_of(session=session, template_id=tid)
    return ts.TemplatePublic(
        id=tid,
        area_code=area.code,
        area_name=area.name,
        hazard=template.hazard,
        language=template.language,
        name=template.name,
        active=template.active,
        reviewed=template.reviewed_at is not None,
        reviewed_by_id=template.reviewed_by_id,
        reviewed_at=as_utc(template.reviewed_at) if template.reviewed_at else None,
        created_by_id=template.created_by_id,
        missing_recordings=templates.missing_recordings(parts),
        parts=[
            ts.PartPublic(
                id=p.id or 0,
                position=p.position,
                kind=p.kind,
                slot=p.slot,
                text=p.text,
                recorded=p.audio_sha256 is not None,
                duration_ms=p.audio_duration_ms,
                audio_url=_audio_url(tid, p.audio_sha256) if p.audio_sha256 else None,
            )
            for p in parts
        ],
        slot_recordings=[
            ts.SlotRecordingPublic(
                id=r.id or 0,
                slot=r.slot,
                value=r.label,
                duration_ms=r.audio_duration_ms,
                audio_url=_audio_url(tid, r.audio_sha256),
            )
            for r in recorded
        ],
        created_at=as_utc(template.created_at),
        updated_at=as_utc(template.updated_at),
    )


def _shown(session: Session, principal: Principal, template_id: int) -> ts.TemplatePublic:
    template, area = templates.get_template(
        session=session, principal=principal, template_id=template_id
    )
    return template_public(session, template, area)


@router.get(
    "/areas/{code}/emergency-templates",
    response_model=list[ts.TemplateListed],
    summary="List the templates serving an area",
)
def list_templates(
    code: str, session: SessionDep, principal: PrincipalDep
) -> list[ts.TemplateListed]:
    """The area's own templates and those of the areas above it, by hazard and language."""
    area, rows = templates.list_templates(session=session, principal=principal, area_code=code)
    used: set[tuple[str, str]] = set()
    shown = []
    for template, owner in rows:
        pair = (template.hazard, template.language)
        usable = template.active and template.reviewed_at is not None
        is_used = usable and pair not in used
        if is_used:
            used.add(pair)
        shown.append(
            ts.TemplateListed(
                id=template.id or 0,
                area_code=owner.code,
                hazard=template.hazard,
                language=template.language,
                name=template.name,
                active=template.active,
                reviewed=template.reviewed_at is not None,
                inherited=owner.id != area.id,
                used=is_used,
            )
        )
    return shown


@router.post(
    "/areas/{code}/emergency-templates",
    response_model=ts.TemplatePublic,
    status_code=201,
    summary="Create an emergency template",
)
def create_template(
    code: str, body: ts.TemplateCreate, session: SessionDep, principal: PrincipalDep
) -> ts.TemplatePublic:
    """Editors add a template for a hazard and a language; its parts come next."""
    template = templates.create_template(
        session=session,
        principal=principal,
        area_code=code,
        hazard=body.hazard.value,
        language=body.language,
        name=body.name,
        active=body.active,
    )
    return _shown(session, principal, template.id or 0)


@router.get(
    "/emergency-templates/{template_id}",
    response_model=ts.TemplatePublic,
    summary="Show an emergency template",
)
def get_template(
    template_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> ts.TemplatePublic:
    """A template of the caller's subtree or of an area above it."""
    return _shown(session, principal, template_id)


@router.patch(
    "/emergency-templates/{template_id}",
    response_model=ts.TemplatePublic,
    summary="Rename or switch a template on or off",
)
def update_template(
    template_id: IdPath, body: ts.TemplateUpdate, session: SessionDep, principal: PrincipalDep
) -> ts.TemplatePublic:
    """Editors rename a template or set `active`."""
    templates.update_template(
        session=session,
        principal=principal,
        template_id=template_id,
        name=body.name,
        active=body.active,
    )
    return _shown(session, principal, template_id)


@router.delete("/emergency-templates/{template_id}", status_code=204, summary="Delete a template")
def delete_template(template_id: IdPath, session: SessionDep, principal: PrincipalDep) -> Response:
    """Editors remove a template of their subtree (versions made from it keep their audio)."""
    templates.delete_template(session=session, principal=principal, template_id=template_id)
    return Response(status_code=204)


@router.put(
    "/emergency-templates/{template_id}/parts",
    response_model=ts.TemplatePublic,
    summary="Set a template's parts",
)
def set_parts(
    template_id: IdPath, body: ts.PartsIn, session: SessionDep, principal: PrincipalDep
) -> ts.TemplatePublic:
    """The parts in airing order; the template must be reviewed again."""
    templates.set_parts(
        session=session,
        principal=principal,
        template_id=template_id,
        parts=[
            templates.PartSpec(
                kind=p.kind.value,
                slot=p.slot.value if p.slot else None,
                text=p.text,
                keep_part_id=p.keep_part_id,
            )
            for p in body.parts
        ],
    )
    return _shown(session, principal, template_id)


@router.post(
    "/emergency-templates/{template_id}/parts/{position}/recording",
    response_model=ts.TemplatePublic,
    summary="Upload a phrase's recording",
)
def upload_phrase(
    template_id: IdPath,
    position: IdPath,
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
) -> ts.TemplatePublic:
    """A phrase read by a speaker of the language; checked and levelled like any recording."""
    templates.store_part_recording(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        template_id=template_id,
        position=position,
        upload=file.file,
        filename=file.filename,
    )
    return _shown(session, principal, template_id)


@router.post(
    "/emergency-templates/{template_id}/slots/{slot}/recordings",
    response_model=ts.TemplatePublic,
    summary="Upload a slot value's recording",
)
def upload_slot_value(
    template_id: IdPath,
    slot: Annotated[str, Path(max_length=32)],
    value: Annotated[str, Form(min_length=1, max_length=200)],
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
) -> ts.TemplatePublic:
    """A slot's value (form field `value`, e.g. a commune's name) read in the language."""
    templates.store_slot_recording(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        template_id=template_id,
        slot=slot,
        value=value,
        upload=file.file,
        filename=file.filename,
    )
    return _shown(session, principal, template_id)


@router.delete(
    "/emergency-templates/{template_id}/slot-recordings/{recording_id}",
    response_model=ts.TemplatePublic,
    summary="Remove a slot value's recording",
)
def delete_slot_value(
    template_id: IdPath, recording_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> ts.TemplatePublic:
    """That value is read in Vietnamese again."""
    templates.delete_slot_recording(
        session=session, principal=principal, template_id=template_id, recording_id=recording_id
    )
    return _shown(session, principal, template_id)


@router.post(
    "/emergency-templates/{template_id}/preview",
    response_model=ts.PreviewPublic,
    summary="Fill a template in, to listen to it",
)
def preview(
    template_id: IdPath,
    body: ts.PreviewIn,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
) -> ts.PreviewPublic:
    """The template with these slot values, as an alert would air it (`audio_url`)."""
    done = templates.preview(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        template_id=template_id,
        values={slot.value: items for slot, items in body.values.items()},
    )
    return ts.PreviewPublic(
        audio_url=_audio_url(template_id, done.audio.sha256),
        sha256=done.audio.sha256,
        duration_ms=done.audio.duration_ms,
        gap_ms=done.gap_ms,
        parts=[
            ts.AssembledPartPublic(
                kind=p.kind,
                label=p.label,
                source=p.source,
                language=p.language,
                duration_ms=p.duration_ms,
            )
            for p in done.parts
        ],
    )


@router.post(
    "/emergency-templates/{template_id}/review",
    response_model=ts.TemplatePublic,
    summary="Mark a template reviewed",
)
def review(template_id: IdPath, session: SessionDep, principal: PrincipalDep) -> ts.TemplatePublic:
    """An approver of the area, not its author, lets alerts use it."""
    templates.review_template(session=session, principal=principal, template_id=template_id)
    return _shown(session, principal, template_id)


@router.get(
    "/emergency-templates/{template_id}/audio/{sha256}.mp3",
    summary="Play a template's phrase, slot value or preview",
    response_class=Response,
)
def template_audio(
    template_id: IdPath,
    sha256: Sha256Path,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    """The mp3 of one of the template's recordings or of its last preview (Range supported)."""
    path = templates.template_audio(
        session=session,
        principal=principal,
        settings=settings,
        template_id=template_id,
        sha256=sha256,
    )
    return file_response(
        path,
        etag=sha256,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
    )
