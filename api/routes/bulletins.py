"""Bulletins, their language versions, recordings, review and approval."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from api import bulletin_schemas as bs
from api import schemas
from api.deps import (
    MAX_ID,
    IdPath,
    PrincipalDep,
    RenderWakeDep,
    SessionDep,
    SettingsDep,
    SynthesizerDep,
)
from api.responses import file_response
from broadcast.bulletins import recordings, reviewers, voices
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import (
    AudioState,
    Bulletin,
    BulletinStatus,
    Priority,
    ReviewDecision,
    SourceKind,
)
from broadcast.people.models import User
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(prefix="/bulletins", tags=["bulletins"])
VOICE = set(voices.VOICE_FIELDS)


def _username(session: Session, user_id: int | None) -> str | None:
    user = session.get(User, user_id) if user_id is not None else None
    return user.username if user else None


def _public(session: Session, bulletin: Bulletin, area: Area) -> bs.BulletinPublic:
    versions = bulletins.translations_of(session=session, bulletin_id=bulletin.id or 0)
    aired = bulletins.aired_languages(session=session, area=area)
    have = {t.language for t in versions}
    named = reviewers.effective_reviewers(session=session, area=area)
    exempt = reviewers.never_waits(session=session, bulletin=bulletin)
    required = {
        t.language: reviewers.needs_sign_off(t.language, named, exempt=exempt) for t in versions
    }
    return bs.BulletinPublic(
        id=bulletin.id or 0,
        title=bulletin.title,
        campaign=bulletin.campaign,
        campaign_id=bulletin.campaign_id,
        theme_id=bulletin.theme_id,
        category=bulletin.category,
        priority=Priority(bulletin.priority),
        status=BulletinStatus(bulletin.status),
        area_code=area.code,
        area_name=area.name,
        author=_username(session, bulletin.author_id) or "",
        reviewer=_username(session, bulletin.reviewer_id),
        reviewed_at=as_utc(bulletin.reviewed_at) if bulletin.reviewed_at else None,
        rejection_reason=bulletin.rejection_reason,
        approval_hash=bulletin.approval_hash,
        valid_from=as_utc(bulletin.valid_from) if bulletin.valid_from else None,
        valid_until=as_utc(bulletin.valid_until) if bulletin.valid_until else None,
        created_at=as_utc(bulletin.created_at),
        updated_at=as_utc(bulletin.updated_at),
        tts_engine=bulletin.tts_engine,  # type: ignore[arg-type]  # checked when written
        tts_accent=bulletin.tts_accent,  # type: ignore[arg-type]
        tts_speed=bulletin.tts_speed,
        translations=[
            bs.TranslationPublic(
                language=t.language,
                text=t.text,
                source=SourceKind(t.source),
                translator=_username(session, t.translator_id),
                review_state=reviewers.shown_state(t, required[t.language]),
                reviewer_required=required[t.language],
                reviewed_by=_username(session, t.reviewed_by_id),
                reviewed_at=as_utc(t.reviewed_at) if t.reviewed_at else None,
                review_note=t.review_note,
                audio_state=AudioState(t.audio_state),
                audio_error=t.audio_error,
                audio_sha256=t.audio_sha256,
                audio_bytes=t.audio_bytes,
                audio_duration_ms=t.audio_duration_ms,
                audio_engine=t.audio_engine,
                template_id=t.template_id,
                audio_url=(
                    f"/api/v1/bulletins/{bulletin.id}/audio/{t.language}"
                    if t.audio_state == AudioState.ready
                    else None
                ),
                content_hash=t.content_hash,
                updated_at=as_utc(t.updated_at),
            )
            for t in versions
        ],
        missing_languages=sorted(aired - have),
    )


def _get(session: Session, principal: PrincipalDep, bulletin_id: int) -> tuple[Bulletin, Area]:
    return bulletins.get_bulletin(session=session, bulletin_id=bulletin_id, scope=principal.scope)


@router.get("", response_model=schemas.Page[bs.BulletinPublic], summary="List bulletins")
def list_bulletins(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    status: BulletinStatus | None = None,
    campaign: Annotated[str | None, Query(description="Only this campaign tag")] = None,
    campaign_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only bulletins of this campaign")
    ] = None,
    theme_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only bulletins of this theme")
    ] = None,
    priority: Priority | None = None,
    language_missing: Annotated[
        str | None, Query(description="Only bulletins without a version in this language")
    ] = None,
    area_code: Annotated[str | None, Query(description="Only bulletins inside this area")] = None,
) -> schemas.Page[bs.BulletinPublic]:
    """Bulletins of the caller's subtree, newest first."""
    rows, total = bulletins.list_bulletins(
        session=session,
        scope=principal.scope,
        status=status,
        campaign=campaign,
        campaign_id=campaign_id,
        theme_id=theme_id,
        priority=priority,
        missing_language=language_missing,
        area_code=area_code,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[_public(session, b, a) for b, a in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("", response_model=bs.BulletinPublic, status_code=201, summary="Write a bulletin")
def create_bulletin(
    body: bs.BulletinCreate,
    session: SessionDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
    render_wake: RenderWakeDep,
) -> bs.BulletinPublic:
    """A draft bulletin with its first versions; their audio is rendered in the background."""
    bulletin = bulletins.create_bulletin(
        session=session,
        principal=principal,
        title=body.title,
        priority=body.priority,
        campaign=body.campaign,
        campaign_id=body.campaign_id,
        theme_id=body.theme_id,
        category=body.category,
        area_code=body.area_code,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
        translations=[
            bulletins.NewTranslation(language=t.language, text=t.text) for t in body.translations
        ],
    )
    bulletins.set_voice(
        session=session,
        principal=principal,
        bulletin=bulletin,
        changes=body.model_dump(include=VOICE, exclude_unset=True),
    )
    background.add_task(render_wake)
    bulletin, area = _get(session, principal, bulletin.id or 0)
    return _public(session, bulletin, area)


@router.get(
    "/awaiting-my-review",
    response_model=list[bs.AwaitingReviewPublic],
    summary="Versions waiting for my language sign-off",
)
def awaiting_my_review(
    session: SessionDep, principal: PrincipalDep
) -> list[bs.AwaitingReviewPublic]:
    """Versions in the caller's languages and subtree nobody has signed off, oldest first
    (at most 100; emergencies, CAP alerts, archived bulletins and own work left out)."""
    return [
        bs.AwaitingReviewPublic(
            bulletin_id=item.bulletin.id or 0,
            title=item.bulletin.title,
            area_code=item.area.code,
            language=item.version.language,
            translator=_username(session, item.version.translator_id),
            updated_at=as_utc(item.version.updated_at),
        )
        for item in reviewers.awaiting_my_review(session=session, principal=principal)
    ]


@router.get("/{bulletin_id}", response_model=bs.BulletinPublic, summary="Show a bulletin")
def get_bulletin(
    bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> bs.BulletinPublic:
    """One bulletin with its versions and the state of their audio."""
    bulletin, area = _get(session, principal, bulletin_id)
    return _public(session, bulletin, area)


@router.patch("/{bulletin_id}", response_model=bs.BulletinPublic, summary="Change a bulletin")
def update_bulletin(
    bulletin_id: IdPath, body: bs.BulletinUpdate, session: SessionDep, principal: PrincipalDep
) -> bs.BulletinPublic:
    """Change details; a new title or priority withdraws any approval."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.update_bulletin(
        session=session,
        principal=principal,
        bulletin=bulletin,
        **body.model_dump(exclude_unset=True, exclude=VOICE),
    )
    bulletins.set_voice(
        session=session,
        principal=principal,
        bulletin=bulletin,
        changes=body.model_dump(include=VOICE, exclude_unset=True),
    )
    return _public(session, bulletin, area)


@router.put(
    "/{bulletin_id}/translations/{language}",
    response_model=bs.BulletinPublic,
    summary="Write a language version",
)
def put_translation(
    bulletin_id: IdPath,
    language: str,
    body: bs.TranslationUpdate,
    session: SessionDep,
    principal: PrincipalDep,
    background: BackgroundTasks,
    render_wake: RenderWakeDep,
) -> bs.BulletinPublic:
    """Create or replace the text of a version; old audio and any approval are withdrawn."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.set_translation_text(
        session=session,
        principal=principal,
        bulletin=bulletin,
        area=area,
        language=language,
        text=body.text,
    )
    background.add_task(render_wake)
    return _public(session, bulletin, area)


@router.post(
    "/{bulletin_id}/translations/{language}/recording",
    response_model=bs.BulletinPublic,
    summary="Upload a human recording",
)
def upload_recording(
    bulletin_id: IdPath,
    language: str,
    file: UploadFile,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    synthesizer: SynthesizerDep,
) -> bs.BulletinPublic:
    """A recording (mp3, m4a, wav, ogg...) read by a person; checked and levelled at once.

    A corrupt, silent or too long file is refused with 422 and nothing is stored.
    """
    bulletin, area = recordings.store_bulletin_recording(
        session=session,
        principal=principal,
        settings=settings,
        synthesizer=synthesizer,
        bulletin_id=bulletin_id,
        language=language,
        upload=file.file,
        filename=file.filename,
    )
    return _public(session, bulletin, area)


@router.post(
    "/{bulletin_id}/translations/{language}/review",
    response_model=bs.BulletinPublic,
    summary="Sign off a language version",
)
def review_translation(
    bulletin_id: IdPath,
    language: str,
    body: bs.ReviewBody,
    session: SessionDep,
    principal: PrincipalDep,
) -> bs.BulletinPublic:
    """A language reviewer of the area approves the version or sends it back with a note.

    Never their own work; until approved, a version that needs a sign-off does not air.
    """
    bulletin, area = _get(session, principal, bulletin_id)
    reviewers.review_version(
        session=session,
        principal=principal,
        bulletin=bulletin,
        area=area,
        language=language,
        decision=ReviewDecision(body.decision),
        note=body.note,
    )
    return _public(session, bulletin, area)


@router.get(
    "/{bulletin_id}/translations/{language}/normalized",
    response_model=bs.NormalizedText,
    summary="Show the text as it will be read",
)
def normalized_text(
    bulletin_id: IdPath,
    language: str,
    session: SessionDep,
    principal: PrincipalDep,
    synthesizer: SynthesizerDep,
) -> bs.NormalizedText:
    """The version's text after the normaliser and the area's lexicon."""
    reading = recordings.reading_of(
        session=session,
        principal=principal,
        synthesizer=synthesizer,
        bulletin_id=bulletin_id,
        language=language,
    )
    return bs.NormalizedText(
        language=reading.language,
        text=reading.text,
        normalized=reading.normalized,
        lexicon=reading.lexicon,
    )


@router.get(
    "/{bulletin_id}/audio/{language}",
    summary="Listen to a version",
    response_class=Response,
    responses={200: {"content": {"audio/mpeg": {}}}},
)
def preview_audio(
    bulletin_id: IdPath,
    language: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
) -> Response:
    """The rendered audio of one version (mp3; Range supported)."""
    path, sha256 = recordings.version_audio(
        session=session,
        principal=principal,
        settings=settings,
        bulletin_id=bulletin_id,
        language=language,
    )
    return file_response(
        path,
        etag=sha256,
        range_header=request.headers.get("range"),
        if_none_match=request.headers.get("if-none-match"),
    )


@router.post("/{bulletin_id}/submit", response_model=bs.BulletinPublic, summary="Submit")
def submit(bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep) -> bs.BulletinPublic:
    """Send a draft or rejected bulletin to the area's approvers."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.submit(session=session, principal=principal, bulletin=bulletin)
    return _public(session, bulletin, area)


@router.post("/{bulletin_id}/approve", response_model=bs.BulletinPublic, summary="Approve")
def approve(bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep) -> bs.BulletinPublic:
    """Approve the exact text and audio of every version (never your own bulletin)."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.approve(session=session, principal=principal, bulletin=bulletin)
    return _public(session, bulletin, area)


@router.post("/{bulletin_id}/reject", response_model=bs.BulletinPublic, summary="Reject")
def reject(
    bulletin_id: IdPath, body: bs.RejectBody, session: SessionDep, principal: PrincipalDep
) -> bs.BulletinPublic:
    """Send a submitted bulletin back to its author with a reason."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.reject(session=session, principal=principal, bulletin=bulletin, reason=body.reason)
    return _public(session, bulletin, area)


@router.post("/{bulletin_id}/archive", response_model=bs.BulletinPublic, summary="Archive")
def archive(bulletin_id: IdPath, session: SessionDep, principal: PrincipalDep) -> bs.BulletinPublic:
    """Retire a bulletin: it no longer airs and can no longer change."""
    bulletin, area = _get(session, principal, bulletin_id)
    bulletins.archive(session=session, principal=principal, bulletin=bulletin)
    return _public(session, bulletin, area)
