"""Table models of bulletins, their language versions and the per-area pronunciation lexicon."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class Priority(StrEnum):
    """Bulletin priority per Thông tư 39/2020/TT-BTTTT."""

    normal = "normal"  # thông thường: the commune chooses whether to air it
    priority = "priority"  # ưu tiên: aired first within the programme
    emergency = "emergency"  # khẩn cấp: aired immediately


# Lower ranks air first.
PRIORITY_RANK = {Priority.emergency: 0, Priority.priority: 1, Priority.normal: 2}


class BulletinStatus(StrEnum):
    """Where a bulletin stands in its approval workflow."""

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"
    archived = "archived"


class AudioState(StrEnum):
    """Rendering state of a language version's audio."""

    pending = "pending"  # waiting for the render worker
    ready = "ready"
    failed = "failed"  # see Translation.audio_error


class ReviewState(StrEnum):
    """Review state of one language version."""

    unreviewed = "unreviewed"
    approved = "approved"
    rejected = "rejected"
    # The language reviewer sent the version back to its translator with a note.
    changes_requested = "changes_requested"


class ReviewDecision(StrEnum):
    """A language reviewer's sign-off on one version (broadcast/bulletins/reviewers.py)."""

    approved = "approved"
    changes_requested = "changes_requested"


class SourceKind(StrEnum):
    """What a language version's audio is made from."""

    text = "text"  # read by a TTS engine
    recording = "recording"  # a human recording, uploaded
    template = "template"  # joined from an emergency template's phrases and slots


class Bulletin(SQLModel, table=True):
    """A piece of news or guidance to be aired, in one or more languages."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    # A free-text tag (kept as it was); `campaign_id` and `theme_id` link the bulletin to
    # a campaign held by Loa and one of its themes (broadcast/campaigns).
    campaign: str | None = Field(default=None, max_length=200, index=True)
    campaign_id: int | None = Field(default=None, foreign_key="campaign.id", index=True)
    theme_id: int | None = Field(default=None, foreign_key="campaign_theme.id", index=True)
    category: str | None = Field(default=None, max_length=100)
    priority: Priority = Field(default=Priority.normal, sa_type=String(16))
    status: BulletinStatus = Field(default=BulletinStatus.draft, sa_type=String(16), index=True)
    author_id: int = Field(foreign_key="user.id", index=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    valid_from: datetime | None = Field(default=None, sa_column=UTCDateTime())
    valid_until: datetime | None = Field(default=None, sa_column=UTCDateTime())
    rejection_reason: str | None = Field(default=None, max_length=1000)
    reviewer_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # sha256 over every version's content and audio at approval time: what may air.
    approval_hash: str | None = Field(default=None, max_length=64)
    # The Vietnamese reading's voice for this bulletin only (None: each station's own).
    tts_engine: str | None = Field(default=None, max_length=32)
    tts_accent: str | None = Field(default=None, max_length=16)
    tts_speed: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class Translation(SQLModel, table=True):
    """One language version of a bulletin: text for TTS and/or a human recording."""

    __table_args__ = (UniqueConstraint("bulletin_id", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    bulletin_id: int = Field(foreign_key="bulletin.id", index=True)
    language: str = Field(foreign_key="language.code", max_length=16)
    text: str | None = Field(default=None, sa_column=Column(Text))
    source: SourceKind = Field(default=SourceKind.text, sa_type=String(16))
    # sha256 of the uploaded recording as received; the file lives under the media dir.
    recording_sha256: str | None = Field(default=None, max_length=64)
    recording_ext: str | None = Field(default=None, max_length=8)
    translator_id: int | None = Field(default=None, foreign_key="user.id")
    review_state: ReviewState = Field(default=ReviewState.unreviewed, sa_type=String(16))
    # sha256 of what the audio is made from (text or recording); changes invalidate audio.
    content_hash: str = Field(max_length=64)
    audio_state: AudioState = Field(default=AudioState.pending, sa_type=String(16), index=True)
    audio_error: str | None = Field(default=None, max_length=1000)
    # The failure's stable code and fields (tts/errors.py), which the console says in
    # Vietnamese; audio_error is its English message.
    audio_error_code: str | None = Field(default=None, max_length=64)
    audio_error_fields: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    audio_sha256: str | None = Field(default=None, max_length=64)
    audio_bytes: int | None = None
    audio_duration_ms: int | None = None
    audio_engine: str | None = Field(default=None, max_length=32)
    # The content hash the current audio was rendered from (guards against stale renders).
    audio_content_hash: str | None = Field(default=None, max_length=64)
    # The emergency template (broadcast/templates) the audio was joined from, if any.
    template_id: int | None = None
    # The language reviewer's sign-off on the current content; cleared when it changes.
    review_decision: ReviewDecision | None = Field(default=None, sa_type=String(24))
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    review_note: str | None = Field(default=None, max_length=1000)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    rendered_at: datetime | None = Field(default=None, sa_column=UTCDateTime())


class LexiconEntry(SQLModel, table=True):
    """How an area reads a term (abbreviation, place name); nearer areas override."""

    __table_args__ = (UniqueConstraint("area_id", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    term: str = Field(max_length=100)
    reading: str = Field(max_length=300)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class LanguageReviewer(SQLModel, table=True):
    """A user an area names to sign off its versions in one language (nearest area wins)."""

    __tablename__ = "language_reviewer"
    __table_args__ = (UniqueConstraint("area_id", "language", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    language: str = Field(foreign_key="language.code", max_length=16)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
