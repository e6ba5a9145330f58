"""Campaigns in the console: the list, and one campaign's progress per commune, theme and
language with the communes behind first."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.console.web import ConsoleRoute, UserDep, render
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from broadcast.campaigns import progress as campaign_progress
from broadcast.campaigns import service as campaigns
from broadcast.people.service import Principal

router = APIRouter(route_class=ConsoleRoute)


def _day(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def _number(value: float | None) -> str:
    """A figure the Vietnamese way (decimal comma); a dash when there is no target."""
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",").removesuffix(",0")


def campaign_options(session: Session, principal: Principal, empty: str) -> list[tuple[str, str]]:
    """A select of the campaigns the caller sees, each alone ("12") and with each of its
    themes ("12-5"), for the bulletin and schedule forms (forms.parse_campaign_theme)."""
    rows = campaigns.list_campaigns(session=session, scope=principal.scope)
    themes = campaigns.themes_of(session=session, campaign_ids=[c.id or 0 for c, _ in rows])
    options = [("", empty)]
    for c, _ in rows:
        options.append((str(c.id), f"{c.name} (chưa chọn nội dung)"))
        options += [
            (f"{c.id}-{t.id}", f"{c.name} – {t.name}") for t in themes if t.campaign_id == c.id
        ]
    return options


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """Campaigns of the caller's area and of the areas above it, the latest first."""
    rows = campaigns.list_campaigns(session=session, scope=principal.scope)
    return render(
        request,
        "campaigns.html",
        {"rows": rows, "day": _day},
        principal=principal,
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    campaign_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    clock: ClockDep,
) -> HTMLResponse:
    """One campaign: its plan, themes, and progress in each target commune of the caller's
    area, those behind ("Chậm tiến độ") first."""
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    view = campaigns.view_of(session=session, campaign=campaign, area=area)
    report = campaign_progress.campaign_progress(
        session=session,
        scope=principal.scope,
        view=view,
        zone=settings.zone,
        now=clock(),
        late_after_seconds=settings.late_after_seconds,
    )
    return render(
        request,
        "campaign.html",
        {"view": view, "report": report, "day": _day, "number": _number},
        principal=principal,
    )
