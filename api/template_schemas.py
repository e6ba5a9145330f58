"""Request and response shapes of REST v1 for emergency templates."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import Strict
from broadcast.templates.models import Hazard, PartKind, Slot


class TemplateCreate(Strict):
    """A new template of an area for one hazard in one language (empty, unreviewed)."""

    hazard: Hazard
    language: str = Field(min_length=1, max_length=16, description="e.g. hmn")
    name: str = Field(min_length=1, max_length=200, description="e.g. 'Lũ quét - tiếng Mông'")
    active: bool = True


class TemplateUpdate(Strict):
    """A new name, or the template switched on or off."""

    name: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None


class PartIn(Strict):
    """One part: a recorded phrase, Vietnamese text read by the engine, or a slot."""

    kind: PartKind
    slot: Slot | None = Field(None, description="A slot's name (kind slot)")
    text: str | None = Field(None, max_length=2000, description="Vietnamese text (kind text)")
    keep_part_id: int | None = Field(
        None, ge=1, description="A phrase keeps the recording of this part of the template"
    )


class PartsIn(Strict):
    """The template's parts, in airing order."""

    parts: list[PartIn] = Field(min_length=1, max_length=60)


class PartPublic(BaseModel):
    """One part as shown; `audio_url` plays a phrase's recording."""

    id: int
    position: int
    kind: str
    slot: str | None
    text: str | None
    recorded: bool
    duration_ms: int | None
    audio_url: str | None


class SlotRecordingPublic(BaseModel):
    """A slot value recorded in the template's language."""

    id: int
    slot: str
    value: str
    duration_ms: int
    audio_url: str


class TemplatePublic(BaseModel):
    """A template as shown, with its parts and recorded slot values."""

    id: int
    area_code: str
    area_name: str
    hazard: str
    language: str
    name: str
    active: bool
    reviewed: bool
    reviewed_by_id: int | None
    reviewed_at: datetime | None
    created_by_id: int | None
    missing_recordings: list[int] = Field(description="Positions of phrases not recorded yet")
    parts: list[PartPublic]
    slot_recordings: list[SlotRecordingPublic]
    created_at: datetime
    updated_at: datetime


class TemplateListed(BaseModel):
    """One template serving an area; `used` marks the one nearest to it per pair."""

    id: int
    area_code: str
    hazard: str
    language: str
    name: str
    active: bool
    reviewed: bool
    inherited: bool = Field(description="It belongs to an area above the one asked about")
    used: bool = Field(description="The one alerts for this area use (active and reviewed)")


class PreviewIn(Strict):
    """Slot values to fill the template in with (each slot: one or more values)."""

    values: dict[Slot, list[str]] = Field(
        default_factory=dict,
        description='e.g. {"place": ["Xã Y Tý"], "time": ["14:30 ngày 15/8/2031"]}',
    )


class AssembledPartPublic(BaseModel):
    """One clip of a filled-in template."""

    kind: str
    label: str
    source: str = Field(description="recording (in the template's language) or speech (vi)")
    language: str
    duration_ms: int


class PreviewPublic(BaseModel):
    """The template filled in: the audio to listen to and what it is made of."""

    audio_url: str
    sha256: str
    duration_ms: int
    gap_ms: int
    parts: list[AssembledPartPublic]
