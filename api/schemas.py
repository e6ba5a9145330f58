"""Request and response shapes of REST v1 for areas, stations, receivers, languages, users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import MAX_ID
from broadcast.people.models import Role
from stations.models import AreaLevel, StationKind

T = TypeVar("T")

Code = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
LanguageCode = Annotated[
    str, Field(min_length=2, max_length=16, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]+)*$")
]
# An object's id in a request body (bounded like IdPath in api/deps.py).
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields, so typos are reported instead of ignored."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list: the items, the total matching, and the window asked for."""

    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    """Pagination query parameters."""

    limit: int = 50
    offset: int = 0


def page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip")] = 0,
) -> PageParams:
    """Read limit/offset from the query string."""
    return PageParams(limit=limit, offset=offset)


# --- auth ------------------------------------------------------------------


class Token(BaseModel):
    """A bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int | None = Field(None, description="Seconds until it expires")


class ApiTokenCreate(Strict):
    """A long-lived token for an integration."""

    name: Name
    days: int | None = Field(None, ge=1, le=3650, description="Lifetime; omit for no expiry")
    scopes: list[Literal["alerts"]] = Field(
        default_factory=list,
        max_length=1,
        description="Extra permissions: 'alerts' lets the token deliver CAP alerts",
    )


class ApiTokenPublic(BaseModel):
    """An API token as listed (never its secret)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool
    scopes: list[str] = Field(default_factory=list, description="Extra permissions")


class ApiTokenCreated(ApiTokenPublic):
    """A token just created: `token` is shown this once."""

    token: str


class FeedTokenPublic(BaseModel):
    """The caller's calendar feed secret as stored (never the secret)."""

    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class FeedTokenCreated(FeedTokenPublic):
    """A new calendar feed secret, shown this once, and the feed address to subscribe to."""

    token: str
    url_template: str = Field(
        description="A station's feed address: put the station's id in place of {station_id}"
    )


# --- areas -----------------------------------------------------------------


# --- voices ------------------------------------------------------------------

Engine = Literal["gtts", "espeak", "viettel", "fpt"]
Accent = Literal["north", "central", "south"]
AudioCodec = Literal["mp3", "opus"]


class VoiceFields(BaseModel):
    """A voice choice; each field left null is inherited (area above, then the service)."""

    tts_engine: Engine | None = Field(
        None, description="Engine reading the Vietnamese version (null: the language policy)"
    )
    tts_accent: Accent | None = Field(
        None, description="Regional accent of eSpeak NG's Vietnamese voice"
    )
    tts_speed: float | None = Field(None, ge=0.7, le=1.3, description="Reading speed, 0.7-1.3")


class CodecFields(BaseModel):
    """The codec a station's receivers get (receivers that declared no Opus get MP3)."""

    audio_codec: AudioCodec | None = Field(None, description="mp3 (null = mp3) or opus")
    opus_bitrate_kbps: int | None = Field(
        None, ge=16, le=24, description="Opus bitrate, 16-24 kb/s (null: LOA_TTS_OPUS_BITRATE_KBPS)"
    )


class VoicePublic(BaseModel):
    """The voice and codec a station's programmes are actually made with."""

    tts_engine: str | None = Field(description="null: the language's engine policy")
    tts_accent: str
    tts_speed: float
    audio_codec: str
    opus_bitrate_kbps: int | None


class AreaBase(BaseModel):
    """Fields shared by area shapes."""

    code: Code = Field(description="Official administrative code")
    name: Name
    level: AreaLevel


class AreaCreate(AreaBase, VoiceFields, Strict):
    """A new area; `parent_code` is omitted only for a province (top level)."""

    parent_code: Code | None = None
    border: bool = Field(False, description="A commune on the national border")


class AreaUpdate(VoiceFields, Strict):
    """Changes to an area; set `parent_code` to move it (cycles are refused).

    A voice field set to null inherits again from the area above.
    """

    name: Name | None = None
    level: AreaLevel | None = None
    parent_code: Code | None = None
    border: bool | None = Field(None, description="A commune on the national border")


class AreaPublic(AreaBase, VoiceFields):
    """An area as shown."""

    id: int
    parent_code: str | None
    border: bool = Field(False, description="A commune on the national border")


# --- languages -------------------------------------------------------------


class LanguageCreate(Strict):
    """A new language (ISO 639 code where one exists)."""

    code: LanguageCode
    name: Name


class LanguageUpdate(Strict):
    """Changes to a language."""

    name: Name | None = None
    active: bool | None = None


class LanguagePublic(BaseModel):
    """A language as shown."""

    code: str
    name: str
    active: bool


# --- stations --------------------------------------------------------------


class StationCreate(VoiceFields, CodecFields, Strict):
    """A commune radio station and the languages it airs, in order."""

    area_code: Code
    name: Name
    kind: StationKind = StationKind.ip
    languages: list[LanguageCode] = Field(
        default_factory=lambda: ["vi"], min_length=1, max_length=10
    )


class StationUpdate(VoiceFields, CodecFields, Strict):
    """Changes to a station; a voice or codec field set to null inherits again."""

    name: Name | None = None
    kind: StationKind | None = None
    languages: list[LanguageCode] | None = Field(None, min_length=1, max_length=10)
    active: bool | None = None


class IdentPublic(BaseModel):
    """A station jingle as published media."""

    sha256: str
    bytes: int
    duration_ms: int


class StationPublic(VoiceFields, CodecFields):
    """A station as shown."""

    id: int
    area_code: str
    area_name: str
    name: str
    kind: StationKind
    languages: list[str]
    idents: dict[str, IdentPublic] = Field(
        default_factory=dict, description="The station's own intro/outro jingles"
    )
    active: bool
    created_at: datetime


# --- receivers -------------------------------------------------------------


class ReceiverCreate(Strict):
    """A loudspeaker-cluster receiver of a station."""

    name: Name
    location: str | None = Field(None, max_length=300)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class ReceiverUpdate(Strict):
    """Changes to a receiver."""

    name: Name | None = None
    location: str | None = Field(None, max_length=300)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    active: bool | None = None


class ReceiverPublic(BaseModel):
    """A receiver as shown."""

    id: str
    station_id: int
    name: str
    location: str | None
    latitude: float | None
    longitude: float | None
    mqtt_username: str
    active: bool
    online: bool
    last_seen_at: datetime | None
    created_at: datetime
    codecs: list[str] | None = Field(
        default=None,
        description='Codecs it declared in its state, e.g. ["mp3", "opus"]; null: MP3 only',
    )
    reported_volume: int | None = Field(
        default=None, description="Volume in percent it last reported in its state"
    )
    reported_volume_at: datetime | None = Field(
        default=None, description="When it reported that volume"
    )
    expected_volume: int | None = Field(
        default=None,
        description="Volume its schedule (its own, else its station's) sets now; null: none",
    )
    volume_mismatch: bool = Field(
        default=False,
        description="It reported a volume other than expected_volume",
    )
    features: list[str] | None = Field(
        default=None,
        description='Item types beyond files it declared in its state, e.g. ["relay"]; '
        "null: none (it is sent no relay)",
    )
    filler_version: str | None = Field(
        default=None,
        description="Version of the filler it reported holding in its state (compare with "
        "`GET /stations/{id}/filler`'s `version`); null: none",
    )
    programme_version: str | None = Field(
        default=None, description="Version of the latest programme it received (detail view)"
    )
    programme_broadcast_id: str | None = Field(
        default=None, description="The airing that programme belongs to (detail view)"
    )


class ReceiverCreated(ReceiverPublic):
    """A receiver just created: `mqtt_password` is shown this once, only a hash is kept."""

    mqtt_password: str


class ReceiverCredentials(BaseModel):
    """New MQTT credentials after a reset (shown once)."""

    mqtt_username: str
    mqtt_password: str


class ReceiversImported(BaseModel):
    """What `POST /receivers/bulk` created; `credentials_csv` is shown this once."""

    stations_created: int
    stations_reused: int = Field(description="Stations named in the file that existed already")
    receivers_created: int
    credentials_csv: str = Field(
        description="receiver_id,mqtt_username,mqtt_password,station_id,station_name,"
        "area_code,receiver_name; one line per receiver created"
    )


# --- volume by time of day -------------------------------------------------


class VolumeWindowIn(Strict):
    """A window of local time of day (LOA_TIMEZONE) with its volume; may cross midnight."""

    start: str = Field(description='"HH:MM", local time', examples=["21:00"])
    end: str = Field(description='"HH:MM" ("24:00": midnight); before start: next day')
    volume: int = Field(description="Percent, 0-100")


class VolumeScheduleIn(Strict):
    """Volume by time of day; windows may not overlap."""

    windows: list[VolumeWindowIn] = Field(default_factory=list)
    default_volume: int = Field(100, description="Percent outside every window")
    emergency_volume: int = Field(100, description="Percent of emergency airings, at any hour")


class VolumeSchedulePublic(BaseModel):
    """The schedule in force for a station or receiver, and the volume it sets now."""

    windows: list[VolumeWindowIn]
    default_volume: int
    emergency_volume: int
    source: Literal["station", "receiver"] | None = Field(
        description="Whose schedule this is (a receiver's own replaces its station's); "
        "null: none, items carry no volume"
    )
    current_volume: int | None = Field(description="The volume it sets now (normal airings)")


# --- users -----------------------------------------------------------------


class UserCreate(Strict):
    """A new user; `area_code` is their home area (omitted only for a global admin)."""

    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=128)]
    role: Role
    area_code: Code | None = None
    full_name: Name | None = None
    email: Annotated[str, Field(max_length=254)] | None = None


class UserUpdate(Strict):
    """Changes to a user."""

    password: Annotated[str, Field(min_length=8, max_length=128)] | None = None
    role: Role | None = None
    area_code: Code | None = None
    full_name: Name | None = None
    active: bool | None = None
    # An empty string removes the address.
    email: Annotated[str, Field(max_length=254)] | None = None


class UserPublic(BaseModel):
    """A user as shown (never the password hash)."""

    id: int
    username: str
    full_name: str | None
    role: Role
    area_code: str | None
    active: bool
    created_at: datetime
    email: str | None = None


# --- audit -----------------------------------------------------------------


class AuditEventPublic(BaseModel):
    """One audit-log entry."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    detail: dict[str, object]
