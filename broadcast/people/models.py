"""Table models of the application core: users, API tokens and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, SQLModel

from stations.models import UTCDateTime
from stations.timeutil import utcnow


class Role(StrEnum):
    """What a user may do inside their home area's subtree."""

    admin = "admin"  # everything
    editor = "editor"  # write and schedule bulletins
    approver = "approver"  # approve or reject bulletins
    operator = "operator"  # see their commune, confirm playback


class User(SQLModel, table=True):
    """A person (or integration owner) who signs in."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: str | None = Field(default=None, max_length=200)
    # Where digests and alerts are e-mailed (LOA_SMTP_HOST); None: the console only.
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(max_length=255)
    role: Role = Field(sa_type=String(16))
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    # Raised on every password, role, area or active change: access tokens carry the
    # version they were issued under and stop working once it moves on.
    token_version: int = 0


class RevokedToken(SQLModel, table=True):
    """An access token ended before its expiry (sign-out), kept until it would expire."""

    __tablename__ = "revoked_token"

    jti: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_column=UTCDateTime())


# What an API token may do beyond acting as its owner: `alerts` lets it deliver CAP alerts.
TOKEN_SCOPES = ("alerts",)


class ApiToken(SQLModel, table=True):
    """A long-lived bearer token for an integration, acting as its owner."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=100)
    # sha256 of a 256-bit random secret: unguessable, so a fast hash is safe and lookups are O(1).
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    last_used_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    expires_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    revoked: bool = False
    # Extra permissions of the token (TOKEN_SCOPES); empty = acting as its owner only.
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class FeedToken(SQLModel, table=True):
    """A user's secret for subscribing to station calendars by URL (one per user).

    Calendar apps cannot send a bearer header, so the feed's URL carries this secret
    instead; it opens the iCalendar feeds of the stations in the user's area and nothing
    else. Issuing a new one replaces it; revoking deletes it.
    """

    __tablename__ = "feed_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    # sha256 of a 256-bit random secret, as for API tokens.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    last_used_at: datetime | None = Field(default=None, sa_column=UTCDateTime())


class AuditEvent(SQLModel, table=True):
    """Who did what to which object, and when. Rows are only ever inserted."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor: str = Field(max_length=64)  # username kept as text, readable after a user is gone
    action: str = Field(max_length=64, index=True)
    object_type: str = Field(max_length=32, index=True)
    object_id: str = Field(max_length=64, index=True)
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
