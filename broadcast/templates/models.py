"""Table models of emergency templates: per area, hazard and language, ordered parts.

A template is what an area airs for a hazard in one language when no engine speaks it:
phrases recorded once by a speaker of the language, with slots (the place, the time)
between them. A slot is read from a recording of its value in that language when one
exists, else in Vietnamese by the speech engine. A Vietnamese template uses text parts.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class Hazard(StrEnum):
    """What a template warns of (the CAP alerts' events map onto these: hazards.py)."""

    flash_flood = "flash_flood"
    landslide = "landslide"
    storm = "storm"
    forest_fire = "forest_fire"
    epidemic = "epidemic"
    other = "other"


class PartKind(StrEnum):
    """What one part of a template is."""

    phrase = "phrase"  # a recorded clip in the template's language
    text = "text"  # text read by the speech engine (Vietnamese templates)
    slot = "slot"  # a value of the alert: its recording in the language, else Vietnamese


class Slot(StrEnum):
    """The values an alert fills in."""

    place = "place"  # the names of the areas the alert names
    area_name = "area_name"  # the name of the area the alert is for as a whole
    time = "time"  # when it takes effect (onset, else effective, else sent), local time
    expires = "expires"  # when it ends, local time


class EmergencyTemplate(SQLModel, table=True):
    """An area's emergency template for one hazard in one language."""

    __tablename__ = "emergency_template"
    __table_args__ = (UniqueConstraint("area_id", "hazard", "language"),)

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    hazard: Hazard = Field(sa_type=String(16))
    language: str = Field(foreign_key="language.code", max_length=16)
    name: str = Field(max_length=200)
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    # Set by an approver (not its author) after listening; any change to a part clears it.
    reviewed_by_id: int | None = Field(default=None, foreign_key="user.id")
    reviewed_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # The audio of its last preview by an editor of its area (served to the console).
    preview_sha256: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class TemplatePart(SQLModel, table=True):
    """One part of a template, at its position (0 first)."""

    __tablename__ = "emergency_template_part"
    __table_args__ = (UniqueConstraint("template_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="emergency_template.id", index=True)
    position: int
    kind: PartKind = Field(sa_type=String(16))
    slot: str | None = Field(default=None, max_length=32)
    text: str | None = Field(default=None, sa_column=Column(Text))
    # A phrase's recording: the upload as sent (sha256) and its levelled, published audio.
    recording_sha256: str | None = Field(default=None, max_length=64)
    audio_sha256: str | None = Field(default=None, max_length=64)
    audio_bytes: int | None = None
    audio_duration_ms: int | None = None


class SlotRecording(SQLModel, table=True):
    """A slot's value recorded in the template's language (a village's name, once)."""

    __tablename__ = "emergency_slot_recording"
    __table_args__ = (UniqueConstraint("template_id", "slot", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="emergency_template.id", index=True)
    slot: str = Field(max_length=32)
    # The value as the alert gives it, folded (slot_key) so "Xã Y Tý" matches "xã y tý".
    value: str = Field(max_length=200)
    label: str = Field(max_length=200)
    recording_sha256: str = Field(max_length=64)
    audio_sha256: str = Field(max_length=64)
    audio_bytes: int
    audio_duration_ms: int
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
