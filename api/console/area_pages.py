"""An area's page: who reviews its versions in each language (own or inherited)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.messages import say
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import SessionDep
from broadcast.bulletins import reviewers
from broadcast.bulletins import service as bulletins
from broadcast.people.service import Principal
from stations import registry
from stations.areas import ancestors, get_area
from stations.errors import LoaError
from stations.models import Area

router = APIRouter(route_class=ConsoleRoute)


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    area: Area,
    *,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    own = reviewers.own_reviewers(session=session, area=area)
    languages = sorted(bulletins.aired_languages(session=session, area=area) | {"vi"} | set(own))
    return render(
        request,
        "area.html",
        {
            "area": area,
            "chain": [a for a in ancestors(session=session, area=area) if a.id != area.id],
            "languages": languages,
            "names": {lang.code: lang.name for lang in registry.list_languages(session=session)},
            "effective": reviewers.effective_reviewers(session=session, area=area),
            "own": {lang: ", ".join(u.username for u in users) for lang, users in own.items()},
            "typed": typed,
            "errors": errors or {},
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/areas/{code}", response_class=HTMLResponse)
def area_page(code: str, request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The area and its language reviewers; administrators name them here."""
    area = get_area(session=session, code=code, scope=principal.scope)
    return _page(request, session, principal, area)


@router.post(
    "/areas/{code}/language-reviewers", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def save_reviewers(
    code: str, request: Request, session: SessionDep, principal: UserDep
) -> Response:
    """Administrators name the area's reviewers per language (usernames, comma-separated)."""
    area = get_area(session=session, code=code, scope=principal.scope)
    form = await request.form()
    typed = {
        str(key).removeprefix("lang-"): str(value)
        for key, value in form.items()
        if str(key).startswith("lang-")
    }
    wanted = {
        lang: [name.strip() for name in text.replace(";", ",").split(",") if name.strip()]
        for lang, text in typed.items()
    }
    try:
        reviewers.set_reviewers(
            session=session, principal=principal, area_code=area.code, reviewers=wanted
        )
    except LoaError as exc:
        session.rollback()
        return _page(
            request, session, principal, area,
            errors={"reviewers": say(exc)}, typed=typed, status_code=422,
        )  # fmt: skip
    return redirect(f"/areas/{area.code}", "Đã lưu người duyệt theo ngôn ngữ")
