"""REST schemas of weekly digests and notifications."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class DigestLanguage(BaseModel):
    """A language of a campaign in the digest's area over the week."""

    language: str
    planned: int = Field(description="Station airings planned (not cancelled)")
    aired: int = Field(description="Of them, aired with the campaign in this language")
    missed: int = Field(description="Of them, missed: every delivery ended without airing")


class DigestCommuneLanguage(BaseModel):
    """A language in which a commune is behind."""

    language: str
    aired: int
    target_airings: float | None
    themes_behind: list[str] = Field(description="Names of the themes short of minutes")


class DigestCommune(BaseModel):
    """A commune behind its campaign's targets over the week."""

    area_code: str
    name: str
    languages: list[DigestCommuneLanguage]


class DigestCampaign(BaseModel):
    """One campaign of the digest: figures of broadcast/campaigns/progress.py over the week."""

    campaign_id: int
    name: str
    first_day: date
    last_day: date
    communes: int = Field(description="Target communes of the campaign in the area")
    languages: list[DigestLanguage]
    communes_behind: list[DigestCommune]


class DigestSummary(BaseModel):
    """A digest in a list."""

    id: int
    area_code: str
    area_name: str
    week_start: date = Field(description="First local day of the seven told of")
    week_end: date
    title: str
    created_at: datetime


class DigestPublic(DigestSummary):
    """A digest with its text (as e-mailed) and its figures."""

    body: str
    campaigns: list[DigestCampaign]


class LanguageGapPublic(BaseModel):
    """A bulletin of the airing with no ready (rendered, not rejected) version in a
    language that some of its stations air."""

    bulletin_id: int
    language: str
    station_ids: list[int]


class NotificationPublic(BaseModel):
    """An open alert of the caller's area: a bulletin of an airing with no ready version
    in a language that some of its stations air (`kind: language_gap`)."""

    id: int
    kind: str = Field(description='"language_gap"')
    area_code: str = Field(
        description="The smallest area holding its stations: its users and those above are told"
    )
    area_name: str
    broadcast_id: int
    seq: int
    airing: str = Field(description='The airing\'s reference, "<broadcast_id>.<seq>"')
    air_at: datetime
    bulletin_id: int
    bulletin_title: str
    language: str
    language_name: str
    station_ids: list[int] = Field(description="The stations of the airing that air the language")
    created_at: datetime
