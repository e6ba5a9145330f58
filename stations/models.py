"""Table models for areas, languages, stations and receivers."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Column, DateTime, Dialect, String, TypeDecorator, false
from sqlmodel import Field, SQLModel

from stations.timeutil import as_utc, utcnow


class AreaLevel(StrEnum):
    """Administrative level of an area; districts are optional (abolished in 2025)."""

    province = "province"
    district = "district"
    commune = "commune"
    village = "village"


# A child must sit strictly below its parent in this order.
LEVEL_RANK = {
    AreaLevel.province: 0,
    AreaLevel.district: 1,
    AreaLevel.commune: 2,
    AreaLevel.village: 3,
}


class StationKind(StrEnum):
    """How a station proves that it aired a programme."""

    ip = "ip"  # smart-radio receivers acknowledge over MQTT
    legacy = "legacy"  # wired/FM: the commune operator confirms by hand


# Regional accents of Vietnamese speech and the delivery codecs a station may choose.
ACCENTS = ("north", "central", "south")
CODECS = ("mp3", "opus")
SPEED_RANGE = (0.7, 1.3)
OPUS_BITRATE_RANGE = (16, 24)  # kb/s: enough for speech, small enough for 3G data plans


class UTCTimestamp(TypeDecorator[datetime]):
    """`timestamptz` that always stores UTC and always reads back an aware UTC time.

    SQLite has no time zones: SQLAlchemy writes the wall clock of the value it is given
    and drops the offset, so "13:00+07:00" would come back as 13:00 UTC. Converting on the
    way in keeps SQLite and PostgreSQL identical.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def UTCDateTime() -> Column[datetime]:  # noqa: N802 - reads like a type in models
    """A timezone-aware timestamp column (stored as UTC)."""
    return Column(UTCTimestamp())


class Area(SQLModel, table=True):
    """A node of the administrative tree: province, district, commune or village."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    level: AreaLevel = Field(sa_type=String(16))
    parent_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    # Materialised path of ids, "/1/7/42/": subtree scoping is one prefix match.
    path: str = Field(default="/", max_length=512, index=True)
    # A commune on the national border (campaigns may target only these).
    # Only a server default: set-based inserts that leave it out (scale.py) stay valid.
    border: bool = Field(
        default=False, sa_column=Column(Boolean, server_default=false(), nullable=False)
    )
    # Voice of the area's stations; None inherits from the nearest area above that sets it.
    tts_engine: str | None = Field(default=None, max_length=32)
    tts_accent: str | None = Field(default=None, max_length=16)
    tts_speed: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class Language(SQLModel, table=True):
    """A language a bulletin version can be in (ISO 639 code where one exists)."""

    code: str = Field(primary_key=True, max_length=16)
    name: str = Field(max_length=100)  # Vietnamese name, shown on screen
    active: bool = True


class Station(SQLModel, table=True):
    """A commune radio station and the languages it airs, in airing order."""

    id: int | None = Field(default=None, primary_key=True)
    area_id: int = Field(foreign_key="area.id", index=True)
    name: str = Field(max_length=200)
    kind: StationKind = Field(default=StationKind.ip, sa_type=String(16))
    languages: list[str] = Field(default_factory=lambda: ["vi"], sa_column=Column(JSON))
    # The station's own jingles: {"intro": {"sha256", "bytes", "duration_ms"}, "outro": ...};
    # a kind missing here falls back to LOA_PROGRAMME_INTRO_FILE / _OUTRO_FILE.
    idents: dict[str, dict[str, Any]] = Field(default_factory=dict, sa_column=Column(JSON))
    # Voice (None: the area's, inherited) and the codec its receivers get.
    tts_engine: str | None = Field(default=None, max_length=32)
    tts_accent: str | None = Field(default=None, max_length=16)
    tts_speed: float | None = None
    audio_codec: str | None = Field(default=None, max_length=8)  # None = mp3
    opus_bitrate_kbps: int | None = None
    # Volume by time of day (stations/volume.py); None: every item airs without a volume.
    volume_schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Announced broadcast hours and the filler that fills them (stations/filler.py);
    # None: no hours announced, no filler.
    filler: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())


class Receiver(SQLModel, table=True):
    """A loudspeaker-cluster device; its id is also its MQTT username."""

    id: str = Field(primary_key=True, max_length=64)
    station_id: int = Field(foreign_key="station.id", index=True)
    name: str = Field(max_length=200)
    location: str | None = Field(default=None, max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    secret_hash: str = Field(max_length=255)
    # The same secret in mosquitto's PBKDF2-SHA512 ($7$) format, for `loa mqtt sync`.
    mqtt_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    online: bool = False
    # Codecs the receiver declared in its `state` (None: it declared none, so MP3 only).
    codecs: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # The receiver's own volume schedule, replacing its station's (None: the station's).
    volume_schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # The volume (percent) it last reported in its `state`, and when.
    reported_volume: int | None = None
    reported_volume_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    # Item types beyond files it declared in its `state` (e.g. ["relay"]; None: none).
    features: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # Filler (extension): the version it reported holding in its `state`, the version
    # last sent to it and when (broadcast/delivery/filler.py keeps them in step).
    filler_version: str | None = Field(default=None, max_length=64)
    filler_sent: str | None = Field(default=None, max_length=64)
    filler_sent_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    last_seen_at: datetime | None = Field(default=None, sa_column=UTCDateTime())
    created_at: datetime = Field(default_factory=utcnow, sa_column=UTCDateTime())
