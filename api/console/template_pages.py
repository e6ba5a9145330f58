"""Emergency templates in the console ("Mẫu tin khẩn cấp"): list, write, record, preview, review.

Every change goes through broadcast.templates (the same rules as REST); recordings are
checked and levelled like any upload.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.messages import say
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import IdPath, SessionDep, SettingsDep, get_synthesizer
from api.responses import file_response
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.templates import service as templates
from broadcast.templates.models import Hazard, PartKind, Slot
from stations import registry
from stations.areas import list_areas
from stations.errors import LoaError

router = APIRouter(route_class=ConsoleRoute)

HAZARD_LABELS = {
    Hazard.flash_flood.value: "Lũ quét",
    Hazard.landslide.value: "Sạt lở đất",
    Hazard.storm.value: "Bão, áp thấp nhiệt đới",
    Hazard.forest_fire.value: "Cháy rừng",
    Hazard.epidemic.value: "Dịch bệnh",
    Hazard.other.value: "Khác",
}
SLOT_LABELS = {
    Slot.place.value: "Địa danh (các xã được cảnh báo)",
    Slot.area_name.value: "Tên địa bàn",
    Slot.time.value: "Thời điểm bắt đầu",
    Slot.expires.value: "Thời điểm kết thúc",
}
PART_LABELS = {
    PartKind.phrase.value: "Đoạn ghi âm",
    PartKind.text.value: "Lời đọc tiếng Việt",
    PartKind.slot.value: "Ô điền",
}
SOURCE_LABELS = {"recording": "bản thu", "speech": "máy đọc tiếng Việt"}


def _names(session: Session) -> dict[str, str]:
    return {lang.code: lang.name for lang in registry.list_languages(session=session)}


def _home_code(session: Session, principal: Principal) -> str | None:
    if principal.area is not None:
        return principal.area.code
    rows, _total = list_areas(session=session, scope=principal.scope, limit=1)
    return rows[0].code if rows else None


def _list_page(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    area_code: str | None,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    code = area_code or _home_code(session, principal)
    area, rows = (
        templates.list_templates(session=session, principal=principal, area_code=code)
        if code
        else (None, [])
    )
    used: set[tuple[str, str]] = set()
    listed = []
    for template, owner in rows:
        pair = (template.hazard, template.language)
        usable = template.active and template.reviewed_at is not None
        listed.append((template, owner, usable and pair not in used))
        if usable:
            used.add(pair)
    areas, _total = list_areas(session=session, scope=principal.scope, limit=500)
    return render(
        request,
        "emergency_templates.html",
        {
            "area": area,
            "areas": areas,
            "listed": listed,
            "hazards": HAZARD_LABELS,
            "names": _names(session),
            "may_edit": principal.role in (Role.admin, Role.editor),
            "error": error,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/emergency-templates", response_class=HTMLResponse)
def templates_page(
    request: Request, session: SessionDep, principal: UserDep, area: str | None = None
) -> HTMLResponse:
    """The templates serving an area (the caller's own by default), by hazard and language."""
    return _list_page(request, session, principal, area)


@router.post("/emergency-templates", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_template(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    area: Annotated[str, Form(max_length=32)] = "",
    hazard: Annotated[str, Form(max_length=32)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """A new, empty template; its parts are written on its own page."""
    try:
        template = templates.create_template(
            session=session,
            principal=principal,
            area_code=area,
            hazard=hazard,
            language=language,
            name=name,
        )
    except LoaError as exc:
        session.rollback()
        return _list_page(
            request, session, principal, area or None, error=say(exc), status_code=422
        )
    session.commit()
    return redirect(f"/emergency-templates/{template.id}", "Đã tạo mẫu tin; hãy thêm các đoạn")


def _detail(
    request: Request,
    session: Session,
    principal: Principal,
    template_id: int,
    *,
    error: str | None = None,
    preview: templates.Assembled | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    template, area = templates.get_template(
        session=session, principal=principal, template_id=template_id
    )
    parts = templates.parts_of(session=session, template_id=template_id)
    writable = principal.scope.covers(area)
    return render(
        request,
        "emergency_template.html",
        {
            "template": template,
            "area": area,
            "parts": parts,
            "recorded": templates.slot_recordings_of(session=session, template_id=template_id),
            "missing": templates.missing_recordings(parts),
            "hazards": HAZARD_LABELS,
            "slots": SLOT_LABELS,
            "kinds": PART_LABELS,
            "sources": SOURCE_LABELS,
            "names": _names(session),
            "may_edit": writable and principal.role in (Role.admin, Role.editor),
            "may_review": writable and principal.role in (Role.admin, Role.approver),
            "preview": preview,
            "error": error,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/emergency-templates/{template_id}", response_class=HTMLResponse)
def template_page(
    template_id: IdPath, request: Request, session: SessionDep, principal: UserDep
) -> HTMLResponse:
    """One template: its parts in order, recordings, preview and review."""
    return _detail(request, session, principal, template_id)


def _specs(session: Session, template_id: int) -> list[templates.PartSpec]:
    return [
        templates.PartSpec(
            kind=p.kind, slot=p.slot, text=p.text, keep_part_id=p.id if p.audio_sha256 else None
        )
        for p in templates.parts_of(session=session, template_id=template_id)
    ]


def _change(
    request: Request,
    session: Session,
    principal: Principal,
    template_id: int,
    done: str,
    action: Any,
) -> Response:
    try:
        action()
    except LoaError as exc:
        session.rollback()
        return _detail(request, session, principal, template_id, error=say(exc), status_code=422)
    session.commit()
    return redirect(f"/emergency-templates/{template_id}", done)


@router.post(
    "/emergency-templates/{template_id}/parts/add",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def add_part(
    template_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    kind: Annotated[str, Form(max_length=16)] = "",
    slot: Annotated[str, Form(max_length=32)] = "",
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Add a part at the end (a phrase to record, Vietnamese text, or a slot)."""
    new = templates.PartSpec(kind=kind, slot=slot or None, text=text or None)
    return _change(
        request,
        session,
        principal,
        template_id,
        "Đã thêm đoạn",
        lambda: templates.set_parts(
            session=session,
            principal=principal,
            template_id=template_id,
            parts=[*_specs(session, template_id), new],
        ),
    )


@router.post(
    "/emergency-templates/{template_id}/parts/{position}/{move}",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def move_part(
    template_id: IdPath,
    position: IdPath,
    move: str,
    request: Request,
    session: SessionDep,
    principal: UserDep,
) -> Response:
    """Move a part up or down, or remove it."""
    specs = _specs(session, template_id)
    index = position - 1
    if move not in ("up", "down", "remove") or not 0 <= index < len(specs):
        return _detail(
            request, session, principal, template_id, error="Không có đoạn này", status_code=404
        )
    if move == "remove":
        specs.pop(index)
    else:
        other = index - 1 if move == "up" else index + 1
        if 0 <= other < len(specs):
            specs[index], specs[other] = specs[other], specs[index]
    return _change(
        request,
        session,
        principal,
        template_id,
        "Đã xóa đoạn" if move == "remove" else "Đã đổi thứ tự",
        lambda: templates.set_parts(
            session=session, principal=principal, template_id=template_id, parts=specs
        ),
    )


@router.post(
    "/emergency-templates/{template_id}/recording/{position}",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def upload_phrase(
    template_id: IdPath,
    position: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    recording: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A phrase's recording, checked and levelled like any upload."""
    if recording is None or not recording.filename:
        return _detail(
            request, session, principal, template_id, error="Hãy chọn tệp ghi âm", status_code=422
        )
    return _change(
        request,
        session,
        principal,
        template_id,
        "Đã tải bản thu",
        lambda: templates.store_part_recording(
            session=session,
            principal=principal,
            settings=settings,
            synthesizer=get_synthesizer(request),
            template_id=template_id,
            position=position,
            upload=recording.file,
            filename=recording.filename,
        ),
    )


@router.post(
    "/emergency-templates/{template_id}/slot-recording",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def upload_slot_value(
    template_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    slot: Annotated[str, Form(max_length=32)] = "",
    value: Annotated[str, Form(max_length=300)] = "",
    recording: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """A slot value (a commune's name) recorded in the template's language."""
    if recording is None or not recording.filename:
        return _detail(
            request, session, principal, template_id, error="Hãy chọn tệp ghi âm", status_code=422
        )
    return _change(
        request,
        session,
        principal,
        template_id,
        f"Đã tải bản thu của “{value.strip()}”",
        lambda: templates.store_slot_recording(
            session=session,
            principal=principal,
            settings=settings,
            synthesizer=get_synthesizer(request),
            template_id=template_id,
            slot=slot,
            value=value,
            upload=recording.file,
            filename=recording.filename,
        ),
    )


@router.post(
    "/emergency-templates/{template_id}/review",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def review(
    template_id: IdPath, request: Request, session: SessionDep, principal: UserDep
) -> Response:
    """An approver who did not write it lets alerts use it."""
    return _change(
        request,
        session,
        principal,
        template_id,
        "Đã duyệt mẫu tin: cảnh báo sẽ dùng mẫu này",
        lambda: templates.review_template(
            session=session, principal=principal, template_id=template_id
        ),
    )


@router.post(
    "/emergency-templates/{template_id}/preview",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def preview(
    template_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    place: Annotated[str, Form(max_length=1000)] = "",
    time: Annotated[str, Form(max_length=200)] = "",
    expires: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Fill the template in with sample values and listen to it."""
    _template, area = templates.get_template(
        session=session, principal=principal, template_id=template_id
    )
    values = {
        "place": [p.strip() for p in place.split(",") if p.strip()],
        "area_name": [area.name],
        "time": [time] if time.strip() else [],
        "expires": [expires] if expires.strip() else [],
    }
    try:
        done = templates.preview(
            session=session,
            principal=principal,
            settings=settings,
            synthesizer=get_synthesizer(request),
            template_id=template_id,
            values=values,
        )
    except LoaError as exc:
        session.rollback()
        return _detail(request, session, principal, template_id, error=say(exc), status_code=422)
    session.commit()
    return _detail(request, session, principal, template_id, preview=done)


@router.get("/emergency-templates/{template_id}/audio/{sha256}.mp3")
def audio(
    template_id: IdPath,
    sha256: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
) -> Response:
    """Listen to a phrase, a recorded slot value or the last preview."""
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
