"""Table model of relays: a named live stream an area's stations relay ("tiếp âm")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class RelaySource(SQLModel, table=True):
    """A live stream (Icecast/HTTP MP3 or AAC, HLS), e.g. VOV1 or the provincial radio."""

    __tablename__ = "relay_source"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    # The area that owns it: its editors keep it, and it is offered to it and below.
    area_id: int = Field(foreign_key="area.id", index=True)
    name: str = Field(max_length=120)
    url: str = Field(max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
