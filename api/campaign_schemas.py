"""Request and response shapes of REST v1 for campaigns and their progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas import Code, LanguageCode, Strict
from broadcast.campaigns.models import MAX_LEGAL_BASIS, MAX_NAME, MAX_THEME_CODE
from broadcast.campaigns.service import MAX_TARGETS, MAX_THEMES

CampaignName = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Target = Annotated[int, Field(ge=0, le=10_000)]


class ThemeIn(Strict):
    """A theme (content line): a short code, unique in the campaign, and its name."""

    code: Annotated[str, Field(min_length=1, max_length=MAX_THEME_CODE)]
    name: CampaignName


class ThemePublic(BaseModel):
    """A theme as shown."""

    id: int
    code: str
    name: str


class TargetIn(Strict):
    """A target area: every commune below it, or only its border communes."""

    area_code: Code
    border_only: bool = Field(False, description="Keep only the communes flagged `border`")


class TargetPublic(BaseModel):
    """A target area as shown."""

    area_code: str
    area_name: str
    border_only: bool


class CampaignTargets(BaseModel):
    """What each target commune should air (null: no target of that kind)."""

    min_airings_per_week: Target | None = Field(
        None, description="Airings of the campaign per commune and language, each week"
    )
    min_minutes_per_theme_per_month: Target | None = Field(
        None, description="Minutes aired per commune, theme and language, each 30 days"
    )
    languages: list[LanguageCode] | None = Field(
        None,
        max_length=20,
        description="Languages the targets apply to; null: every language the station airs",
    )


class CampaignCreate(CampaignTargets, Strict):
    """A new campaign; `area_code` (the owner) defaults to the author's home area."""

    name: CampaignName
    legal_basis: Annotated[str, Field(max_length=MAX_LEGAL_BASIS)] | None = Field(
        None, description="The plan's number and date, e.g. 'Kế hoạch số 90/KH-BCĐ ngày 15/02/2023'"
    )
    starts_on: date = Field(description="First day (local, LOA_TIMEZONE)")
    ends_on: date = Field(description="Last day, included")
    area_code: Code | None = None
    themes: list[ThemeIn] = Field(default_factory=list, max_length=MAX_THEMES)
    targets: list[TargetIn] = Field(default_factory=list, max_length=MAX_TARGETS)


class CampaignUpdate(Strict):
    """Changes to a campaign; `themes` and `targets` replace the stored lists (a theme kept
    by its code keeps its bulletins)."""

    name: CampaignName | None = None
    legal_basis: Annotated[str, Field(max_length=MAX_LEGAL_BASIS)] | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    themes: list[ThemeIn] | None = Field(None, max_length=MAX_THEMES)
    targets: list[TargetIn] | None = Field(None, max_length=MAX_TARGETS)
    min_airings_per_week: Target | None = None
    min_minutes_per_theme_per_month: Target | None = None
    languages: list[LanguageCode] | None = Field(None, max_length=20)


class CampaignPublic(CampaignTargets):
    """A campaign as shown."""

    id: int
    name: str
    legal_basis: str | None
    starts_on: date
    ends_on: date
    area_code: str
    area_name: str
    themes: list[ThemePublic]
    targets: list[TargetPublic]
    created_at: datetime
    updated_at: datetime


class FiguresPublic(BaseModel):
    """Station airings of the campaign (docs/campaigns.md)."""

    planned: int = Field(description="Station airings not cancelled")
    aired: int = Field(description="Aired with a campaign item in this language: on_time + late")
    on_time: int
    late: int
    missed: int = Field(description="Sent, and every delivery ended without airing")
    no_version: int = Field(description="Aired, with no campaign item in this language")
    minutes_aired: float


class LanguageProgressPublic(FiguresPublic):
    """One language of a commune, against the weekly target."""

    language: str
    language_name: str
    target_airings: float | None = Field(description="The weekly target pro-rated to the days")
    behind: bool


class ThemeProgressPublic(FiguresPublic):
    """One theme in one language of a commune, against the monthly target."""

    theme_code: str
    language: str
    target_minutes: float | None = Field(description="The monthly target pro-rated to the days")
    behind: bool


class CommuneProgressPublic(BaseModel):
    """One target commune."""

    code: str
    name: str
    border: bool
    district_code: str | None
    district_name: str | None
    behind: bool
    behind_languages: list[str]
    languages: list[LanguageProgressPublic]
    themes: list[ThemeProgressPublic]


class CampaignProgressPublic(BaseModel):
    """A campaign's progress over a period, the communes behind first."""

    campaign_id: int
    first_day: date
    last_day: date
    elapsed_days: int = Field(description="Days of the period gone by, today included")
    timezone: str
    communes: int = Field(description="Target communes in the caller's area")
    behind: int = Field(description="Of them, those behind")
    items: list[CommuneProgressPublic]


class ReportLanguagePublic(BaseModel):
    """Minutes of campaign items aired in one language."""

    language: str
    language_name: str
    minutes: float


class ReportThemePublic(BaseModel):
    """Minutes of one theme's items aired, in any language."""

    theme_code: str
    theme_name: str
    minutes: float


class ReportStationPublic(BaseModel):
    """A station that missed airings of the campaign."""

    station_name: str
    missed: int


class ReportRowPublic(BaseModel):
    """The figures of one commune, one district or the whole campaign (docs/campaigns.md)."""

    code: str
    name: str
    district_name: str | None = None
    border: bool
    communes: int = Field(description="Target communes counted in the row")
    planned: int = Field(description="Station airings not cancelled, each once")
    aired: int = Field(description="on_time + late")
    on_time: int
    late: int
    missed: int
    percent_aired: int | None = Field(description="aired / planned, whole percent")
    minutes_aired: float = Field(description="Minutes of campaign items aired, one decimal")
    languages: list[ReportLanguagePublic]
    themes: list[ReportThemePublic]
    missed_stations: list[ReportStationPublic]
    behind: list[str] = Field(description="Names of the communes behind their targets")


class CampaignReportPublic(BaseModel):
    """The campaign's report over a period: the figures of its XLSX and DOCX files."""

    campaign_id: int
    campaign_name: str
    legal_basis: str | None
    area_code: str
    area_name: str
    first_day: date
    last_day: date
    produced_on: date
    timezone: str
    summary: str = Field(description="The report's text summary, in Vietnamese")
    total: ReportRowPublic
    districts: list[ReportRowPublic]
    communes: list[ReportRowPublic]
