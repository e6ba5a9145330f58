"""One settings object for the whole service (environment prefix `LOA_`)."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, PositiveInt, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# Only accepted while LOA_ENV=development; any other environment refuses to start with it.
DEVELOPMENT_SECRET = "loa-development-secret-do-not-use-in-production"


log = logging.getLogger(__name__)


class Environment(StrEnum):
    """Where the service runs; only `development` tolerates default secrets."""

    development = "development"
    test = "test"
    production = "production"


class Weekday(StrEnum):
    """A day of the week, by its English name (Monday = 0 as in `date.weekday()`)."""

    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday ... 6 for Sunday."""
        return list(Weekday).index(self)


class Settings(BaseSettings):
    """Loa's settings, read from `LOA_*` variables and an optional TOML file (`LOA_CONFIG`)."""

    model_config = SettingsConfigDict(env_prefix="LOA_", extra="ignore", validate_default=True)

    env: Environment = Field(Environment.development, description="development, test or production")
    secret_key: str = Field(DEVELOPMENT_SECRET, description="Signs access tokens and sessions")
    database_url: str = Field(
        "sqlite:///./var/loa.db", description="SQLAlchemy URL: sqlite:/// or postgresql+psycopg://"
    )
    mqtt_url: str | None = Field(
        None, description="mqtt://user:pass@host:port of an external broker; unset = embedded"
    )
    mqtt_embedded_port: int = Field(1883, ge=0, le=65535, description="Embedded broker port")
    mqtt_topic_prefix: str = Field("loa/v1", description="Prefix of every receiver topic")
    mqtt_username: str = Field("loa-server", description="The service's own MQTT username")
    mqtt_password: str | None = Field(None, description="The service's own MQTT password")
    media_dir: Path = Field(Path("./var/media"), description="Where audio files are stored")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="Base URL receivers use to download media"
    )
    timezone: str = Field("Asia/Ho_Chi_Minh", description="Zone for schedules and display")
    lookahead_minutes: int = Field(
        30, ge=0, le=24 * 60, description="Programmes are sent this long before air time"
    )
    programme_expiry_minutes: int = Field(
        15, ge=1, description="A programme not received this long after air time expires"
    )
    missed_grace_seconds: int = Field(
        300, ge=0, description="Not completed by air time + duration + this: missed"
    )
    ingest_batch_size: int = Field(
        1000, ge=1, le=100_000, description="Acknowledgements stored per database transaction"
    )
    ingest_flush_ms: int = Field(
        50, ge=1, le=60_000, description="Longest wait before a partial batch is stored"
    )
    clock_skew_seconds: int = Field(
        120,
        ge=0,
        le=3600,
        description="How far a receiver's clock may be off before its times are not believed",
    )
    reair_after_emergency_minutes: int = Field(
        30,
        ge=0,
        le=24 * 60,
        description="A programme an emergency interrupted is aired again after it if it can "
        "start within this many minutes of the interruption; 0: never",
    )
    late_after_seconds: int = Field(
        300, ge=0, description="An airing started more than this after air time is late"
    )
    ingest_max_lag_seconds: float = Field(
        60.0, gt=0, description="Not ready when the oldest unstored acknowledgement is older"
    )
    worker_instances: int = Field(
        1,
        ge=1,
        le=64,
        description="How many `loa worker` processes share the database and broker",
    )
    worker_instance: int = Field(
        1, ge=1, le=64, description="Which of them this process is (`loa worker --instance`)"
    )
    mqtt_shared_group: str = Field(
        "",
        pattern=r"^[A-Za-z0-9_-]{0,32}$",
        description="Ingestors share acknowledgements as `$share/<group>/...`; empty = off",
    )
    scheduler_interval_seconds: float = Field(
        2.0, gt=0, le=300, description="How often the worker looks for airings to send"
    )
    filler_interval_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often the worker checks that receivers hold their station's filler",
    )
    access_token_minutes: int = Field(720, ge=1, description="Lifetime of a login token")
    login_max_failures: int = Field(
        10, ge=1, description="Failed sign-ins of one account (or receiver) before a lockout"
    )
    login_max_failures_per_address: int = Field(
        50, ge=1, description="Failed sign-ins from one client address before a lockout"
    )
    login_window_seconds: float = Field(
        900.0, gt=0, description="The window in which failed sign-ins are counted"
    )
    login_lockout_seconds: float = Field(
        900.0, gt=0, description="How long a locked account or address is refused"
    )
    metrics_token: str | None = Field(
        None,
        min_length=16,
        description="Bearer token Prometheus sends to /metrics (unset: only a global "
        "administrator's token is accepted there)",
    )
    broker_hook_token: str | None = Field(
        None,
        min_length=24,
        description="Bearer token a broker sends to /broker/v1/authenticate and /authorize "
        "(EMQX's HTTP authentication and authorization); unset: those routes answer 404",
    )
    demo_credentials_file: Path = Field(
        Path("./var/demo-admin.txt"), description="Where `loa demo` keeps the demo admin login"
    )
    # --- bulletin audio and commune programmes ---
    tts_online: bool = Field(
        True, description="Allow online TTS engines (gTTS); false = offline engines only"
    )
    tts_engine_policy: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Engines per language in order of preference, e.g. {"vi": ["espeak"]}; '
        "empty = the tts package's default",
    )
    tts_loudness_lufs: float = Field(-16.0, le=0, description="Loudness target of bulletin audio")
    tts_bitrate: str = Field("48k", description="MP3 bitrate of bulletin and programme audio")
    tts_sample_rate: int = Field(24_000, ge=8_000, le=48_000, description="Audio sample rate")
    tts_gtts_timeout: float = Field(10.0, gt=0, description="Seconds before gTTS gives up")
    tts_accent: str = Field(
        "north",
        pattern="^(north|central|south)$",
        description="Vietnamese accent of areas and stations that choose none (eSpeak NG)",
    )
    tts_speed: float = Field(
        1.0, ge=0.7, le=1.3, description="Reading speed of areas and stations that choose none"
    )
    tts_opus_bitrate_kbps: int = Field(
        24, ge=16, le=24, description="Opus bitrate of stations that choose Opus but no bitrate"
    )
    max_recording_seconds: float = Field(
        1800.0, gt=0, description="Longest human recording accepted for one bulletin version"
    )
    max_upload_mb: int = Field(100, ge=1, description="Largest recording upload, in MB")
    render_poll_seconds: float = Field(
        2.0, gt=0, description="How often the render worker looks for pending audio"
    )
    programme_gap_ms: int = Field(1000, ge=0, le=60_000, description="Silence between items")
    programme_max_minutes: float | None = Field(
        45.0, gt=0, description="Longest programme per slot; later items move to the next slot"
    )
    programme_require_all_languages: bool = Field(
        False, description="Block a programme when a version the station airs is missing"
    )
    programme_intro_file: Path | None = Field(None, description="Station ident played first")
    programme_outro_file: Path | None = Field(None, description="Station ident played last")
    # --- CAP alerts (defaults of areas without an alert rule of their own) ---
    alert_hold_minutes: int = Field(
        10,
        ge=0,
        le=24 * 60,
        description="An alert from a sender not trusted by its area waits this long for an "
        "approver, then airs anyway",
    )
    alert_repeat_minutes: int = Field(
        60, ge=5, le=24 * 60, description="An alert airs again this often until it expires"
    )
    alert_feed_poll_seconds: float = Field(
        60.0, ge=1, le=24 * 3600, description="How often an area's CAP feed (Atom/RSS) is read"
    )
    alert_feed_max_backoff_seconds: float = Field(
        900.0, ge=1, le=24 * 3600, description="Longest wait after a feed failed again and again"
    )
    alert_feed_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="A feed or CAP document not read in this time failed"
    )
    # --- webhooks (docs/api.md, "Webhooks") ---
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="A subscriber not answering in this time failed the try"
    )
    webhook_retry_seconds: list[PositiveInt] = Field(
        default_factory=lambda: [60, 300, 1800, 7200, 43200],
        min_length=1,
        description="Waits before each new try of an event a subscriber did not take "
        "(the last one repeats)",
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=100, description="Tries of one event per subscriber before it is given up"
    )
    webhook_concurrency: int = Field(
        8, ge=1, le=64, description="Requests to subscribers in flight at once"
    )
    webhook_batch_size: int = Field(
        200, ge=1, le=10_000, description="Events sent per pass of the webhook sender"
    )
    webhook_per_subscription: int = Field(
        20,
        ge=1,
        le=10_000,
        description="Events sent to one subscriber per pass: a slow one never holds up others",
    )
    webhook_poll_seconds: float = Field(
        2.0, gt=0, le=300, description="How often the worker looks for events to send"
    )
    webhook_keep_days: int = Field(
        30, ge=1, le=3650, description="Delivered and given-up events leave the log after this"
    )

    # --- e-mail and notifications (docs/operations.md, "E-mail") ---
    smtp_host: str | None = Field(
        None, description="SMTP server that sends Loa's e-mail; none: no e-mail is sent"
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="Port of the SMTP server")
    smtp_username: str | None = Field(None, description="SMTP login (none: no login)")
    smtp_password: str | None = Field(None, description="SMTP password")
    smtp_from: str = Field("loa@localhost", description="Sender address of Loa's e-mail")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS")
    smtp_timeout_seconds: float = Field(
        15.0, gt=0, le=300, description="An SMTP server not answering in this time failed the try"
    )
    smtp_retry_seconds: list[PositiveInt] = Field(
        default_factory=lambda: [60, 300, 1800, 7200],
        min_length=1,
        description="Waits before each new try of an e-mail not taken (the last one repeats)",
    )
    smtp_max_attempts: int = Field(
        6, ge=1, le=100, description="Tries of one e-mail before it is given up"
    )
    digest_weekday: Weekday = Field(
        Weekday.monday, description="Day of the weekly campaign digest (monday ... sunday)"
    )
    digest_hour: int = Field(
        7, ge=0, le=23, description="Local hour (LOA_TIMEZONE) of the weekly campaign digest"
    )
    language_gap_hours: float = Field(
        24, gt=0, le=24 * 14, description="Hours before an airing a missing language is alerted"
    )
    notify_poll_seconds: float = Field(
        60.0, gt=0, le=3600, description="How often the worker looks for digests, gaps and e-mail"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then environment, then the TOML file named by LOA_CONFIG."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("LOA_CONFIG")
        if config_file:
            if not Path(config_file).is_file():
                raise ValueError(f"LOA_CONFIG names {config_file}, which is not a readable file")
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone '{value}' (expected e.g. Asia/Ho_Chi_Minh)"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("LOA_DATABASE_URL must start with sqlite:// or postgresql+psycopg://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _clean_prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(ch in value for ch in "#+"):
            raise ValueError("LOA_MQTT_TOPIC_PREFIX must be a plain topic such as loa/v1")
        return value

    @field_validator("mqtt_username")
    @classmethod
    def _not_a_receiver_login(cls, value: str) -> str:
        if value.startswith(("rx-", "sim-")):
            raise ValueError("LOA_MQTT_USERNAME may not start with rx- or sim- (receiver logins)")
        return value

    @model_validator(mode="after")
    def _instance_in_range(self) -> Settings:
        if self.worker_instance > self.worker_instances:
            raise ValueError(
                f"LOA_WORKER_INSTANCE ({self.worker_instance}) must not exceed "
                f"LOA_WORKER_INSTANCES ({self.worker_instances})"
            )
        return self

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        weak = self.secret_key == DEVELOPMENT_SECRET or len(self.secret_key) < 32
        if self.env != Environment.development and weak:
            raise ValueError(
                f"LOA_SECRET_KEY must be set to a random value of 32+ characters when "
                f"LOA_ENV={self.env.value}; the development default is refused"
            )
        return self

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.database_url.startswith("sqlite")

    def public_settings(self) -> dict[str, Any]:
        """Settings safe to show (no secrets)."""
        hidden = {"secret_key", "mqtt_password", "metrics_token", "broker_hook_token"}
        return {k: v for k, v in self.model_dump(mode="json").items() if k not in hidden}


def get_settings(**overrides: Any) -> Settings:
    """Build and validate the settings (entry points call this once)."""
    return Settings(**overrides)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _outward_address() -> str:
    """This machine's address on its default route (no packet is sent), else loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: a UDP connect only picks a route
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def served_at(settings: Settings, *, host: str, port: int) -> Settings:
    """The settings of a service listening on host:port.

    When LOA_PUBLIC_BASE_URL is not given, receivers download media from the address
    actually served: `host` (this machine's outward address when it listens on every
    interface) and `port`. A given LOA_PUBLIC_BASE_URL is kept, with a warning when it
    names this machine's loopback while the service listens beyond it: remote receivers
    would then fail every download.
    """
    if "public_base_url" in settings.model_fields_set:
        base = urlsplit(settings.public_base_url)
        if _loopback(base.hostname or "") and not _loopback(host):
            log.warning(
                "LOA_PUBLIC_BASE_URL=%s points at this machine's loopback while the service "
                "listens on %s: receivers on other machines cannot download media",
                settings.public_base_url,
                host,
            )
        return settings
    shown = _outward_address() if host in ("", "0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return settings.model_copy(update={"public_base_url": f"http://{shown}:{port}"})
