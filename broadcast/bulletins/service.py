"""Bulletins and their language versions: writing, recording, review and approval.

Workflow: draft -> submitted -> approved | rejected (with reason) -> archived.
Approval covers the exact content and audio of every version (`approval_hash`);
changing any version afterwards sends the bulletin back to draft, so nothing
unapproved can air. Every transition is written to the audit log by this module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session, col, select

from broadcast.bulletins import voices
from broadcast.bulletins.models import (
    AudioState,
    Bulletin,
    BulletinStatus,
    Priority,
    ReviewState,
    SourceKind,
    Translation,
)
from broadcast.campaigns.service import check_bulletin_link
from broadcast.core import audit
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from broadcast.webhooks import events as webhook_events
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from stations.models import Area, Language, Station
from stations.timeutil import as_utc, utcnow

# Languages a bulletin may always carry: it is written in Vietnamese first.
SOURCE_LANGUAGE = "vi"
MAX_TEXT_CHARS = 20_000

EDITABLE = (BulletinStatus.draft, BulletinStatus.rejected, BulletinStatus.submitted)
# How long a client should wait before asking again to approve a bulletin whose audio
# is still being rendered (HTTP 409 with Retry-After).
AUDIO_PENDING_RETRY_SECONDS = 2
# A keyword left out of `update_bulletin` (None there means "take it away").
UNCHANGED: object = object()


@dataclass(frozen=True, slots=True)
class NewTranslation:
    """A language version given when a bulletin is created."""

    language: str
    text: str


def content_hash(text: str | None, recording_sha256: str | None) -> str:
    """sha256 of what a version's audio is made from (its text and recording)."""
    payload = json.dumps({"text": text or "", "recording": recording_sha256 or ""})
    return hashlib.sha256(payload.encode()).hexdigest()


def approval_hash(translations: Sequence[Translation]) -> str:
    """sha256 over every version's language, content and audio: what an approval covers."""
    rows = sorted((t.language, t.content_hash, t.audio_sha256 or "") for t in translations)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidInputError(
            "The text of a version cannot be empty", code="translation.empty_text"
        )
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInputError(
            f"The text has {len(text)} characters, more than the maximum of {MAX_TEXT_CHARS}. "
            "Probable cause: several bulletins pasted into one; split them",
            code="translation.text_too_long",
            length=len(text),
            limit=MAX_TEXT_CHARS,
        )
    return text


def aired_languages(*, session: Session, area: Area) -> set[str]:
    """Languages aired by at least one active station inside `area`'s subtree."""
    rows = session.exec(
        select(Station.languages)
        .join(Area, col(Station.area_id) == col(Area.id))
        .where(col(Area.path).startswith(area.path, autoescape=True), col(Station.active))
    ).all()
    return {lang for languages in rows for lang in (languages or [])}


def check_language(*, session: Session, area: Area, language: str) -> None:
    """Refuse a version in a language that is unknown or that no station of the area airs."""
    lang = session.get(Language, language)
    if lang is None or not lang.active:
        raise InvalidInputError(
            f"Unknown or inactive language '{language}'",
            code="language.unknown",
            language=language,
        )
    if language == SOURCE_LANGUAGE:
        return
    aired = aired_languages(session=session, area=area)
    if language not in aired:
        listed = ", ".join(sorted(aired)) or "none"
        raise InvalidInputError(
            f"No station in {area.name} airs '{language}' (aired there: {listed}). "
            "Probable cause: wrong language code or wrong area",
            code="language.not_aired",
            area=area.name,
            language=language,
            aired=sorted(aired),
        )


# --- reading -----------------------------------------------------------------


def get_bulletin(*, session: Session, bulletin_id: int, scope: Scope) -> tuple[Bulletin, Area]:
    """The bulletin and its area, or NotFoundError when absent or out of scope."""
    row = session.exec(
        select(Bulletin, Area)
        .join(Area, col(Bulletin.area_id) == col(Area.id))
        .where(Bulletin.id == bulletin_id, scope.clause())
    ).first()
    if row is None:
        raise NotFoundError(
            f"Bulletin {bulletin_id} not found", code="bulletin.not_found", bulletin_id=bulletin_id
        )
    return row[0], row[1]


def translations_of(*, session: Session, bulletin_id: int) -> list[Translation]:
    """The bulletin's versions, Vietnamese first, then by language code."""
    rows = session.exec(select(Translation).where(Translation.bulletin_id == bulletin_id)).all()
    return sorted(rows, key=lambda t: (t.language != SOURCE_LANGUAGE, t.language))


def get_translation(*, session: Session, bulletin: Bulletin, language: str) -> Translation:
    """One version of the bulletin, or NotFoundError."""
    row = session.exec(
        select(Translation).where(
            Translation.bulletin_id == bulletin.id, Translation.language == language
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"Bulletin {bulletin.id} has no '{language}' version",
            code="translation.not_found",
            bulletin_id=bulletin.id,
            language=language,
        )
    return row


def list_bulletins(
    *,
    session: Session,
    scope: Scope,
    status: BulletinStatus | None = None,
    campaign: str | None = None,
    campaign_id: int | None = None,
    theme_id: int | None = None,
    priority: Priority | None = None,
    missing_language: str | None = None,
    area_code: str | None = None,
    author_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[tuple[Bulletin, Area]], int]:
    """Bulletins in scope, newest first; `missing_language` keeps those without that version."""
    stmt = select(Bulletin, Area).join(Area, col(Bulletin.area_id) == col(Area.id))
    stmt = stmt.where(scope.clause())
    if author_id is not None:
        stmt = stmt.where(Bulletin.author_id == author_id)
    if status is not None:
        stmt = stmt.where(Bulletin.status == status)
    if campaign is not None:
        stmt = stmt.where(Bulletin.campaign == campaign)
    if campaign_id is not None:
        stmt = stmt.where(Bulletin.campaign_id == campaign_id)
    if theme_id is not None:
        stmt = stmt.where(Bulletin.theme_id == theme_id)
    if priority is not None:
        stmt = stmt.where(Bulletin.priority == priority)
    if area_code is not None:
        root = get_area(session=session, code=area_code, scope=scope)
        stmt = stmt.where(col(Area.path).startswith(root.path, autoescape=True))
    if missing_language is not None:
        having = select(Translation.bulletin_id).where(Translation.language == missing_language)
        stmt = stmt.where(col(Bulletin.id).not_in(having))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    rows = session.exec(stmt.order_by(col(Bulletin.id).desc()).offset(offset).limit(limit)).all()
    return [(b, a) for b, a in rows], total


# --- writing -----------------------------------------------------------------


def _record(
    session: Session, actor: User | None, action: str, bulletin: Bulletin, **detail: object
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=action,
        object_type="bulletin",
        object_id=bulletin.id or 0,
        area_id=bulletin.area_id,
        detail=dict(detail),
    )


def create_bulletin(
    *,
    session: Session,
    principal: Principal,
    title: str,
    priority: Priority = Priority.normal,
    campaign: str | None = None,
    category: str | None = None,
    area_code: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    translations: Sequence[NewTranslation] = (),
    campaign_id: int | None = None,
    theme_id: int | None = None,
) -> Bulletin:
    """A draft bulletin in the caller's area (or `area_code` inside their scope)."""
    principal.require(Role.editor)
    if area_code is not None:
        area = get_area(session=session, code=area_code, scope=principal.scope)
    elif principal.area is not None:
        area = principal.area
    else:
        raise InvalidInputError(
            "A global administrator must give the bulletin's area_code",
            code="bulletin.area_required",
        )
    if valid_from and valid_until and as_utc(valid_until) <= as_utc(valid_from):
        raise InvalidInputError(
            "valid_until must come after valid_from", code="bulletin.validity_reversed"
        )
    if not title.strip():
        raise InvalidInputError("A bulletin needs a title", code="bulletin.title_required")
    check_bulletin_link(session=session, area=area, campaign_id=campaign_id, theme_id=theme_id)
    languages = [t.language for t in translations]
    if len(set(languages)) != len(languages):
        raise InvalidInputError(
            "Each language may appear only once in translations", code="bulletin.language_twice"
        )
    texts = []
    for item in translations:
        check_language(session=session, area=area, language=item.language)
        texts.append((item.language, _check_text(item.text)))
    bulletin = Bulletin(
        title=title.strip(),
        priority=priority,
        campaign=campaign,
        campaign_id=campaign_id,
        theme_id=theme_id,
        category=category,
        author_id=principal.user.id or 0,
        area_id=area.id or 0,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    session.add(bulletin)
    session.flush()
    for language, text in texts:
        session.add(
            Translation(
                bulletin_id=bulletin.id or 0,
                language=language,
                text=text,
                translator_id=principal.user.id,
                content_hash=content_hash(text, None),
            )
        )
    session.flush()
    _record(
        session,
        principal.user,
        "bulletin.create",
        bulletin,
        title=bulletin.title,
        priority=priority.value,
        languages=languages,
    )
    return bulletin


def update_bulletin(
    *,
    session: Session,
    principal: Principal,
    bulletin: Bulletin,
    title: str | None = None,
    priority: Priority | None = None,
    campaign: str | None = None,
    category: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    campaign_id: int | None | object = UNCHANGED,
    theme_id: int | None | object = UNCHANGED,
) -> Bulletin:
    """Change a bulletin's details; an approved one goes back to draft for re-approval.

    `campaign_id` and `theme_id` given as None take the bulletin out of its campaign or
    theme; left out, they stay. Neither is part of what is approved.
    """
    principal.require(Role.editor)
    _editable(bulletin)
    changes: dict[str, object] = {}
    if campaign_id is not UNCHANGED or theme_id is not UNCHANGED:
        new_campaign = bulletin.campaign_id if campaign_id is UNCHANGED else campaign_id
        new_theme = bulletin.theme_id if theme_id is UNCHANGED else theme_id
        if campaign_id is not UNCHANGED and new_campaign != bulletin.campaign_id:
            new_theme = None if theme_id is UNCHANGED else new_theme
        area = session.get(Area, bulletin.area_id)
        if area is not None:
            check_bulletin_link(
                session=session,
                area=area,
                campaign_id=new_campaign,  # type: ignore[arg-type]
                theme_id=new_theme,  # type: ignore[arg-type]
            )
        bulletin.campaign_id = new_campaign  # type: ignore[assignment]
        bulletin.theme_id = new_theme  # type: ignore[assignment]
        changes["campaign_id"] = str(new_campaign)
        changes["theme_id"] = str(new_theme)
    for name, value in (
        ("title", title),
        ("priority", priority),
        ("campaign", campaign),
        ("category", category),
        ("valid_from", valid_from),
        ("valid_until", valid_until),
    ):
        if value is not None:
            setattr(bulletin, name, value)
            changes[name] = str(value)
    if (
        bulletin.valid_from
        and bulletin.valid_until
        and as_utc(bulletin.valid_until) <= as_utc(bulletin.valid_from)
    ):
        raise InvalidInputError(
            "valid_until must come after valid_from", code="bulletin.validity_reversed"
        )
    # Title and priority are aired/acted on: they are part of what is approved.
    if changes.keys() & {"title", "priority"}:
        _reopen(session, principal.user, bulletin, "details changed")
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(session, principal.user, "bulletin.update", bulletin, **changes)
    return bulletin


def set_voice(
    *, session: Session, principal: Principal, bulletin: Bulletin, changes: Mapping[str, object]
) -> dict[str, object]:
    """The bulletin's own voice for its Vietnamese reading at every station (editors).

    Fields left out keep their value; None gives the reading back to each station's voice.
    The voice is not part of what is approved (the words are), so an approval stands.
    """
    principal.require(Role.editor)
    _editable(bulletin)
    written = voices.set_voice(bulletin, changes)
    if written:
        bulletin.updated_at = utcnow()
        session.add(bulletin)
        session.flush()
        _record(session, principal.user, "bulletin.voice", bulletin, **written)
    return written


def _editable(bulletin: Bulletin) -> None:
    if bulletin.status == BulletinStatus.archived:
        raise ConflictError(
            f"Bulletin {bulletin.id} is archived and can no longer change",
            code="bulletin.archived",
            bulletin_id=bulletin.id,
        )


def _reopen(session: Session, actor: User | None, bulletin: Bulletin, reason: str) -> None:
    """Withdraw any approval or pending review: the bulletin must be approved again."""
    if bulletin.status in (
        BulletinStatus.approved,
        BulletinStatus.submitted,
        BulletinStatus.rejected,
    ):
        previous = bulletin.status
        bulletin.status = BulletinStatus.draft
        bulletin.approval_hash = None
        bulletin.reviewer_id = None
        bulletin.reviewed_at = None
        session.add(bulletin)
        _record(session, actor, "bulletin.reopen", bulletin, previous=str(previous), reason=reason)


def _invalidate(translation: Translation) -> None:
    translation.content_hash = content_hash(translation.text, translation.recording_sha256)
    translation.review_state = ReviewState.unreviewed
    # A language reviewer's sign-off covers the content it was given on (reviewers.py).
    translation.review_decision = None
    translation.reviewed_by_id = None
    translation.reviewed_at = None
    translation.review_note = None
    translation.audio_state = AudioState.pending
    translation.audio_error = None
    translation.audio_error_code = None
    translation.audio_error_fields = None
    translation.audio_sha256 = None
    translation.audio_bytes = None
    translation.audio_duration_ms = None
    translation.audio_engine = None
    translation.audio_content_hash = None
    translation.template_id = None
    translation.rendered_at = None
    translation.updated_at = utcnow()


def set_translation_text(
    *,
    session: Session,
    principal: Principal,
    bulletin: Bulletin,
    area: Area,
    language: str,
    text: str,
) -> Translation:
    """Create or replace a version's text; its audio is rendered again in the background."""
    principal.require(Role.editor)
    _editable(bulletin)
    check_language(session=session, area=area, language=language)
    text = _check_text(text)
    row = session.exec(
        select(Translation).where(
            Translation.bulletin_id == bulletin.id, Translation.language == language
        )
    ).first()
    if row is not None and row.text == text:
        return row  # unchanged: keep audio and approval
    if row is None:
        row = Translation(bulletin_id=bulletin.id or 0, language=language, content_hash="")
    row.text = text
    row.translator_id = principal.user.id
    if row.recording_sha256 is None:
        row.source = SourceKind.text
    _invalidate(row)
    session.add(row)
    _reopen(session, principal.user, bulletin, f"'{language}' text changed")
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(
        session,
        principal.user,
        "translation.text",
        bulletin,
        language=language,
        content_hash=row.content_hash,
    )
    return row


def set_translation_recording(
    *,
    session: Session,
    principal: Principal,
    bulletin: Bulletin,
    area: Area,
    language: str,
    upload_sha256: str,
    audio_sha256: str,
    audio_bytes: int,
    duration_ms: int,
) -> Translation:
    """Attach an already validated, broadcast-ready human recording to a version."""
    principal.require(Role.editor)
    _editable(bulletin)
    check_language(session=session, area=area, language=language)
    row = session.exec(
        select(Translation).where(
            Translation.bulletin_id == bulletin.id, Translation.language == language
        )
    ).first()
    if row is None:
        row = Translation(bulletin_id=bulletin.id or 0, language=language, content_hash="")
    row.recording_sha256 = upload_sha256
    row.source = SourceKind.recording
    row.translator_id = principal.user.id
    _invalidate(row)
    # The recording is processed in the request (to refuse bad files at once): ready now.
    row.audio_state = AudioState.ready
    row.audio_sha256 = audio_sha256
    row.audio_bytes = audio_bytes
    row.audio_duration_ms = duration_ms
    row.audio_engine = "recording"
    row.audio_content_hash = row.content_hash
    row.rendered_at = utcnow()
    session.add(row)
    _reopen(session, principal.user, bulletin, f"'{language}' recording changed")
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(
        session,
        principal.user,
        "translation.recording",
        bulletin,
        language=language,
        upload_sha256=upload_sha256,
        audio_sha256=audio_sha256,
        duration_ms=duration_ms,
    )
    return row


def set_translation_assembled(
    *,
    session: Session,
    actor: User | None,
    bulletin: Bulletin,
    language: str,
    text: str | None,
    template_id: int,
    audio_sha256: str,
    audio_bytes: int,
    duration_ms: int,
) -> Translation:
    """A version whose audio was joined from an emergency template: ready at once.

    `text` (the alert's own words in that language, if any) is kept for display only;
    what airs is the template's audio.
    """
    _editable(bulletin)
    row = session.exec(
        select(Translation).where(
            Translation.bulletin_id == bulletin.id, Translation.language == language
        )
    ).first()
    if row is None:
        row = Translation(bulletin_id=bulletin.id or 0, language=language, content_hash="")
    row.text = text
    row.recording_sha256 = None
    row.source = SourceKind.template
    row.translator_id = actor.id if actor else None
    _invalidate(row)
    row.content_hash = content_hash(text, audio_sha256)
    row.template_id = template_id
    row.audio_state = AudioState.ready
    row.audio_sha256 = audio_sha256
    row.audio_bytes = audio_bytes
    row.audio_duration_ms = duration_ms
    row.audio_engine = "template"
    row.audio_content_hash = row.content_hash
    row.rendered_at = utcnow()
    session.add(row)
    _reopen(session, actor, bulletin, f"'{language}' assembled from a template")
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(
        session,
        actor,
        "translation.template",
        bulletin,
        language=language,
        template_id=template_id,
        audio_sha256=audio_sha256,
        duration_ms=duration_ms,
    )
    return row


# --- workflow ------------------------------------------------------------------


def submit(*, session: Session, principal: Principal, bulletin: Bulletin) -> Bulletin:
    """draft or rejected -> submitted, for review by an approver of the area."""
    principal.require(Role.editor)
    if bulletin.status not in (BulletinStatus.draft, BulletinStatus.rejected):
        raise ConflictError(
            f"Bulletin {bulletin.id} is {bulletin.status}: only a draft or a rejected "
            "bulletin can be submitted",
            code="bulletin.not_submittable",
            bulletin_id=bulletin.id,
            status=str(bulletin.status),
        )
    if not translations_of(session=session, bulletin_id=bulletin.id or 0):
        raise InvalidInputError(
            f"Bulletin {bulletin.id} has no language version to review",
            code="bulletin.no_version",
            bulletin_id=bulletin.id,
        )
    bulletin.status = BulletinStatus.submitted
    bulletin.rejection_reason = None
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(session, principal.user, "bulletin.submit", bulletin)
    return bulletin


def _check_reviewer(principal: Principal, bulletin: Bulletin) -> None:
    principal.require(Role.approver)
    if bulletin.author_id == principal.user.id:
        raise PermissionDeniedError(
            f"You wrote bulletin {bulletin.id}: another approver of the area must review it",
            code="bulletin.self_approval",
            bulletin_id=bulletin.id,
        )
    if bulletin.status != BulletinStatus.submitted:
        raise ConflictError(
            f"Bulletin {bulletin.id} is {bulletin.status}: only a submitted bulletin can be "
            "approved or rejected",
            code="bulletin.not_reviewable",
            bulletin_id=bulletin.id,
            status=str(bulletin.status),
        )


def approve(*, session: Session, principal: Principal, bulletin: Bulletin) -> Bulletin:
    """submitted -> approved; covers the exact content and audio of every version."""
    _check_reviewer(principal, bulletin)
    versions = translations_of(session=session, bulletin_id=bulletin.id or 0)
    if not versions:
        raise InvalidInputError(
            f"Bulletin {bulletin.id} has no language version",
            code="bulletin.no_version",
            bulletin_id=bulletin.id,
        )
    failed = [t for t in versions if t.audio_state == AudioState.failed]
    if failed:
        reasons = "; ".join(f"{t.language}: {t.audio_error or 'unknown error'}" for t in failed)
        raise InvalidInputError(
            f"Bulletin {bulletin.id} cannot be approved: the audio of "
            f"{', '.join(t.language for t in failed)} failed ({reasons}). "
            "Probable cause: no engine speaks the language; upload a recording or fix the text",
            code="bulletin.audio_failed",
            bulletin_id=bulletin.id,
            languages=[t.language for t in failed],
        )
    pending = [t.language for t in versions if t.audio_state != AudioState.ready]
    if pending:
        raise ConflictError(
            f"Bulletin {bulletin.id} cannot be approved yet: the audio of "
            f"{', '.join(pending)} is still being rendered; listen to it first",
            code="bulletin.audio_pending",
            bulletin_id=bulletin.id,
            languages=pending,
            retry_after=AUDIO_PENDING_RETRY_SECONDS,
        )
    for t in versions:
        t.review_state = ReviewState.approved
        session.add(t)
    bulletin.status = BulletinStatus.approved
    bulletin.approval_hash = approval_hash(versions)
    bulletin.reviewer_id = principal.user.id
    bulletin.reviewed_at = utcnow()
    bulletin.rejection_reason = None
    session.add(bulletin)
    session.flush()
    _record(
        session,
        principal.user,
        "bulletin.approve",
        bulletin,
        approval_hash=bulletin.approval_hash,
        versions={t.language: t.audio_sha256 for t in versions},
    )
    webhook_events.bulletin_approved(
        session, bulletin, approved_by=principal.user.username, rule=None, now=utcnow()
    )
    return bulletin


def approve_by_rule(*, session: Session, bulletin: Bulletin, rule: str) -> Bulletin:
    """Approve a bulletin no person reviews (a CAP alert released by its area's rule).

    Every version's audio must be ready; the approval covers it exactly as `approve` does,
    and the audit log names the rule that stood in for the approver.
    """
    versions = translations_of(session=session, bulletin_id=bulletin.id or 0)
    pending = [t.language for t in versions if t.audio_state != AudioState.ready]
    if not versions or pending:
        raise ConflictError(
            f"Bulletin {bulletin.id} cannot be approved yet: the audio of "
            f"{', '.join(pending) or 'no version'} is not ready",
            code="bulletin.audio_pending",
            bulletin_id=bulletin.id,
            languages=pending,
            retry_after=AUDIO_PENDING_RETRY_SECONDS,
        )
    for t in versions:
        t.review_state = ReviewState.approved
        session.add(t)
    bulletin.status = BulletinStatus.approved
    bulletin.approval_hash = approval_hash(versions)
    bulletin.reviewer_id = None
    bulletin.reviewed_at = utcnow()
    bulletin.rejection_reason = None
    session.add(bulletin)
    session.flush()
    _record(
        session,
        None,
        "bulletin.approve",
        bulletin,
        approval_hash=bulletin.approval_hash,
        versions={t.language: t.audio_sha256 for t in versions},
        rule=rule,
    )
    webhook_events.bulletin_approved(session, bulletin, approved_by=None, rule=rule, now=utcnow())
    return bulletin


def remove_translation(*, session: Session, bulletin: Bulletin, language: str) -> None:
    """Drop one version of a bulletin not yet approved (a CAP version no engine can voice)."""
    row = get_translation(session=session, bulletin=bulletin, language=language)
    session.delete(row)
    session.flush()
    _record(session, None, "translation.remove", bulletin, language=language)


def reject(*, session: Session, principal: Principal, bulletin: Bulletin, reason: str) -> Bulletin:
    """submitted -> rejected, with the reason shown to the author."""
    _check_reviewer(principal, bulletin)
    reason = reason.strip()
    if not reason:
        raise InvalidInputError(
            "A rejection needs a reason the author can act on",
            code="bulletin.rejection_reason_required",
        )
    for t in translations_of(session=session, bulletin_id=bulletin.id or 0):
        t.review_state = ReviewState.rejected
        session.add(t)
    bulletin.status = BulletinStatus.rejected
    bulletin.rejection_reason = reason
    bulletin.reviewer_id = principal.user.id
    bulletin.reviewed_at = utcnow()
    bulletin.approval_hash = None
    session.add(bulletin)
    session.flush()
    _record(session, principal.user, "bulletin.reject", bulletin, reason=reason)
    return bulletin


def archive(*, session: Session, principal: Principal, bulletin: Bulletin) -> Bulletin:
    """Any state -> archived: the bulletin no longer airs and can no longer change."""
    principal.require(Role.editor, Role.approver)
    _editable(bulletin)
    previous = bulletin.status
    bulletin.status = BulletinStatus.archived
    bulletin.updated_at = utcnow()
    session.add(bulletin)
    session.flush()
    _record(session, principal.user, "bulletin.archive", bulletin, previous=str(previous))
    return bulletin


# --- airing --------------------------------------------------------------------


def is_airable(bulletin: Bulletin, versions: Sequence[Translation]) -> bool:
    """True when the bulletin is approved and nothing changed since its approval."""
    return (
        bulletin.status == BulletinStatus.approved
        and bulletin.approval_hash is not None
        and all(t.audio_state == AudioState.ready for t in versions)
        and approval_hash(versions) == bulletin.approval_hash
    )


def valid_at_clause(at: datetime) -> ColumnElement[bool]:
    """A WHERE clause keeping bulletins whose validity window contains `at`."""
    return and_(
        or_(col(Bulletin.valid_from).is_(None), col(Bulletin.valid_from) <= at),
        or_(col(Bulletin.valid_until).is_(None), col(Bulletin.valid_until) > at),
    )
