"""Campaigns: a plan's themes, target areas and targets, and its progress."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlmodel import Session

from api import campaign_schemas as cs
from api.deps import ClockDep, IdPath, PrincipalDep, SessionDep, SettingsDep
from api.responses import DOCX, XLSX, campaign_report_response
from broadcast.campaigns import progress as campaign_progress
from broadcast.campaigns import report as campaign_report
from broadcast.campaigns import service as campaigns
from broadcast.campaigns.models import Campaign
from stations.models import Area
from stations.timeutil import as_utc

router = APIRouter(prefix="/campaigns", tags=["campaigns"])


def campaign_public(view: campaigns.CampaignView) -> cs.CampaignPublic:
    """A campaign as shown."""
    c = view.campaign
    return cs.CampaignPublic(
        id=c.id or 0,
        name=c.name,
        legal_basis=c.legal_basis,
        starts_on=c.starts_on,
        ends_on=c.ends_on,
        area_code=view.area.code,
        area_name=view.area.name,
        themes=[cs.ThemePublic(id=t.id or 0, code=t.code, name=t.name) for t in view.themes],
        targets=[
            cs.TargetPublic(area_code=a.code, area_name=a.name, border_only=t.border_only)
            for t, a in view.targets
        ],
        min_airings_per_week=c.min_airings_per_week,
        min_minutes_per_theme_per_month=c.min_minutes_per_theme_per_month,
        languages=c.languages,
        created_at=as_utc(c.created_at),
        updated_at=as_utc(c.updated_at),
    )


def _view(session: Session, campaign: Campaign, area: Area) -> cs.CampaignPublic:
    return campaign_public(campaigns.view_of(session=session, campaign=campaign, area=area))


@router.get("", response_model=list[cs.CampaignPublic], summary="List campaigns")
def list_campaigns(
    session: SessionDep,
    principal: PrincipalDep,
    active_on: Annotated[date | None, Query(description="Only campaigns running that day")] = None,
) -> list[cs.CampaignPublic]:
    """Campaigns of the caller's subtree and of the areas above it, the latest first."""
    rows = campaigns.list_campaigns(session=session, scope=principal.scope, active_on=active_on)
    return [_view(session, c, a) for c, a in rows]


@router.post("", response_model=cs.CampaignPublic, status_code=201, summary="Create a campaign")
def create_campaign(
    body: cs.CampaignCreate, session: SessionDep, principal: PrincipalDep
) -> cs.CampaignPublic:
    """Editors and administrators create a campaign for an area of their subtree."""
    campaign = campaigns.create_campaign(
        session=session,
        principal=principal,
        name=body.name,
        legal_basis=body.legal_basis,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        area_code=body.area_code,
        themes=[campaigns.NewTheme(t.code, t.name) for t in body.themes],
        targets=[campaigns.NewTarget(t.area_code, t.border_only) for t in body.targets],
        min_airings_per_week=body.min_airings_per_week,
        min_minutes_per_theme_per_month=body.min_minutes_per_theme_per_month,
        languages=body.languages,
    )
    row, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign.id or 0
    )
    return _view(session, row, area)


@router.get("/{campaign_id}", response_model=cs.CampaignPublic, summary="Show a campaign")
def get_campaign(
    campaign_id: IdPath, session: SessionDep, principal: PrincipalDep
) -> cs.CampaignPublic:
    """One campaign with its themes, target areas and targets."""
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    return _view(session, campaign, area)


@router.patch("/{campaign_id}", response_model=cs.CampaignPublic, summary="Change a campaign")
def update_campaign(
    campaign_id: IdPath, body: cs.CampaignUpdate, session: SessionDep, principal: PrincipalDep
) -> cs.CampaignPublic:
    """Editors of the owner area change it; null clears a target or the languages."""
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    given = body.model_dump(exclude_unset=True)
    optional = {
        key: given[key]
        for key in ("min_airings_per_week", "min_minutes_per_theme_per_month", "languages")
        if key in given
    }
    campaigns.update_campaign(
        session=session,
        principal=principal,
        campaign=campaign,
        name=body.name,
        legal_basis=body.legal_basis,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        themes=(
            [campaigns.NewTheme(t.code, t.name) for t in body.themes]
            if body.themes is not None
            else None
        ),
        targets=(
            [campaigns.NewTarget(t.area_code, t.border_only) for t in body.targets]
            if body.targets is not None
            else None
        ),
        **optional,
    )
    return _view(session, campaign, area)


def _figures(f: campaign_progress.Figures) -> dict[str, object]:
    return {
        "planned": f.planned,
        "aired": f.aired,
        "on_time": f.on_time,
        "late": f.late,
        "missed": f.missed,
        "no_version": f.no_version,
        "minutes_aired": round(f.minutes_aired, 2),
    }


def progress_public(report: campaign_progress.CampaignProgress) -> cs.CampaignProgressPublic:
    """A campaign's progress as JSON."""
    return cs.CampaignProgressPublic(
        campaign_id=report.campaign.id or 0,
        first_day=report.first_day,
        last_day=report.last_day,
        elapsed_days=report.elapsed_days,
        timezone=report.timezone,
        communes=len(report.communes),
        behind=len(report.behind),
        items=[
            cs.CommuneProgressPublic(
                code=c.code,
                name=c.name,
                border=c.border,
                district_code=c.district_code,
                district_name=c.district_name,
                behind=c.behind,
                behind_languages=c.behind_languages,
                languages=[
                    cs.LanguageProgressPublic(
                        **_figures(lp.figures),  # type: ignore[arg-type]
                        language=lp.language,
                        language_name=report.language(lp.language),
                        target_airings=lp.target_airings,
                        behind=lp.behind,
                    )
                    for lp in c.languages.values()
                ],
                themes=[
                    cs.ThemeProgressPublic(
                        **_figures(tp.figures),  # type: ignore[arg-type]
                        theme_code=tp.theme_code,
                        language=tp.language,
                        target_minutes=tp.target_minutes,
                        behind=tp.behind,
                    )
                    for tp in c.themes.values()
                ],
            )
            for c in report.communes
        ],
    )


@router.get(
    "/{campaign_id}/progress",
    response_model=cs.CampaignProgressPublic,
    summary="A campaign's progress per commune, theme and language",
)
def get_progress(
    campaign_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    clock: ClockDep,
    from_: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    to: Annotated[date | None, Query(description="Last day, included (local)")] = None,
    area_code: Annotated[str | None, Query(description="Only this area's subtree")] = None,
) -> cs.CampaignProgressPublic:
    """Planned vs aired (on time, late) vs target for each target commune of the caller's
    area, per theme and language, from the as-run record; communes behind first.

    The period is clipped to the campaign; by default from its first day to today.
    """
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    report = campaign_progress.campaign_progress(
        session=session,
        scope=principal.scope,
        view=campaigns.view_of(session=session, campaign=campaign, area=area),
        zone=settings.zone,
        now=clock(),
        first=from_,
        last=to,
        area_code=area_code,
        late_after_seconds=settings.late_after_seconds,
    )
    return progress_public(report)


def _row_public(
    report: campaign_report.CampaignReport, row: campaign_report.ReportRow
) -> cs.ReportRowPublic:
    rounded = campaign_report.rounded
    return cs.ReportRowPublic(
        code=row.code,
        name=row.name,
        district_name=row.district_name,
        border=row.border,
        communes=row.communes,
        planned=row.planned,
        aired=row.aired,
        on_time=row.on_time,
        late=row.late,
        missed=row.missed,
        percent_aired=row.percent,
        minutes_aired=rounded(row.minutes),
        languages=[
            cs.ReportLanguagePublic(
                language=lang, language_name=name, minutes=rounded(row.languages[lang])
            )
            for lang, name in report.language_names.items()
            if lang in row.languages
        ],
        themes=[
            cs.ReportThemePublic(
                theme_code=code, theme_name=name, minutes=rounded(row.themes.get(code, 0.0))
            )
            for code, name in report.theme_names.items()
        ],
        missed_stations=[
            cs.ReportStationPublic(station_name=name, missed=missed)
            for name, missed in row.missed_stations.items()
        ],
        behind=row.behind,
    )


def report_public(report: campaign_report.CampaignReport) -> cs.CampaignReportPublic:
    """The campaign report as JSON: the figures of its files."""
    return cs.CampaignReportPublic(
        campaign_id=report.campaign_id,
        campaign_name=report.campaign_name,
        legal_basis=report.legal_basis,
        area_code=report.area_code,
        area_name=report.area_name,
        first_day=report.first_day,
        last_day=report.last_day,
        produced_on=report.produced_on,
        timezone=report.timezone,
        summary=report.summary,
        total=_row_public(report, report.total),
        districts=[_row_public(report, d) for d in report.districts],
        communes=[_row_public(report, c) for c in report.communes],
    )


@router.get(
    "/{campaign_id}/report",
    response_model=cs.CampaignReportPublic,
    summary="The campaign's report of results (Báo cáo kết quả thực hiện)",
    responses={200: {"content": {XLSX: {}, DOCX: {}}}},
)
def get_report(
    campaign_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    clock: ClockDep,
    from_: Annotated[date | None, Query(alias="from", description="First day (local)")] = None,
    to: Annotated[date | None, Query(description="Last day, included (local)")] = None,
    format: Annotated[Literal["json", "xlsx", "docx"], Query()] = "json",  # noqa: A002
) -> cs.CampaignReportPublic | Response:
    """The report the campaign's area sends upward: airings planned, aired, on time, late
    and missed, minutes per language and theme, stations that missed airings, per district
    and per commune of the caller's area, with a text summary; as JSON, or as an Excel
    workbook (`xlsx`) or an official document (`docx`) holding the same figures.

    The period is clipped to the campaign; by default from its first day to today.
    """
    campaign, area = campaigns.get_campaign(
        session=session, scope=principal.scope, campaign_id=campaign_id
    )
    report = campaign_report.campaign_report(
        session=session,
        scope=principal.scope,
        view=campaigns.view_of(session=session, campaign=campaign, area=area),
        zone=settings.zone,
        now=clock(),
        first=from_,
        last=to,
        late_after_seconds=settings.late_after_seconds,
    )
    if format == "json":
        return report_public(report)
    return campaign_report_response(report, format)
