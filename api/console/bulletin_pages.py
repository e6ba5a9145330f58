"""Bulletins: list with filters, the editor (one tab per language), review and history.

Every change goes through broadcast.bulletins (the workflow rules) and, for audio,
broadcast.recordings: the same service functions the REST API calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.campaign_pages import campaign_options
from api.console.forms import BulletinForm, VoiceForm, parse_campaign_theme
from api.console.messages import form_error, say
from api.console.station_pages import ACCENT_OPTIONS, ENGINE_OPTIONS, decimal_comma
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import IdPath, RenderWakeDep, SessionDep, SettingsDep, get_synthesizer
from api.responses import file_response
from broadcast.bulletins import lexicon, recordings, reviewers
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import (
    Bulletin,
    BulletinStatus,
    Priority,
    ReviewDecision,
    Translation,
)
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.models import Role, User
from broadcast.people.service import Principal
from stations import registry
from stations.areas import list_areas
from stations.errors import LoaError
from stations.models import AreaLevel
from tts.normalizer import Piece, rewritten_pieces

router = APIRouter(route_class=ConsoleRoute)

STATUS_OPTIONS = [
    ("", "Mọi trạng thái"),
    ("draft", "Bản nháp"),
    ("submitted", "Chờ duyệt"),
    ("approved", "Đã duyệt"),
    ("rejected", "Bị từ chối"),
    ("archived", "Lưu trữ"),
]
PRIORITY_OPTIONS = [("normal", "Thông thường"), ("priority", "Ưu tiên"), ("emergency", "Khẩn cấp")]

ACTION_LABELS = {
    "bulletin.create": "Tạo bản tin",
    "bulletin.update": "Sửa thông tin",
    "bulletin.voice": "Đổi giọng đọc",
    "bulletin.submit": "Gửi duyệt",
    "bulletin.approve": "Duyệt",
    "bulletin.reject": "Từ chối",
    "bulletin.reopen": "Trở lại bản nháp",
    "bulletin.archive": "Lưu trữ",
    "translation.text": "Sửa nội dung",
    "translation.recording": "Tải bản ghi âm",
    "translation.rendered": "Đã tạo âm thanh",
    "translation.render_failed": "Tạo âm thanh lỗi",
    "translation.remove": "Bỏ bản không đọc được (cảnh báo CAP)",
    "translation.review": "Duyệt ngôn ngữ",
}


def _language_names(session: Session) -> dict[str, str]:
    return {lang.code: lang.name for lang in registry.list_languages(session=session)}


@router.get("/bulletins", response_class=HTMLResponse)
def bulletins_page(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    status: str = "",
    priority: str = "",
    campaign: str = "",
    campaign_theme: str = "",
    missing: str = "",
) -> HTMLResponse:
    """Bulletins of the caller's area, newest first, with filters."""
    campaign_id, theme_id = parse_campaign_theme(campaign_theme) or (None, None)
    rows, total = bulletins.list_bulletins(
        session=session,
        scope=principal.scope,
        status=BulletinStatus(status) if status in BulletinStatus.__members__ else None,
        priority=Priority(priority) if priority in Priority.__members__ else None,
        campaign=campaign.strip() or None,
        campaign_id=campaign_id,
        theme_id=theme_id,
        missing_language=missing or None,
        limit=200,
    )
    names = _language_names(session)
    return render(
        request,
        "bulletins.html",
        {
            "rows": rows,
            "total": total,
            "filters": {
                "status": status,
                "priority": priority,
                "campaign": campaign,
                "campaign_theme": campaign_theme,
                "missing": missing,
            },
            "campaign_options": campaign_options(session, principal, "Mọi chiến dịch"),
            "status_options": STATUS_OPTIONS,
            "priority_options": [("", "Mọi mức")] + PRIORITY_OPTIONS,
            "language_options": [("", "—")] + list(names.items()),
            "errors": {},
        },
        principal=principal,
    )


def _new_context(session: Session, principal: Principal) -> dict[str, object]:
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    return {
        "priority_options": PRIORITY_OPTIONS,
        "area_options": [("", "Địa bàn của tôi")]
        + [(a.code, f"{a.name} ({a.code})") for a in areas if a.level != AreaLevel.village],
        "campaign_options": campaign_options(session, principal, "Không thuộc chiến dịch nào"),
    }


@router.get("/bulletins/new", response_class=HTMLResponse)
def new_bulletin_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The form to write a bulletin."""
    principal.require(Role.editor)
    context = _new_context(session, principal) | {"errors": {}, "form": {"priority": "normal"}}
    return render(request, "bulletin_new.html", context, principal=principal)


@router.post("/bulletins/new", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_bulletin(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    render_wake: RenderWakeDep,
    form: Annotated[BulletinForm, Form()],
) -> Response:
    """Create a draft with its Vietnamese text; the audio is rendered in the background."""
    principal.require(Role.editor)
    errors = form.problems(needs_area=principal.area is None)
    if not errors:
        campaign_id, theme_id = parse_campaign_theme(form.campaign_theme) or (None, None)
        try:
            bulletin = bulletins.create_bulletin(
                session=session,
                principal=principal,
                title=form.title,
                priority=Priority(form.priority),
                campaign=form.campaign.strip() or None,
                area_code=form.area_code or None,
                translations=[bulletins.NewTranslation(language="vi", text=form.text)],
                campaign_id=campaign_id,
                theme_id=theme_id,
            )
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(
                exc,
                {
                    "text": "text",
                    "area": "area_code",
                    "title": "title",
                    "bulletin": "campaign_theme",
                },
                default="title",
            )
            errors[key] = shown
        else:
            session.commit()
            render_wake()
            return redirect(f"/bulletins/{bulletin.id}", "Đã lưu bản nháp")
    context = _new_context(session, principal) | {"errors": errors, "form": form.shown()}
    return render(request, "bulletin_new.html", context, principal=principal, status_code=422)


def _editor(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    bulletin_id: int,
    lang: str | None,
    *,
    errors: dict[str, str] | None = None,
    draft_text: str | None = None,
    status_code: int = 200,
    voice_form: dict[str, object] | None = None,
) -> HTMLResponse:
    bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    versions = bulletins.translations_of(session=session, bulletin_id=bulletin_id)
    have = [t.language for t in versions]
    aired = sorted(bulletins.aired_languages(session=session, area=area) | {"vi"})
    tabs = have + [code for code in aired if code not in have]
    current = lang if lang in tabs else (tabs[0] if tabs else "vi")
    version = next((t for t in versions if t.language == current), None)
    normalized = None
    pieces: list[Piece] = []
    if version is not None and version.text:
        try:
            reading = recordings.reading_of(
                session=session,
                principal=principal,
                synthesizer=get_synthesizer(request),
                bulletin_id=bulletin_id,
                language=current,
            )
        except LoaError as exc:
            normalized = say(exc)
        else:
            normalized = reading.normalized
            pieces = rewritten_pieces(reading.text, reading.normalized)
    events, _ = audit.list_events(
        session=session,
        scope=principal.scope,
        object_type="bulletin",
        object_id=str(bulletin_id),
        limit=100,
    )
    named = reviewers.effective_reviewers(session=session, area=area)
    exempt = reviewers.never_waits(session=session, bulletin=bulletin)
    language_reviews = [
        LanguageReview(
            version=t,
            required=reviewers.needs_sign_off(t.language, named, exempt=exempt),
            named=named.get(t.language),
            reviewed_by=session.get(User, t.reviewed_by_id) if t.reviewed_by_id else None,
        )
        for t in versions
        if t.language in named or t.review_decision is not None
    ]
    me = principal.user.id
    can_review = (
        version is not None
        and current in named
        and me in {u.id for u in named[current].users}
        and version.translator_id != me
        and bulletin.status != BulletinStatus.archived
    )
    return render(
        request,
        "bulletin.html",
        {
            "bulletin": bulletin,
            "area": area,
            "versions": versions,
            "tabs": tabs,
            "current": current,
            "version": version,
            "normalized": normalized,
            "pieces": pieces,
            # What an editor may give a reading for in one step (a lexicon term).
            "rewritten": sorted({p.written for p in pieces if p.written and len(p.written) <= 100}),
            "names": _language_names(session),
            "detail_labels": HISTORY_DETAIL_LABELS,
            "events": events,
            "action_labels": ACTION_LABELS,
            "language_reviews": language_reviews,
            "can_review": can_review,
            "decision_labels": DECISION_LABELS,
            "errors": errors or {},
            "draft_text": draft_text,
            "editable": bulletin.status != BulletinStatus.archived,
            "voice_form": voice_form or _voice_form(bulletin),
            "engine_options": [("", "Theo từng đài"), *ENGINE_OPTIONS[1:]],
            "accent_options": [("", "Theo từng đài"), *ACCENT_OPTIONS[1:]],
        },
        principal=principal,
        status_code=status_code,
    )


@dataclass(frozen=True, slots=True)
class LanguageReview:
    """One version's language sign-off as the bulletin page shows it."""

    version: Translation
    required: bool  # a reviewer is named and the bulletin is no emergency
    named: reviewers.Reviewers | None
    reviewed_by: User | None

    @property
    def waiting(self) -> bool:
        """The version does not air until a reviewer approves it."""
        return self.required and not reviewers.signed_off(self.version)


DECISION_LABELS = {"approved": "Đã duyệt", "changes_requested": "Trả lại người dịch"}


def _voice_form(bulletin: Bulletin) -> dict[str, object]:
    """The bulletin's own voice fields as the form shows them (empty: each station's)."""
    return {
        "tts_engine": bulletin.tts_engine or "",
        "tts_accent": bulletin.tts_accent or "",
        "tts_speed": decimal_comma(bulletin.tts_speed) if bulletin.tts_speed is not None else "",
    }


@router.post("/bulletins/{bulletin_id}/voice", response_class=HTMLResponse, dependencies=[CsrfDep])
def update_voice(
    bulletin_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    form: Annotated[VoiceForm, Form()],
) -> Response:
    """Read the bulletin's Vietnamese version in one voice at every station (editors)."""
    bulletin, _area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    errors = form.problems()
    if not errors:
        try:
            bulletins.set_voice(
                session=session, principal=principal, bulletin=bulletin, changes=form.changes()
            )
        except LoaError as exc:
            session.rollback()
            errors["tts_speed"] = say(exc)
        else:
            return redirect(f"/bulletins/{bulletin_id}?lang=vi", "Đã lưu giọng đọc của bản tin")
    return _editor(
        request, session, settings, principal, bulletin_id, "vi",
        errors=errors, status_code=422, voice_form=form.shown(),
    )  # fmt: skip


# The details of a history entry shown, by their key in the audit log.
HISTORY_DETAIL_LABELS = {
    "language": "ngôn ngữ",
    "decision": "kết quả",
    "note": "ghi chú",
    "reason": "lý do",
    "previous": "trước đó",
    "title": "tiêu đề",
}


@router.get("/bulletins/{bulletin_id}", response_class=HTMLResponse)
def bulletin_page(
    bulletin_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    lang: str | None = None,
) -> HTMLResponse:
    """The editor: a tab per language, how it will be read, the audio, review and history."""
    return _editor(request, session, settings, principal, bulletin_id, lang)


@router.post(
    "/bulletins/{bulletin_id}/text/{language}", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def save_text(
    bulletin_id: IdPath,
    language: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    render_wake: RenderWakeDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Write a version's text (any approval is withdrawn by the workflow)."""
    bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    if not text.strip():
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"text": "Nội dung không được để trống"}, draft_text=text, status_code=422,
        )  # fmt: skip
    try:
        bulletins.set_translation_text(
            session=session,
            principal=principal,
            bulletin=bulletin,
            area=area,
            language=language,
            text=text,
        )
    except LoaError as exc:
        session.rollback()
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"text": say(exc)}, draft_text=text, status_code=422,
        )  # fmt: skip
    session.commit()
    render_wake()
    return redirect(f"/bulletins/{bulletin_id}?lang={language}", "Đã lưu nội dung")


@router.post(
    "/bulletins/{bulletin_id}/recording/{language}",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def upload_recording(
    bulletin_id: IdPath,
    language: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    recording: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload a human recording for a version (checked and levelled like the API does)."""
    if recording is None or not recording.filename:
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"recording": "Hãy chọn tệp ghi âm"}, status_code=422,
        )  # fmt: skip
    try:
        recordings.store_bulletin_recording(
            session=session,
            principal=principal,
            settings=settings,
            synthesizer=get_synthesizer(request),
            bulletin_id=bulletin_id,
            language=language,
            upload=recording.file,
            filename=recording.filename,
        )
    except LoaError as exc:
        session.rollback()
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"recording": say(exc)}, status_code=422,
        )  # fmt: skip
    return redirect(f"/bulletins/{bulletin_id}?lang={language}", "Đã tải bản ghi âm")


@router.get("/bulletins/{bulletin_id}/audio/{language}")
def audio(
    bulletin_id: IdPath,
    language: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
) -> Response:
    """Listen to a version (the API's preview, behind the console session)."""
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


@router.post(
    "/bulletins/{bulletin_id}/language-review/{language}",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def language_review(
    bulletin_id: IdPath,
    language: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    decision: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A language reviewer approves the version or sends it back to its translator."""
    bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    if decision not in DECISION_LABELS:
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"review": "Hãy chọn duyệt hoặc trả lại"}, status_code=422,
        )  # fmt: skip
    try:
        reviewers.review_version(
            session=session,
            principal=principal,
            bulletin=bulletin,
            area=area,
            language=language,
            decision=ReviewDecision(decision),
            note=note,
        )
    except LoaError as exc:
        session.rollback()
        return _editor(
            request, session, settings, principal, bulletin_id, language,
            errors={"review": say(exc)}, status_code=422,
        )  # fmt: skip
    done = "Đã duyệt bản" if decision == "approved" else "Đã trả lại bản"
    shown = _language_names(session).get(language, language)
    return redirect(f"/bulletins/{bulletin_id}?lang={language}", f"{done} {shown}")


@router.post(
    "/bulletins/{bulletin_id}/lexicon", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def add_reading(
    bulletin_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    render_wake: RenderWakeDep,
    term: Annotated[str, Form(max_length=200)] = "",
    reading: Annotated[str, Form(max_length=500)] = "",
    lang: Annotated[str, Form(max_length=16)] = "vi",
) -> Response:
    """From the highlighted reading: how the bulletin's area reads a written term."""
    _bulletin, area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    try:
        lexicon.add_reading(
            session=session, principal=principal, area=area, term=term, reading=reading
        )
    except LoaError as exc:
        session.rollback()
        return _editor(
            request, session, settings, principal, bulletin_id, lang,
            errors={"reading": say(exc)}, status_code=422,
        )  # fmt: skip
    session.commit()
    render_wake()
    return redirect(
        f"/bulletins/{bulletin_id}?lang={lang}",
        f"Đã lưu cách đọc “{term.strip()}” cho {area.name}; bản tin được đọc lại",
    )


@router.post(
    "/bulletins/{bulletin_id}/{action}", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def workflow(
    bulletin_id: IdPath,
    action: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    reason: Annotated[str, Form()] = "",
    lang: Annotated[str, Form()] = "",
) -> Response:
    """Submit, approve, reject (with a reason) or archive."""
    bulletin, _area = bulletins.get_bulletin(
        session=session, bulletin_id=bulletin_id, scope=principal.scope
    )
    done = {
        "submit": "Đã gửi duyệt",
        "approve": "Đã duyệt bản tin",
        "reject": "Đã từ chối bản tin",
        "archive": "Đã lưu trữ bản tin",
    }
    if action not in done:
        return render(
            request,
            "error.html",
            {"title": "Không tìm thấy", "message": "Thao tác không tồn tại"},
            principal=principal,
            status_code=404,
        )
    if action == "reject" and not reason.strip():
        return _editor(
            request, session, settings, principal, bulletin_id, lang or None,
            errors={"reason": "Hãy ghi lý do từ chối để người viết sửa"}, status_code=422,
        )  # fmt: skip
    try:
        if action == "submit":
            bulletins.submit(session=session, principal=principal, bulletin=bulletin)
        elif action == "approve":
            bulletins.approve(session=session, principal=principal, bulletin=bulletin)
        elif action == "reject":
            bulletins.reject(session=session, principal=principal, bulletin=bulletin, reason=reason)
        else:
            bulletins.archive(session=session, principal=principal, bulletin=bulletin)
    except LoaError as exc:
        session.rollback()
        return _editor(
            request, session, settings, principal, bulletin_id, lang or None,
            errors={"workflow": say(exc)}, status_code=422,
        )  # fmt: skip
    return redirect(f"/bulletins/{bulletin_id}", done[action])
