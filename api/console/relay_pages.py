"""Relay sources in the console: the live streams (VOV, the provincial radio) an area's
stations relay, listed for everyone, added and removed by editors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.messages import form_error, say
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import IdPath, SessionDep, SettingsDep
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.relays import service as relays
from stations.areas import list_areas
from stations.errors import LoaError

router = APIRouter(route_class=ConsoleRoute)

# The form's inputs for the catalogue's fields.
FORM_INPUTS = {"title": "name", "url": "url", "area": "area"}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = relays.list_sources(session=session, scope=principal.scope)
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    return render(
        request,
        "relays.html",
        {
            "sources": [(source, area, principal.scope.covers(area)) for source, area in rows],
            "area_options": [(a.code, f"{a.name} ({a.code})") for a in areas],
            "errors": errors or {},
            "form": form or {},
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/relays", response_class=HTMLResponse)
def relays_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The relay sources the caller may relay, and a form to add one."""
    return _page(request, session, principal)


@router.post("/relays", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_relay_source(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
) -> Response:
    """Add a relay source for an area of the editor's subtree."""
    principal.require(Role.editor)
    form = {"name": name, "url": url, "area": area}
    try:
        source, _ = relays.create_source(
            session=session, principal=principal, area_code=area, name=name, url=url
        )
    except LoaError as exc:
        session.rollback()
        field, text = form_error(exc, FORM_INPUTS, "url", zone=settings.zone)
        return _page(request, session, principal, errors={field: text}, form=form, status_code=422)
    session.commit()
    return redirect("/relays", f"Đã thêm nguồn tiếp âm “{source.name}”")


@router.post("/relays/{source_id}/delete", response_class=HTMLResponse, dependencies=[CsrfDep])
def delete_relay_source(
    source_id: IdPath, request: Request, session: SessionDep, principal: UserDep
) -> Response:
    """Remove a relay source no broadcast relays."""
    try:
        relays.delete_source(session=session, principal=principal, source_id=source_id)
    except LoaError as exc:
        session.rollback()
        return _page(request, session, principal, errors={"list": say(exc)}, status_code=409)
    session.commit()
    return redirect("/relays", "Đã xóa nguồn tiếp âm")
