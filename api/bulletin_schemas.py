"""Request and response shapes of REST v1 for bulletins, their versions and the lexicon."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from api.schemas import Code, Id, LanguageCode, Strict, VoiceFields
from broadcast.bulletins.models import (
    AudioState,
    BulletinStatus,
    Priority,
    ReviewDecision,
    ReviewState,
    SourceKind,
)

Title = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]


class TranslationCreate(Strict):
    """A language version given with a new bulletin."""

    language: LanguageCode
    text: Text


class TranslationUpdate(Strict):
    """New text for a language version (its audio is rendered again)."""

    text: Text


class BulletinCreate(VoiceFields, Strict):
    """A new draft bulletin; `area_code` defaults to the author's home area.

    Voice fields, when set, read its Vietnamese version so at every station.
    """

    title: Title
    priority: Priority = Priority.normal
    campaign: str | None = Field(None, max_length=200, description="A free-text tag")
    campaign_id: Id | None = Field(None, description="The campaign (GET /campaigns) it serves")
    theme_id: Id | None = Field(None, description="One of that campaign's themes")
    category: str | None = Field(None, max_length=100)
    area_code: Code | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    translations: list[TranslationCreate] = Field(default_factory=list, max_length=20)


class BulletinUpdate(VoiceFields, Strict):
    """Changes to a bulletin; a new title or priority needs approval again.

    Voice fields set to null give the reading back to each station's voice.
    """

    title: Title | None = None
    priority: Priority | None = None
    campaign: str | None = Field(None, max_length=200)
    campaign_id: Id | None = Field(None, description="null takes it out of its campaign")
    theme_id: Id | None = Field(None, description="null takes it out of its theme")
    category: str | None = Field(None, max_length=100)
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class RejectBody(Strict):
    """Why a bulletin is sent back to its author."""

    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class ReviewBody(Strict):
    """A language reviewer's sign-off on one version."""

    decision: ReviewDecision
    note: Annotated[str | None, Field(max_length=1000)] = None


class LanguageReviewersIn(Strict):
    """The reviewers an area names, per language (usernames); the rest is inherited."""

    languages: dict[LanguageCode, list[Annotated[str, Field(max_length=64)]]] = Field(max_length=50)


class LanguageReviewersShown(BaseModel):
    """The reviewers of one language that apply to an area."""

    language: str
    reviewers: list[str]
    named_by: str = Field(description="The code of the area naming them")
    inherited: bool


class LanguageReviewersPublic(BaseModel):
    """An area's own language reviewers and those that apply to it (own or inherited)."""

    area_code: str
    own: dict[str, list[str]]
    effective: list[LanguageReviewersShown]


class AwaitingReviewPublic(BaseModel):
    """A version the caller may sign off as a language reviewer, and nobody has yet."""

    bulletin_id: int
    title: str
    area_code: str
    language: str
    translator: str | None
    updated_at: datetime


class TranslationPublic(BaseModel):
    """A language version as shown, with the state of its audio."""

    language: str
    text: str | None
    source: SourceKind
    translator: str | None
    review_state: ReviewState = Field(
        description="With a language reviewer named: their sign-off (unreviewed until then); "
        "otherwise the bulletin's approval"
    )
    reviewer_required: bool = Field(
        False, description="A language reviewer of the area must sign this version off"
    )
    reviewed_by: str | None = Field(None, description="The language reviewer who signed off")
    reviewed_at: datetime | None = None
    review_note: str | None = Field(None, description="The reviewer's note")
    audio_state: AudioState
    audio_error: str | None
    audio_sha256: str | None
    audio_bytes: int | None
    audio_duration_ms: int | None
    audio_engine: str | None
    template_id: int | None = Field(
        None, description="The emergency template the audio was joined from (source template)"
    )
    audio_url: str | None = Field(None, description="Preview: GET this with your token")
    content_hash: str
    updated_at: datetime


class BulletinPublic(VoiceFields):
    """A bulletin with its versions."""

    id: int
    title: str
    campaign: str | None
    campaign_id: int | None = Field(None, description="The campaign held by Loa, if any")
    theme_id: int | None = Field(None, description="Its theme, if any")
    category: str | None
    priority: Priority
    status: BulletinStatus
    area_code: str
    area_name: str
    author: str
    reviewer: str | None
    reviewed_at: datetime | None
    rejection_reason: str | None
    approval_hash: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime
    translations: list[TranslationPublic]
    missing_languages: list[str] = Field(
        description="Languages aired by stations of the area that have no version yet"
    )


class NormalizedText(BaseModel):
    """A version's text exactly as the speech engine will read it."""

    language: str
    text: str
    normalized: str
    lexicon: dict[str, str] = Field(description="Area entries applied (nearest area wins)")


class LexiconEntryCreate(Strict):
    """How an area reads a term; `area_code` defaults to the caller's home area."""

    term: Annotated[str, Field(min_length=1, max_length=100)]
    reading: Annotated[str, Field(min_length=1, max_length=300)]
    area_code: Code | None = None


class LexiconEntryPublic(BaseModel):
    """A lexicon entry as shown."""

    id: int
    area_code: str
    term: str
    reading: str
    created_at: datetime
