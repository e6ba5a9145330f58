"""Table models of campaigns: the plan, its themes (content lines) and its target areas."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow

MAX_NAME = 300
MAX_LEGAL_BASIS = 500
MAX_THEME_CODE = 32


class Campaign(SQLModel, table=True):
    """A plan an area carries out over a period: what to air, where, and how much."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=MAX_NAME)
    # The plan's number and date, e.g. "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023".
    legal_basis: str | None = Field(default=None, max_length=MAX_LEGAL_BASIS)
    # Local days (LOA_TIMEZONE), both included.
    starts_on: date
    ends_on: date
    area_id: int = Field(foreign_key="area.id", index=True)  # the owner area
    # Targets for each target commune (None: no target of that kind).
    min_airings_per_week: int | None = None
    min_minutes_per_theme_per_month: int | None = None
    # The languages the targets apply to; None: every language the commune's stations air.
    languages: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class CampaignTheme(SQLModel, table=True):
    """One content line of a campaign, in the plan's order."""

    __tablename__ = "campaign_theme"
    __table_args__ = (UniqueConstraint("campaign_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    position: int = 0
    code: str = Field(max_length=MAX_THEME_CODE)
    name: str = Field(max_length=MAX_NAME)


class CampaignTarget(SQLModel, table=True):
    """A target area of a campaign: the communes below it (only border ones with
    `border_only`) are expected to air it."""

    __tablename__ = "campaign_target"

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    area_id: int = Field(foreign_key="area.id", primary_key=True, index=True)
    border_only: bool = False
