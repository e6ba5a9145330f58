"""The receiver protocol over MQTT: topics, payloads, size limits and access rules.

Topics (the prefix, `loa/v1` by default, is configurable):

- `{prefix}/receivers/{receiver_id}/cmd`   server -> receiver, QoS 1: programme, cancel, filler
- `{prefix}/receivers/{receiver_id}/ack`   receiver -> server, QoS 1: one step of a delivery
- `{prefix}/receivers/{receiver_id}/state` receiver -> server, QoS 1, retained; also the Will

docs/protocol.md is written from this module (`json_schemas()`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

QOS_CMD = 1
QOS_ACK = 1
QOS_STATE = 1

# Payload limits: a programme has at most MAX_ITEMS items; anything larger is refused unread.
MAX_CMD_BYTES = 64 * 1024
MAX_ACK_BYTES = 4 * 1024
MAX_STATE_BYTES = 4 * 1024
MAX_ITEMS = 100
# A filler command (extension) names at most this many spans and tracks.
MAX_FILLER_SPANS = 400
MAX_FILLER_ITEMS = 50
MAX_DETAIL_CHARS = 500
# The language of an item with no linguistic content (ISO 639-2 "zxx"): a station ident.
IDENT_LANGUAGE = "zxx"
# Bounds of what is stored (docs/protocol.md, "Limits and bad input"): the numbers of a
# "<broadcast>.<seq>" ref fit an integer column (PostgreSQL INTEGER), and times lie well inside what
# UTC conversion and the databases take. A device whose clock was reset reads 1970: its
# reports are stored, with their times clamped as implausible (docs/protocol.md).
MAX_REF_NUMBER = 2**31 - 1
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
BroadcastRef = Annotated[str, Field(pattern=ID_PATTERN, description="One airing of a broadcast")]


class ProtocolError(ValueError):
    """A payload or topic that does not follow the receiver protocol."""


_TIME_RANGE = f"times lie from {EARLIEST_TIME:%Y-%m-%d} to before {LATEST_TIME:%Y-%m-%d} (UTC)"


def _bounded_time(value: datetime) -> datetime:
    """`value` when it lies in [EARLIEST_TIME, LATEST_TIME) (naive: read as UTC)."""
    # The year as written first: converting year 1 or 9999 with an offset overflows.
    if not EARLIEST_TIME.year - 1 <= value.year <= LATEST_TIME.year:
        raise ValueError(_TIME_RANGE)
    utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST_TIME <= utc < LATEST_TIME:
        raise ValueError(_TIME_RANGE)
    return value


def _bounded_ref(value: str) -> str:
    """`value` unless it is a "<broadcast>.<seq>" ref whose numbers exceed MAX_REF_NUMBER."""
    head, sep, tail = value.partition(".")
    # 9 digits always fit; only longer runs of digits are read (the ingestor's hot path).
    if (
        sep
        and (len(head) > 9 or len(tail) > 9)
        and head.isdigit()
        and tail.isdigit()
        and max(int(head), int(tail)) > MAX_REF_NUMBER
    ):
        raise ValueError(f"broadcast and seq numbers are at most {MAX_REF_NUMBER}")
    return value


def _aware_text(value: Any) -> Any:
    # RFC 3339 text, never a number read as Unix time (as in acks).
    if not isinstance(value, str | datetime):
        raise ValueError("times are RFC 3339 text with an offset")
    return value


class AckState(StrEnum):
    """The steps a receiver reports for a programme."""

    received = "received"
    downloaded = "downloaded"
    started = "started"
    completed = "completed"
    failed = "failed"
    rejected = "rejected"


class Priority(StrEnum):
    """Bulletin priorities of Thông tư 39/2020/TT-BTTTT."""

    normal = "normal"
    priority = "priority"
    emergency = "emergency"  # airs at once, interrupting what is playing


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaItem(_Payload):
    """One audio file of a programme, downloaded over HTTP and checked against its digest.

    `codec` and `content_type` come only with files in another codec than MP3, sent only
    to receivers that declared it in their `state`.
    """

    url: str = Field(max_length=2000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(ge=0, le=2**31)
    duration_ms: int = Field(ge=0, le=24 * 3600 * 1000)
    language: str = Field(
        max_length=16,
        description='ISO 639 code of the item; "zxx" (no linguistic content) is a station ident',
    )
    title: str = Field(max_length=300)
    codec: Literal["mp3", "opus"] | None = Field(
        default=None, description="Absent: mp3 (extension of the protocol)"
    )
    content_type: str | None = Field(
        default=None, max_length=100, description='"audio/ogg" for opus; absent: audio/mpeg'
    )
    volume: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Percent to air the item at (extension; absent: as the receiver is set)",
    )


class RelayItem(_Payload):
    """A live stream relayed from `air_at` until `until` (extension: `type: "relay"`).

    No digest and no length: the receiver opens `url` (Icecast/HTTP MP3 or AAC, HLS) at
    air time, plays until `until` (UTC), reconnects after a cut and reports the seconds
    lost. Sent only to receivers that declared `"relay"` in `features`.
    """

    type: Literal["relay"]
    url: str = Field(max_length=2000)
    until: datetime
    language: str = Field(default="vi", max_length=16)
    title: str = Field(max_length=300)
    volume: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Percent to relay the stream at (extension; absent: as the receiver is set)",
    )

    @field_validator("until", mode="before")
    @classmethod
    def _text_until(cls, value: Any) -> Any:
        return _aware_text(value)

    @field_validator("until")
    @classmethod
    def _until(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times carry an offset (RFC 3339)")
        return _bounded_time(value)


def _item_kind(value: Any) -> str:
    """Which item a payload is: a file has no `type` (as always), a relay says so."""
    if isinstance(value, dict):
        kind = value.get("type", "file")
        return kind if isinstance(kind, str) else "unknown"
    return "relay" if isinstance(value, RelayItem) else "file"


# A programme item: a file (no `type`, as always) or a relay; any other `type` is refused.
ProgrammeItem = Annotated[
    Annotated[MediaItem, Tag("file")] | Annotated[RelayItem, Tag("relay")],
    Discriminator(_item_kind),
]


class ProgrammeCommand(_Payload):
    """Air these items at `air_at`; ignore it once `expires_at` has passed."""

    type: Literal["programme"] = "programme"
    broadcast_id: BroadcastRef
    air_at: datetime
    expires_at: datetime
    priority: Priority = Priority.normal
    version: str = Field(max_length=64)
    items: list[ProgrammeItem] = Field(max_length=MAX_ITEMS)

    @field_validator("air_at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times carry an offset (RFC 3339)")
        return value

    @property
    def duration_ms(self) -> int:
        """Total length of the programme (a relay lasts from `air_at` to its `until`)."""
        return sum(self.item_duration_ms(item) for item in self.items)

    def item_duration_ms(self, item: ProgrammeItem) -> int:
        """How long one item plays."""
        if isinstance(item, RelayItem):
            return max(0, round((item.until - self.air_at).total_seconds() * 1000))
        return item.duration_ms

    @model_validator(mode="after")
    def _one_relay(self) -> ProgrammeCommand:
        if self.relays and len(self.items) != 1:
            raise ValueError("a relay programme holds its relay item only")
        return self

    @property
    def files(self) -> list[MediaItem]:
        """The file items of the programme, in order."""
        return [item for item in self.items if isinstance(item, MediaItem)]

    @property
    def relays(self) -> list[RelayItem]:
        """The relay items of the programme."""
        return [item for item in self.items if isinstance(item, RelayItem)]


class CancelCommand(_Payload):
    """Do not air this broadcast (or stop it when it is playing)."""

    type: Literal["cancel"] = "cancel"
    broadcast_id: BroadcastRef


class FillerSpan(_Payload):
    """A span of the station's announced broadcast hours that filler may fill (UTC)."""

    start: datetime
    end: datetime
    volume: int | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Percent to air filler at in the span (absent: as the receiver is set)",
    )

    @field_validator("start", "end", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return _aware_text(value)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times carry an offset (RFC 3339)")
        return _bounded_time(value)

    @model_validator(mode="after")
    def _ordered(self) -> FillerSpan:
        if self.end <= self.start:
            raise ValueError("a span ends after it starts")
        return self


class FillerCommand(_Payload):
    """Fill these spans with these files, in turn, whenever nothing else airs (extension:
    `type: "filler"`).

    It replaces the filler the receiver held before; no spans or no items: no filler.
    A programme or relay due inside a span stops the filler at its air time; filler
    resumes after it, inside a span. Sent only to receivers that declared `"filler"` in
    `features`; they report the `version` they hold, downloaded, in `state.filler`.
    """

    type: Literal["filler"]
    version: str = Field(max_length=64)
    spans: list[FillerSpan] = Field(max_length=MAX_FILLER_SPANS)
    items: list[MediaItem] = Field(max_length=MAX_FILLER_ITEMS)

    @model_validator(mode="after")
    def _apart(self) -> FillerCommand:
        for before, after in zip(self.spans, self.spans[1:], strict=False):
            if after.start < before.end:
                raise ValueError("spans are in order and do not overlap")
        return self

    @property
    def airs(self) -> bool:
        """Whether there is anything to fill with and anywhere to fill."""
        return bool(self.spans and self.items)

    def span_at(self, moment: datetime) -> FillerSpan | None:
        """The span holding `moment` (aware), if any."""
        for span in self.spans:
            if span.start <= moment < span.end:
                return span
            if span.start > moment:
                return None
        return None

    def next_start(self, moment: datetime) -> datetime | None:
        """When the first span that starts after `moment` starts, if any."""
        for span in self.spans:
            if span.start > moment:
                return span.start
        return None


Command = Annotated[ProgrammeCommand | CancelCommand | FillerCommand, Field(discriminator="type")]
_command_adapter: TypeAdapter[ProgrammeCommand | CancelCommand | FillerCommand] = TypeAdapter(
    Command
)


class Ack(_Payload):
    """One step of a delivery as the receiver saw it (`at` is the receiver's clock)."""

    broadcast_id: BroadcastRef
    state: AckState
    at: datetime
    detail: str | None = Field(default=None, max_length=MAX_DETAIL_CHARS)
    receiver_id: str | None = Field(
        default=None, max_length=64, description="Optional; when given it must match the topic"
    )
    lost_seconds: float | None = Field(
        default=None,
        ge=0,
        le=24 * 3600,
        description="Relays (extension): seconds of the window not aired, cuts and reconnects",
    )
    reconnects: int | None = Field(
        default=None, ge=0, le=100_000, description="Relays (extension): times it reconnected"
    )

    @field_validator("broadcast_id")
    @classmethod
    def _ref(cls, value: str) -> str:
        return _bounded_ref(value)

    @field_validator("at", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        # pydantic would read a number as Unix time; the protocol says RFC 3339 text. A
        # datetime is what a sender (the receiver agent) builds its ack from.
        if not isinstance(value, str | datetime):
            raise ValueError("times are RFC 3339 text with an offset")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("times carry an offset (RFC 3339)")
        return _bounded_time(value)

    @field_validator("detail")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL.
        if value is not None and "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        return value


class ReceiverStatus(BaseModel):
    """What a receiver says about itself (retained); extra fields such as firmware are kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    online: bool
    at: datetime | None = None
    version: str | None = Field(
        default=None, max_length=64, description="Programme version it holds"
    )
    broadcast_id: str | None = Field(default=None, max_length=64, description="What it is playing")
    codecs: list[Annotated[str, Field(max_length=16)]] | None = Field(
        default=None,
        max_length=8,
        description='Codecs it plays, e.g. ["mp3", "opus"] (extension; absent: MP3 only)',
    )
    volume: float | None = Field(
        default=None,
        description="Volume in percent it plays at (extension); anything but a number "
        "from 0 to 100 is ignored",
    )

    @field_validator("volume", mode="before")
    @classmethod
    def _lenient_volume(cls, value: Any) -> Any:
        # Devices sent `volume` in their own forms before it was defined: never refuse a state.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return value if 0 <= value <= 100 else None

    features: list[Annotated[str, Field(max_length=16)]] | None = Field(
        default=None,
        max_length=8,
        description='Item types beyond files it airs, e.g. ["relay", "filler"] '
        "(extension; absent: none)",
    )
    filler: str | None = Field(
        default=None,
        description="Version of the filler command it holds, its files downloaded "
        "(extension); anything but text of up to 64 characters is ignored",
    )

    @field_validator("filler", mode="before")
    @classmethod
    def _lenient_filler(cls, value: Any) -> Any:
        # Never refuse a state over an extension field.
        return value if isinstance(value, str) and 0 < len(value) <= 64 else None

    @field_validator("at")
    @classmethod
    def _bounded(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _bounded_time(value)


# --- topics ------------------------------------------------------------------


class TopicKind(StrEnum):
    """The last level of a receiver topic."""

    cmd = "cmd"
    ack = "ack"
    state = "state"


_TOPIC_KINDS = {kind.value: kind for kind in TopicKind}
_RECEIVER_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def valid_receiver_id(receiver_id: str) -> bool:
    """True when the id can be a topic level and an MQTT username."""
    return 0 < len(receiver_id) <= 64 and set(receiver_id) <= _RECEIVER_ID_CHARS


@dataclass(frozen=True, slots=True)
class Topics:
    """Builds and parses the receiver topics under one prefix."""

    prefix: str = "loa/v1"

    def cmd(self, receiver_id: str) -> str:
        """Where the server sends a receiver its commands."""
        return f"{self.prefix}/receivers/{receiver_id}/cmd"

    def ack(self, receiver_id: str) -> str:
        """Where a receiver reports the steps of a delivery."""
        return f"{self.prefix}/receivers/{receiver_id}/ack"

    def state(self, receiver_id: str) -> str:
        """Where a receiver keeps its retained state (and its Will)."""
        return f"{self.prefix}/receivers/{receiver_id}/state"

    @property
    def all_acks(self) -> str:
        """Subscription filter for every receiver's acknowledgements."""
        return f"{self.prefix}/receivers/+/ack"

    @property
    def all_states(self) -> str:
        """Subscription filter for every receiver's state."""
        return f"{self.prefix}/receivers/+/state"

    def parse(self, topic: str) -> tuple[str, TopicKind] | None:
        """(receiver_id, kind) of a receiver topic, or None for anything else."""
        head = f"{self.prefix}/receivers/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 2 or not valid_receiver_id(parts[0]):
            return None
        kind = _TOPIC_KINDS.get(parts[1])
        return None if kind is None else (parts[0], kind)

    def receiver_may(self, username: str, topic: str, action: str) -> bool:
        """The ACL of a receiver: read its own `cmd`, write its own `ack` and `state`.

        `action` is "read" (subscribe / receive) or "write" (publish).
        """
        if not valid_receiver_id(username):
            return False
        if action == "read":
            return topic == self.cmd(username)
        if action == "write":
            return topic in (self.ack(username), self.state(username))
        return False


# --- payloads ----------------------------------------------------------------


def _load(payload: bytes, limit: int) -> Any:
    if len(payload) > limit:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds the limit of {limit}")
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"payload is not JSON: {exc}") from None


def _explain(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "payload"
    return f"{where}: {first.get('msg', 'invalid')}"


def decode_command(payload: bytes) -> ProgrammeCommand | CancelCommand | FillerCommand:
    """Parse a `cmd` payload; ProtocolError when it is malformed or too large."""
    data = _load(payload, MAX_CMD_BYTES)
    try:
        command = _command_adapter.validate_python(data)
    except ValidationError as exc:
        raise ProtocolError(_explain(exc)) from None
    if isinstance(command, ProgrammeCommand):
        for name in ("air_at", "expires_at"):
            try:
                _bounded_time(getattr(command, name))
            except ValueError as exc:
                raise ProtocolError(f"{name}: {exc}") from None
    return command


def command_ref(payload: bytes) -> str | None:
    """The `broadcast_id` of a programme command that could not be read, to reject it by."""
    try:
        data = json.loads(payload) if len(payload) <= MAX_CMD_BYTES else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("type") != "programme":
        return None
    ref = data.get("broadcast_id")
    if isinstance(ref, str) and 0 < len(ref) <= 64 and set(ref) <= _REF_CHARS:
        return ref
    return None


_REF_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")


def decode_ack(payload: bytes) -> Ack:
    """Parse an `ack` payload; ProtocolError when it is malformed or too large."""
    if len(payload) > MAX_ACK_BYTES:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds the limit of {MAX_ACK_BYTES}")
    try:
        # Parsed and validated in one pass by pydantic-core (the ingestor's hot path).
        return Ack.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first.get("type") == "json_invalid":
            raise ProtocolError(f"payload is not JSON: {first.get('msg', '')}") from None
        raise ProtocolError(_explain(exc)) from None


def decode_state(payload: bytes) -> ReceiverStatus:
    """Parse a `state` payload; ProtocolError when it is malformed or too large."""
    data = _load(payload, MAX_STATE_BYTES)
    try:
        return ReceiverStatus.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(_explain(exc)) from None


def encode(message: BaseModel) -> bytes:
    """The JSON bytes of a payload (compact, UTF-8, no nulls for unset optional fields)."""
    return message.model_dump_json(exclude_none=True).encode()


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas of every payload, for docs/protocol.md."""
    return {
        "cmd": _command_adapter.json_schema(),
        "ack": Ack.model_json_schema(),
        "state": ReceiverStatus.model_json_schema(),
    }
