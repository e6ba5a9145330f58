"""Campaigns in the console: the list, and one campaign's progress per commune, theme and
language with the communes behind first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.web import TYPED_DAY_ERROR, ConsoleRoute, UserDep, render, typed_day
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from api.responses import campaign_report_response
from broadcast.campaigns import progress as campaign_progress
from broadcast.campaigns import report as campaign_report
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
    week: bool = False,
) -> HTMLResponse:
    """One campaign: its plan, themes, and progress in each target commune of the caller's
    area, those behind ("Chậm tiến độ") first; since its first day, or with `week` over
    the last 7 days (the targets pro-rated to them)."""
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    view = campaigns.view_of(session=session, campaign=campaign, area=area)
    now = clock()
    today = now.astimezone(settings.zone).date()
    first = max(today - timedelta(days=6), campaign.starts_on) if week else None
    if week and first is not None and first > campaign.ends_on:
        first = max(campaign.ends_on - timedelta(days=6), campaign.starts_on)
    report = campaign_progress.campaign_progress(
        session=session,
        scope=principal.scope,
        view=view,
        zone=settings.zone,
        now=now,
        first=first,
        last=min(max(today, campaign.starts_on), campaign.ends_on) if week else None,
        late_after_seconds=settings.late_after_seconds,
    )
    return render(
        request,
        "campaign.html",
        {
            "view": view,
            "report": report,
            "day": _day,
            "number": _number,
            "week": week,
            "report_first": campaign.starts_on,
            "report_last": min(max(today, campaign.starts_on), campaign.ends_on),
        },
        principal=principal,
    )


@router.get("/campaigns/{campaign_id}/report")
def campaign_report_download(
    request: Request,
    campaign_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    clock: ClockDep,
    from_: Annotated[str, Query(alias="from")] = "",
    to: str = "",
    format: str = "xlsx",  # noqa: A002
) -> Response:
    """The campaign's report of results over the days typed (dd/mm/yyyy), as XLSX or DOCX
    (the files the REST route gives)."""
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    errors: list[str] = []
    days: list[date | None] = []
    for label, text in (("Từ ngày", from_), ("Đến ngày", to)):
        try:
            days.append(typed_day(text) if text.strip() else None)
        except ValueError:
            errors.append(f"{label}: {TYPED_DAY_ERROR}")
    if format not in ("xlsx", "docx"):
        errors.append("Định dạng không hỗ trợ")
    if errors:
        return render(
            request,
            "error.html",
            {"title": "Không hợp lệ", "message": "; ".join(errors)},
            principal=principal,
            status_code=422,
        )
    report = campaign_report.campaign_report(
        session=session,
        scope=principal.scope,
        view=campaigns.view_of(session=session, campaign=campaign, area=area),
        zone=settings.zone,
        now=clock(),
        first=days[0],
        last=days[1],
        late_after_seconds=settings.late_after_seconds,
    )
    return campaign_report_response(report, format)
