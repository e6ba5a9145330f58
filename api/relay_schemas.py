"""Request and response shapes of REST v1 for relay sources (live streams to relay)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import Code, Strict
from broadcast.relays.service import MAX_NAME, MAX_URL


class RelaySourceBase(BaseModel):
    """A named live stream."""

    name: str = Field(
        min_length=1, max_length=MAX_NAME, description="Shown to editors, e.g. 'VOV1'"
    )
    url: str = Field(
        min_length=1,
        max_length=MAX_URL,
        description="http(s) URL of the stream: Icecast/HTTP MP3 or AAC, or an HLS playlist",
    )


class RelaySourceCreate(RelaySourceBase, Strict):
    """A new relay source, owned by an area of the caller's subtree."""

    area_code: Code = Field(description="The owner area")


class RelaySourceUpdate(Strict):
    """Changes to a relay source (fields left out stay as they are)."""

    name: str | None = Field(default=None, min_length=1, max_length=MAX_NAME)
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL)


class RelaySourcePublic(RelaySourceBase):
    """A relay source as shown."""

    id: int
    area_code: str
    area_name: str
    created_at: datetime
    updated_at: datetime
