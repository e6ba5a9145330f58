"""A voice announcement from the browser's microphone (or a recorded file), sent in one form.

The page records with MediaRecorder (console.js), plays the recording back, and posts it
with the form as an ordinary file: a browser without a microphone sends a file instead.
broadcast.schedule.voice does the rest, with the checks of every uploaded recording.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.messages import form_error
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import SessionDep, SettingsDep, WakeDep, get_synthesizer
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule import voice
from stations.areas import list_areas
from stations.errors import LoaError
from stations.protocol import Priority

router = APIRouter(route_class=ConsoleRoute)

PRIORITY_OPTIONS = [("normal", "Thông thường"), ("emergency", "Khẩn cấp")]
# Which input shows an error of the announcement service (by the error's field).
_INPUTS = {"title": "title", "area": "area_codes", "area_code": "area_codes"}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    form: dict[str, object],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    context = {
        "form": form,
        "errors": errors,
        "area_options": [(a.code, f"{a.name} ({a.code})") for a in areas],
        "priority_options": PRIORITY_OPTIONS,
        "airs_at_once": voice.airs_at_once(principal, Priority.emergency),
    }
    return render(request, "announce.html", context, principal=principal, status_code=status_code)


@router.get("/announce", response_class=HTMLResponse)
def announce_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The form: title, areas, priority and the recorder."""
    principal.require(Role.editor)
    form: dict[str, object] = {
        "title": "",
        "area_codes": [principal.area.code] if principal.area else [],
        "priority": "normal",
    }
    return _page(request, session, principal, form, {})


@router.post("/announce", response_class=HTMLResponse, dependencies=[CsrfDep])
def announce(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
    title: Annotated[str, Form()] = "",
    area_codes: Annotated[list[str] | None, Form()] = None,
    priority: Annotated[str, Form()] = "normal",
    recording: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Store the announcement; air it now or send it for approval (voice.announce)."""
    principal.require(Role.editor)
    form: dict[str, object] = {
        "title": title,
        "area_codes": area_codes or [],
        "priority": priority,
    }
    errors: dict[str, str] = {}
    chosen = Priority.emergency if priority == "emergency" else Priority.normal
    if priority not in ("normal", "emergency"):
        errors["priority"] = "Chọn mức ưu tiên trong danh sách"
    if recording is None or not recording.filename:
        errors["recording"] = "Hãy ghi âm hoặc chọn tệp ghi âm"
    if not errors and recording is not None:
        try:
            done = voice.announce(
                session=session,
                principal=principal,
                settings=settings,
                synthesizer=get_synthesizer(request),
                title=title,
                area_codes=area_codes or [],
                priority=chosen,
                upload=recording.file,
                filename=recording.filename,
                wake=wake,
            )
        except LoaError as exc:
            session.rollback()
            key, shown = form_error(exc, _INPUTS, default="recording")
            errors[key] = shown
        else:
            if done.broadcast is not None:
                return redirect(f"/broadcasts/{done.broadcast.id}", "Đã phát thông báo khẩn cấp")
            session.commit()
            return redirect(
                f"/bulletins/{done.bulletin.id}",
                "Đã gửi duyệt thông báo; sau khi được duyệt, hãy lên lịch phát",
            )
    return _page(request, session, principal, form, errors, status_code=422)
