"""Dispatch: turn due airings into per-receiver deliveries and hand their commands to MQTT.

Crash safety: deliveries are written (state `queued`, command stored) and the airing
marked dispatched in one transaction; commands are published afterwards and the rows
moved to `sent` once the broker took them. A restart republishes whatever is still
`queued`: a receiver may see a command twice (it keys on broadcast_id and version),
but no airing is sent twice by the scheduler nor skipped. When a receiver comes
online, `resend_to_online` publishes its still-current stored commands again, for
receivers the broker kept no session for.

Only what can air is sent. Each station's programme is built on its own: a station whose
programme has nothing airable (`no_content`), is blocked by a missing language
(`blocked`) or cannot be built at all (`no_content`, with the error) gets its deliveries
decided at once, unsent, with the reason in `detail`, and the rest of the airing goes
out as usual. Bulletins that do not fit in a station's slot are kept in
`Occurrence.overflow` and aired first by the next airing of the same broadcast there.

A station that chose Opus sends it only to the receivers that declared Opus in their
`state` (`Receiver.codecs`); its other receivers get the same programme in MP3, with its
own version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

from sqlalchemy import Engine, and_, bindparam, insert, literal_column, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, SQLModel, col, select

from broadcast.bulletins.media import media_url
from broadcast.core.db import (
    BulkStatement,
    driver_list,
    driver_time,
    in_list,
    rows_insert,
    transaction,
)
from broadcast.core.metrics import Metrics
from broadcast.core.settings import Settings
from broadcast.delivery.models import (
    NOT_SENT_STATES,
    Delivery,
    DeliveryState,
    record_events,
    record_events_of,
)
from broadcast.relays.models import RelaySource
from broadcast.schedule.models import (
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    BroadcastTarget,
    Occurrence,
    OccurrenceState,
)
from broadcast.schedule.service import hold_if_pending, occurrence_ref
from broadcast.webhooks import events as webhook_events
from stations import volume
from stations.models import Area, Receiver, Station, StationKind
from stations.protocol import (
    CancelCommand,
    MediaItem,
    Priority,
    ProgrammeCommand,
    RelayItem,
    Topics,
    encode,
)
from stations.timeutil import as_utc

log = logging.getLogger(__name__)

# How long publish_queued() waits for the broker to take a whole batch (one deadline for
# the batch, never per message) before leaving the rest `queued` for a later pass.
PUBLISH_CONFIRM_SECONDS = 10.0
DETAIL_CHARS = 500  # Delivery.detail and Occurrence.detail
PUBLISH_BATCH = 5000
# Deliveries whose programme is sent again to a receiver that comes online.
NOT_AIRING = (
    DeliveryState.queued,
    DeliveryState.sent,
    DeliveryState.received,
    DeliveryState.downloaded,
)
DELIVERY = SQLModel.metadata.tables["delivery"]
# queued -> sent for the commands the broker took (ids bound as one list parameter).
_MARK_SENT = BulkStatement(
    lambda dialect: (
        update(DELIVERY)
        .where(
            in_list(DELIVERY.c.id, "ids", dialect),
            DELIVERY.c.state == literal_column(f"'{DeliveryState.queued.value}'"),
        )
        .values(
            state=literal_column(f"'{DeliveryState.sent.value}'"),
            sent_at=bindparam("sent_at"),
            updated_at=bindparam("updated_at"),
        )
    ),
    ("sent_at", "updated_at", "ids"),
)
_DELIVERY_KEYS = (
    "occurrence_id",
    "broadcast_id",
    "station_id",
    "receiver_id",
    "target",
    "state",
    "version",
    "duration_ms",
    "payload",
    "detail",
    "sent_at",
    "finished_at",
    "updated_at",
    "attempt",
)
_INSERT_DELIVERIES = BulkStatement(
    insert(DELIVERY),
    _DELIVERY_KEYS,
    rows=rows_insert(DELIVERY, _DELIVERY_KEYS, skip_conflicts=False),
)


class ProgrammeNote(Protocol):
    """What dispatch reads of a playlists.ProgrammeWarning."""

    @property
    def code(self) -> str: ...  # noqa: D102

    @property
    def message(self) -> str: ...  # noqa: D102


class StationProgramme(Protocol):
    """What dispatch needs of a playlists.Programme."""

    @property
    def version(self) -> str: ...  # noqa: D102

    @property
    def total_duration_ms(self) -> int: ...  # noqa: D102

    @property
    def bulletin_ids(self) -> tuple[int, ...]: ...  # noqa: D102

    @property
    def overflow_ids(self) -> tuple[int, ...]: ...  # noqa: D102

    @property
    def blocked(self) -> bool: ...  # noqa: D102

    @property
    def warnings(self) -> Sequence[ProgrammeNote]: ...  # noqa: D102

    def manifest(self, media_url: Callable[..., str]) -> dict[str, Any]: ...  # noqa: D102


# builder(session, station, bulletin_ids, settings[, codec="mp3"]): the station's
# programme in its own codec, or in MP3 for its receivers that play nothing else.
ProgrammeBuilder = Callable[..., StationProgramme]


def default_programme_builder(
    session: Session,
    station: Station,
    bulletin_ids: Sequence[int],
    settings: Settings,
    codec: str | None = None,
) -> StationProgramme:
    """The station's programme from `broadcast.delivery.programmes.programme_for_station`."""
    from broadcast.delivery.programmes import programme_for_station

    programme: StationProgramme = programme_for_station(
        session=session,
        station=station,
        bulletin_ids=list(bulletin_ids),
        settings=settings,
        codec=codec,
    )
    return programme


def plays(codecs: Sequence[str] | None, codec: str) -> bool:
    """True when a receiver that declared `codecs` plays `codec` (MP3 always)."""
    return codec == "mp3" or codec in (codecs or ())


def media_url_for(settings: Settings) -> Callable[..., str]:
    """The URL receivers download a file from, by sha256 (and codec, MP3 by default)."""
    return lambda sha256, codec="mp3": media_url(settings, sha256, codec)


class Publisher(Protocol):
    """The part of stations.mqtt.MqttClient dispatch uses."""

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> Any: ...  # noqa: D102


def stations_for(session: Session, broadcast_id: int) -> list[tuple[Station, Area]]:
    """Active stations inside any target area of a broadcast, resolved now."""
    targets = session.exec(
        select(Area)
        .join(BroadcastTarget, col(BroadcastTarget.area_id) == col(Area.id))
        .where(BroadcastTarget.broadcast_id == broadcast_id)
    ).all()
    found: dict[int, tuple[Station, Area]] = {}
    for target in targets:
        rows = session.exec(
            select(Station, Area)
            .join(Area, col(Station.area_id) == col(Area.id))
            .where(col(Area.path).startswith(target.path, autoescape=True))
            .where(col(Station.active).is_(True))
        ).all()
        for station, area in rows:
            found[station.id or 0] = (station, area)
    return [found[k] for k in sorted(found)]


def stations_of_broadcasts(session: Session, broadcast_ids: Any) -> dict[int, list[Station]]:
    """Active stations inside any target area of each broadcast, resolved now, by broadcast.

    `broadcast_ids` is a list or a subquery of ids; one query whatever their number.
    """
    target = aliased(Area)
    rows = session.exec(
        select(BroadcastTarget.broadcast_id, Station)
        .join(target, col(BroadcastTarget.area_id) == col(target.id))
        .join(Area, col(Area.path).startswith(col(target.path)))
        .join(Station, col(Station.area_id) == col(Area.id))
        .where(col(BroadcastTarget.broadcast_id).in_(broadcast_ids))
        .where(col(Station.active).is_(True))
    ).all()
    found: dict[int, dict[int, Station]] = defaultdict(dict)
    for broadcast_id, station in rows:
        found[broadcast_id][station.id or 0] = station
    return {bid: [by_id[k] for k in sorted(by_id)] for bid, by_id in found.items()}


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What one dispatch pass did."""

    occurrences: int = 0
    deliveries: int = 0
    published: int = 0
    cancels: int = 0


def clip(text: str) -> str:
    """`text` cut to what Delivery.detail and Occurrence.detail hold."""
    return text if len(text) <= DETAIL_CHARS else text[: DETAIL_CHARS - 1] + "…"


def error_text(exc: BaseException) -> str:
    """The first line of an error, for a detail people read."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _clause(message: str) -> str:
    """A programme warning as a clause of a detail: lower-case start, no ': left out'."""
    text = message.removesuffix(": left out")
    return text[:1].lower() + text[1:]


# Why a bulletin is missing from a programme (programme warnings that name one).
_LEFT_OUT = ("not_approved", "not_for_station", "no_version", "language_review")


def verdict(programme: StationProgramme) -> tuple[DeliveryState, str] | None:
    """Why this programme is not sent (`blocked` or `no_content`, with the reason), or None."""
    if programme.blocked:
        missing = [_clause(w.message) for w in programme.warnings if w.code == "missing_language"]
        return DeliveryState.blocked, clip(
            "Blocked: " + "; ".join([*missing, "every language the station airs is required"])
        )
    if not programme.bulletin_ids:
        reasons = [_clause(w.message) for w in programme.warnings if w.code in _LEFT_OUT]
        return DeliveryState.no_content, clip(
            "No content to air: " + ("; ".join(reasons) or "nothing approved to air in this slot")
        )
    return None


def _neighbours(session: Session, occurrence: Occurrence) -> tuple[dict[str, list[int]], bool]:
    """What the previous airing of the broadcast carried over, and whether a next one exists."""
    before = session.exec(
        select(Occurrence)
        .where(Occurrence.broadcast_id == occurrence.broadcast_id, Occurrence.seq < occurrence.seq)
        .order_by(col(Occurrence.seq).desc())
        .limit(1)
    ).first()
    after = session.exec(
        select(Occurrence.id)
        .where(
            Occurrence.broadcast_id == occurrence.broadcast_id,
            Occurrence.seq > occurrence.seq,
            Occurrence.state == OccurrenceState.pending,
        )
        .limit(1)
    ).first()
    carried = (before.overflow or {}) if before is not None else {}
    return carried, after is not None


def _bulletins_for(carried: Sequence[int], own: Sequence[int]) -> list[int]:
    """Bulletins carried from the previous airing first, then the broadcast's own."""
    return [*carried, *(b for b in own if b not in carried)]


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _occurrence_detail(notes: list[tuple[str, str]], stations: int) -> str | None:
    """Occurrence.detail from (station name, note) pairs, one line per distinct note.

    A note that holds for every station of the airing stands alone; any other names
    its stations: "Station 'A': …", "Stations 'A', 'B': …".
    """
    grouped: dict[str, list[str]] = {}
    for name, note in notes:
        grouped.setdefault(note, []).append(name)
    lines = []
    for note, names in grouped.items():
        if len(names) == stations:
            lines.append(note)
        else:
            named = ", ".join(f"'{n}'" for n in names)
            lines.append(f"{'Stations' if len(names) > 1 else 'Station'} {named}: {note}")
    return clip("\n".join(lines)) if lines else None


def materialise(
    *,
    session: Session,
    occurrence: Occurrence,
    broadcast: Broadcast,
    settings: Settings,
    builder: ProgrammeBuilder,
    now: datetime,
) -> int:
    """Create the deliveries of one due airing and mark it dispatched; returns how many.

    Each station's programme is built on its own; one that has nothing airable, is
    blocked or cannot be built gets its deliveries decided unsent, and never holds back
    the other stations.
    """
    media_url = media_url_for(settings)
    ref = occurrence_ref(broadcast.id or 0, occurrence.seq)
    air_at, expires_at = as_utc(occurrence.air_at), as_utc(occurrence.expires_at)
    late = now >= expires_at  # the service was down past the airing: record, do not send
    priority = Priority(broadcast.priority)
    connection = session.connection()
    to_db = driver_time(connection.dialect)
    at = to_db(now)
    oid, bid = occurrence.id or 0, broadcast.id or 0
    carried, has_next = _neighbours(session, occurrence)
    longest = 0
    # Rows in _INSERT_DELIVERIES' key order; a province is tens of thousands of them.
    rows: list[tuple[Any, ...]] = []
    notes: list[tuple[str, str]] = []  # (station name, why), for Occurrence.detail
    overflow: dict[str, list[int]] = {}
    stations = stations_for(session, bid)
    relay = relay_programme(session, broadcast, ref, air_at, expires_at, priority)
    for station, _area in stations:
        sid = station.id or 0
        legacy = station.kind == StationKind.legacy
        receivers: Sequence[
            tuple[str, Sequence[str] | None, Any, int | None, Sequence[str] | None]
        ] = []
        if not legacy:
            receivers = session.execute(
                sa_select(
                    col(Receiver.id),
                    col(Receiver.codecs),
                    col(Receiver.volume_schedule),
                    col(Receiver.reported_volume),
                    col(Receiver.features),
                )
                .where(col(Receiver.station_id) == sid, col(Receiver.active).is_(True))
                .order_by(col(Receiver.id))
            ).all()
        targets = [(None, f"station:{sid}")] if legacy else [(rid, rid) for rid, *_ in receivers]
        # Volumes go only to receivers that reported one in their `state` (older ones
        # refuse fields they do not know); a receiver's own schedule replaces the station's.
        takes_volume = {rid for rid, _, _, reported, _ in receivers if reported is not None}
        own_volumes = {rid: schedule for rid, _, schedule, _, _ in receivers if schedule}
        volumed = _Volumes(station.volume_schedule, settings.zone, late)
        if relay is not None:
            longest = max(longest, relay.duration_ms)
            relaying = {rid for rid, _, _, _, features in receivers if "relay" in (features or ())}
            # Receivers that report a volume and declared they relay at one get the relay
            # with the volume in force at its start; the others get it as before.
            at_volume = {
                rid for rid, _, _, _, features in receivers if "relay_volume" in (features or ())
            }
            volumes = {
                rid: volumed.payload(relay.command, own_volumes.get(rid), relay.payload)
                or relay.payload
                for rid in relaying & takes_volume & at_volume
            }
            rows.extend(
                _relay_rows(relay, (oid, bid, sid), targets, relaying, volumes, late=late, at=at)
            )
            if len(relaying) < len(receivers):
                notes.append((station.name, RELAY_UNSUPPORTED))
            continue
        codec = station.audio_codec or "mp3"
        # Receivers that did not declare the station's codec get the MP3 programme.
        mp3_only = {rid for rid, codecs, *_ in receivers if not plays(codecs, codec)}
        version: str | None = None
        try:
            ids = _bulletins_for(carried.get(str(sid), []), broadcast.bulletin_ids)
            programme = builder(session, station, ids, settings)
            version = programme.version
            decided = verdict(programme)
            command = mp3_command = None
            mp3: StationProgramme | None = None
            if decided is None and not legacy:
                command = _command(programme, ref, air_at, expires_at, priority, media_url)
                if mp3_only and codec != "mp3":
                    mp3 = builder(session, station, ids, settings, codec="mp3")
                    mp3_command = _command(mp3, ref, air_at, expires_at, priority, media_url)
        except Exception as exc:
            log.exception("Programme of station %s for airing %s could not be built", sid, ref)
            decided = (
                DeliveryState.no_content,
                clip(f"No content to air: the programme could not be built ({error_text(exc)})"),
            )
        if decided is not None:
            state, why = decided
            notes.append((station.name, why))
            rows.extend(
                (oid, bid, sid, rid, target, state.value, version, 0) + (None, why, None, at, at, 1)
                for rid, target in targets
            )
            continue
        duration = programme.total_duration_ms
        longest = max(longest, duration)
        left_out = [_clause(w.message) for w in programme.warnings if w.code in _LEFT_OUT]
        if left_out:  # the rest airs; the author should know what did not
            notes.append((station.name, clip("Left out: " + "; ".join(left_out))))
        if programme.overflow_ids and not late:
            moved = list(programme.overflow_ids)
            overflow[str(sid)] = moved
            notes.append(
                (
                    station.name,
                    f"bulletins {_ids(moved)} did not fit in the slot and are carried to "
                    "the next airing"
                    if has_next
                    else f"bulletins {_ids(moved)} did not fit in the slot and there is no "
                    "next airing: not aired",
                )
            )
        if legacy:
            state = DeliveryState.expired if late else DeliveryState.sent
            rows.append(
                (oid, bid, sid, None, targets[0][1], state.value, programme.version, duration)
                + (None, None, None if late else at, None, at, 1)
            )
            continue
        assert command is not None
        payload = None if late else encode(command).decode()
        state = DeliveryState.expired if late else DeliveryState.queued
        own = (programme.version, duration, payload)
        other = own
        if mp3 is not None and mp3_command is not None:
            mp3_payload = None if late else encode(mp3_command).decode()
            other = (mp3.version, mp3.total_duration_ms, mp3_payload)
            longest = max(longest, mp3.total_duration_ms)
        for rid, target in targets:
            sent_version, length, body = other if rid in mp3_only else own
            chosen = mp3_command if rid in mp3_only and mp3_command is not None else command
            if rid in takes_volume:
                body = volumed.payload(chosen, own_volumes.get(rid), body)
            rows.append(
                (oid, bid, sid, rid, target, state.value, sent_version, length)
                + (body, None, None, None, at, 1)
            )
    _INSERT_DELIVERIES.execute(connection, rows)
    # The as-run log starts now for what is already decided: legacy stations were "sent"
    # (their operator confirms), everything of an airing found too late expired, and
    # what had nothing to air was never sent.
    decided_states = [
        DeliveryState.sent.value,
        DeliveryState.expired.value,
        DeliveryState.rejected.value,  # receivers that cannot relay a stream
        *(s.value for s in NOT_SENT_STATES),
    ]
    where = and_(DELIVERY.c.occurrence_id == oid, DELIVERY.c.state.in_(decided_states))
    record_events_of(connection, where, at=now, now=now)
    unsent = {s.value for s in NOT_SENT_STATES}
    nothing_sent = bool(rows) and all(row[5] in unsent for row in rows)
    claim_pending(session, oid)
    occurrence.state = OccurrenceState.no_content if nothing_sent else OccurrenceState.dispatched
    occurrence.settled = occurrence.settled or nothing_sent
    occurrence.dispatched_at = now
    occurrence.detail = _occurrence_detail(notes, len(stations))
    occurrence.overflow = overflow or None
    grace = timedelta(seconds=settings.missed_grace_seconds)
    occurrence.deadline_at = max(air_at + timedelta(milliseconds=longest) + grace, expires_at)
    session.add(occurrence)
    session.flush()
    if occurrence.state == OccurrenceState.dispatched:
        webhook_events.airing_dispatched(session, broadcast, occurrence, now=now)
    if late:
        log.warning("Airing %s was due before the service came back: recorded as expired", ref)
    if notes:
        log.warning("Airing %s: %s", ref, occurrence.detail)
    return len(rows)


# Why a receiver was not sent a relay: it never declared it relays streams.
RELAY_UNSUPPORTED = (
    'Unsupported: the receiver did not declare relay support (features: ["relay"] in its '
    "state), so it was not sent the relay"
)


@dataclass(frozen=True, slots=True)
class RelayProgramme:
    """The one command every relaying receiver of an airing gets, and its length."""

    version: str
    duration_ms: int
    payload: str
    command: ProgrammeCommand


def relay_programme(
    session: Session,
    broadcast: Broadcast,
    ref: str,
    air_at: datetime,
    expires_at: datetime,
    priority: Priority,
) -> RelayProgramme | None:
    """The `programme` command of a relay airing (None for a broadcast of bulletins)."""
    if broadcast.kind != BroadcastKind.relay or broadcast.relay_source_id is None:
        return None
    source = session.get(RelaySource, broadcast.relay_source_id)
    if source is None:
        raise ValueError(f"relay source {broadcast.relay_source_id} no longer exists")
    until = air_at + timedelta(seconds=broadcast.duration_seconds or 0)
    title = broadcast.title or source.name
    version = hashlib.sha256(
        json.dumps(["relay", source.url, until.isoformat(), title]).encode()
    ).hexdigest()[:16]
    command = ProgrammeCommand(
        broadcast_id=ref,
        air_at=air_at,
        expires_at=min(expires_at, until),
        priority=priority,
        version=version,
        items=[RelayItem(type="relay", url=source.url, until=until, title=title)],
    )
    length = round((until - air_at).total_seconds() * 1000)
    return RelayProgramme(version, length, encode(command).decode(), command)


def _relay_rows(
    relay: RelayProgramme,
    ids: tuple[int, int, int],
    targets: Sequence[tuple[str | None, str]],
    relaying: set[str],
    payloads: dict[str, str],
    *,
    late: bool,
    at: Any,
) -> list[tuple[Any, ...]]:
    """Delivery rows of one station's relay: sent to receivers that relay streams (with
    their volume where `payloads` has one), decided `rejected` (unsupported) for the others; a
    legacy station's operator confirms."""
    rows: list[tuple[Any, ...]] = []
    for rid, target in targets:
        if rid is not None and rid not in relaying:
            state, body, detail, finished = DeliveryState.rejected, None, RELAY_UNSUPPORTED, at
        else:
            state = DeliveryState.expired if late else DeliveryState.queued
            body = None if late or rid is None else payloads.get(rid, relay.payload)
            detail, finished = None, None
            if rid is None and not late:
                state = DeliveryState.sent
        sent_at = at if rid is None and not late else None
        rows.append(
            (*ids, rid, target, state.value, relay.version, relay.duration_ms)
            + (body, detail, sent_at, finished, at, 1)
        )
    return rows


def _command(
    programme: StationProgramme,
    ref: str,
    air_at: datetime,
    expires_at: datetime,
    priority: Priority,
    media_url: Callable[..., str],
) -> ProgrammeCommand:
    """The `programme` command of one station's programme for one airing."""
    return ProgrammeCommand(
        broadcast_id=ref,
        air_at=air_at,
        expires_at=expires_at,
        priority=priority,
        version=programme.version,
        items=[MediaItem.model_validate(item) for item in programme.manifest(media_url)["items"]],
    )


class _Volumes:
    """The payloads of one station's command with each item's volume (stations/volume.py).

    A receiver's own schedule replaces the station's; with neither, the command is sent
    exactly as built (no `volume` field). Payloads are made once per schedule.
    """

    def __init__(
        self,
        station_schedule: dict[str, Any] | None,
        zone: tzinfo,
        late: bool,
    ) -> None:
        self.station_schedule = station_schedule
        self.zone = zone
        self.late = late
        self._made: dict[tuple[int, str], str] = {}

    def payload(
        self, command: ProgrammeCommand, receiver_schedule: dict[str, Any] | None, body: str | None
    ) -> str | None:
        """The payload for one receiver: `body` itself when no schedule applies."""
        raw = receiver_schedule or self.station_schedule
        if not raw or self.late:
            return body
        key = (id(command), json.dumps(raw, sort_keys=True))
        if key not in self._made:
            schedule = volume.parse_schedule(raw)
            self._made[key] = encode(with_volumes(command, schedule, self.zone)).decode()
        return self._made[key]


def with_volumes(
    command: ProgrammeCommand, schedule: volume.VolumeSchedule, zone: tzinfo
) -> ProgrammeCommand:
    """The command with each item's `volume`: the schedule's at the item's own air time.

    An item airs at `air_at` plus the length of the items before it (the receiver plays
    them back to back); an emergency airs every item at the emergency volume. A relay
    is relayed whole at the volume in force when it opens (a device sets its gain once
    per stream, as it does once per file).
    """
    emergency = command.priority is Priority.emergency
    items: list[MediaItem | RelayItem] = []
    at = command.air_at
    for item in command.items:
        level = schedule.volume_at(at, zone, emergency=emergency)
        items.append(item.model_copy(update={"volume": level}))
        if isinstance(item, MediaItem):
            at += timedelta(milliseconds=item.duration_ms)
    return command.model_copy(update={"items": items})


class AiringChangedError(Exception):
    """The airing stopped being `pending` (cancelled, say) while it was being dispatched."""


def claim_pending(session: Session, occurrence_id: int) -> None:
    """Hold the airing for this transaction if it is still `pending`, else raise.

    Dispatch reads the airing, then builds its programmes (seconds, for a province): a
    cancel committed in the meantime must win over that stale read.
    """
    if not hold_if_pending(session, occurrence_id):
        raise AiringChangedError(occurrence_id)


def give_up(*, engine: Engine, occurrence_id: int, error: BaseException, now: datetime) -> bool:
    """Record an airing that could not be dispatched by its expiry as `no_content`."""
    with transaction(engine) as session:
        occ = session.get(Occurrence, occurrence_id)
        if occ is None or occ.state != OccurrenceState.pending:
            return False
        try:
            claim_pending(session, occurrence_id)
        except AiringChangedError:
            return False
        occ.state = OccurrenceState.no_content
        occ.settled = True
        occ.dispatched_at = now
        occ.detail = clip(
            f"No content to air: the airing could not be dispatched ({error_text(error)})"
        )
        session.add(occ)
    return True


def dispatch_due(
    *, engine: Engine, settings: Settings, builder: ProgrammeBuilder, now: datetime
) -> tuple[int, int]:
    """Materialise every airing whose dispatch time has come; one transaction per airing.

    An airing that fails is tried again on the next pass, until its `expires_at`: then
    it is given up (`no_content`, with the error in its detail) instead of retried forever.
    """
    with Session(engine) as session:
        due = session.exec(
            select(Occurrence.id, Occurrence.expires_at)
            .join(Broadcast, col(Occurrence.broadcast_id) == col(Broadcast.id))
            .where(
                Occurrence.state == OccurrenceState.pending,
                col(Occurrence.dispatch_at) <= now,
                Broadcast.status == BroadcastStatus.scheduled,
            )
            .order_by(col(Occurrence.dispatch_at))
        ).all()
    occurrences = deliveries = 0
    for occ_id, expires_at in due:
        try:
            with transaction(engine) as session:
                occ = session.get(Occurrence, occ_id)
                if occ is None or occ.state != OccurrenceState.pending:
                    continue  # another worker took it
                broadcast = session.get(Broadcast, occ.broadcast_id)
                if broadcast is None:
                    continue
                deliveries += materialise(
                    session=session,
                    occurrence=occ,
                    broadcast=broadcast,
                    settings=settings,
                    builder=builder,
                    now=now,
                )
                occurrences += 1
        except AiringChangedError:
            log.info(
                "Airing %s changed while it was dispatched (cancelled?): left as it is", occ_id
            )
        except Exception as exc:
            if now < as_utc(expires_at):
                log.exception("Could not dispatch airing %s; will retry", occ_id)
                continue
            log.exception("Could not dispatch airing %s by its expiry; given up", occ_id)
            try:
                give_up(engine=engine, occurrence_id=occ_id or 0, error=exc, now=now)
            except Exception:
                log.exception("Could not record airing %s as given up; will retry", occ_id)
    return occurrences, deliveries


def publish_queued(
    *,
    engine: Engine,
    publisher: Publisher,
    topics: Topics,
    now: datetime,
    metrics: Metrics | None = None,
) -> int:
    """Publish every `queued` command and move the ones the broker took to `sent`.

    Each batch has one deadline, PUBLISH_CONFIRM_SECONDS, for all its messages: a broker
    that stops answering costs one wait, not one per message. What it did not take stays
    `queued` and is published again on a later pass (receivers deduplicate).
    """
    total = 0
    while True:
        with Session(engine) as session:
            rows = session.exec(
                select(Delivery.id, Delivery.receiver_id, Delivery.payload, Delivery.attempt)
                .where(Delivery.state == DeliveryState.queued)
                .order_by(col(Delivery.id))
                .limit(PUBLISH_BATCH)
            ).all()
        if not rows:
            return total
        ready = [
            (delivery_id, topics.cmd(receiver_id), payload.encode())
            for delivery_id, receiver_id, payload, _attempt in rows
            if receiver_id is not None and payload is not None
        ]
        attempts = {delivery_id: attempt for delivery_id, _r, _p, attempt in rows}
        if not ready:
            return total
        publish_many = getattr(publisher, "publish_many", None)
        if publish_many is not None:
            sent = publish_many([(topic, data) for _, topic, data in ready])
        else:
            sent = [publisher.publish(topic, data, qos=1) for _, topic, data in ready]
        infos = [(delivery_id, info) for (delivery_id, _, _), info in zip(ready, sent, strict=True)]
        deadline = time.monotonic() + PUBLISH_CONFIRM_SECONDS
        taken: list[int] = []
        for delivery_id, info in infos:
            wait = getattr(info, "wait_for_publish", None)
            try:
                if wait is not None:
                    wait(max(0.0, deadline - time.monotonic()))
                if getattr(info, "is_published", lambda: True)() and delivery_id is not None:
                    taken.append(delivery_id)
            except (RuntimeError, ValueError):
                # Not connected: paho keeps it queued and sends on reconnect; the row stays
                # `queued` and is published again next pass (receivers deduplicate).
                continue
        if taken:
            with transaction(engine) as session:
                connection = session.connection()
                at = driver_time(connection.dialect)(now)
                _MARK_SENT.run(connection, (at, at, driver_list(connection.dialect)(taken)))
                record_events(
                    session,
                    [
                        {
                            "delivery_id": i,
                            "attempt": attempts[i],
                            "state": DeliveryState.sent.value,
                            "at": now,
                        }
                        for i in taken
                    ],
                )
        total += len(taken)
        if metrics is not None:
            metrics.published("programme", len(taken))
        if len(taken) < len(infos) or len(rows) < PUBLISH_BATCH:
            return total


def cancel_payload(broadcast_id: int, seq: int) -> bytes:
    """The `cancel` command of one airing."""
    return encode(CancelCommand(broadcast_id=occurrence_ref(broadcast_id, seq)))


def publish_cancels(
    *,
    engine: Engine,
    publisher: Publisher,
    topics: Topics,
    now: datetime,
    metrics: Metrics | None = None,
) -> int:
    """Send `cancel` for cancelled airings to the receivers that had not aired them.

    The deadline pass settles such an airing once its deadline has passed: a receiver
    may have aired it before the cancel reached it (a cancel cannot stop what has
    started), and its report still counts in the as-run record and its station's
    `broadcast.completed`.
    """
    sent = 0
    with transaction(engine) as session:
        occs = session.exec(
            select(Occurrence).where(
                Occurrence.state == OccurrenceState.cancelled,
                col(Occurrence.cancel_sent_at).is_(None),
            )
        ).all()
        for occ in occs:
            payload = cancel_payload(occ.broadcast_id, occ.seq)
            targets = session.exec(
                select(Delivery.receiver_id).where(
                    Delivery.occurrence_id == occ.id,
                    Delivery.state == DeliveryState.cancelled,
                    col(Delivery.receiver_id).is_not(None),
                )
            ).all()
            for receiver_id in targets:
                if receiver_id is not None:
                    publisher.publish(topics.cmd(receiver_id), payload, qos=1)
                    sent += 1
            occ.cancel_sent_at = now
            session.add(occ)
    if metrics is not None:
        metrics.published("cancel", sent)
    return sent


@dataclass(frozen=True, slots=True)
class Resent:
    """Commands published again to one receiver that came online."""

    programmes: int = 0
    cancels: int = 0


RESEND_CHUNK = 900  # receiver ids per query (SQLite's bound-parameter limit)


def resend_to_online(
    *,
    engine: Engine,
    publisher: Publisher,
    topics: Topics,
    receiver_ids: Sequence[str],
    now: datetime,
    metrics: Metrics | None = None,
) -> dict[str, Resent]:
    """Publish again the commands still current for receivers that just came online.

    The broker only queues a command for a receiver that has a persistent session, so
    a receiver that never connected before the dispatch, or any receiver after the
    embedded broker restarted, would otherwise never get it. Programmes: deliveries
    that have not started airing (`queued`, `sent`, `received`, `downloaded`: a
    receiver that restarted after receiving may have lost it) of a dispatched airing
    not yet expired, republished from the stored command (same broadcast_id and
    version, so a receiver that still has it treats it as a duplicate and repeats its
    state). Cancels: deliveries `cancelled` after their
    programme was sent, and not acknowledged, of an airing not yet expired. Nothing
    waits for the broker: paho sends QoS 1 on its own, and the receiver's next
    reconnect triggers this again.
    """
    d = SQLModel.metadata.tables["delivery"]
    o = SQLModel.metadata.tables["occurrence"]
    found: dict[str, Resent] = {}
    ids = sorted(set(receiver_ids))
    for start in range(0, len(ids), RESEND_CHUNK):
        chunk = ids[start : start + RESEND_CHUNK]
        with Session(engine) as session:
            rows = (
                session.connection()
                .execute(
                    sa_select(d.c.receiver_id, d.c.state, d.c.payload, o.c.broadcast_id, o.c.seq)
                    .join_from(d, o, d.c.occurrence_id == o.c.id)
                    .where(
                        d.c.receiver_id.in_(chunk),
                        o.c.expires_at > now,
                        or_(
                            and_(
                                d.c.state.in_([s.value for s in NOT_AIRING]),
                                d.c.payload.is_not(None),
                                o.c.state == OccurrenceState.dispatched.value,
                            ),
                            and_(
                                d.c.state == DeliveryState.cancelled.value,
                                d.c.sent_at.is_not(None),
                                o.c.state == OccurrenceState.cancelled.value,
                            ),
                        ),
                    )
                    .order_by(o.c.air_at, d.c.id)
                )
                .all()
            )
        for receiver_id, state, payload, broadcast_id, seq in rows:
            before = found.get(receiver_id, Resent())
            if state == DeliveryState.cancelled.value:
                publisher.publish(topics.cmd(receiver_id), cancel_payload(broadcast_id, seq), qos=1)
                found[receiver_id] = Resent(before.programmes, before.cancels + 1)
            else:
                publisher.publish(topics.cmd(receiver_id), payload.encode(), qos=1)
                found[receiver_id] = Resent(before.programmes + 1, before.cancels)
    if metrics is not None:
        metrics.published("resend_programme", sum(r.programmes for r in found.values()))
        metrics.published("resend_cancel", sum(r.cancels for r in found.values()))
    for receiver_id, resent in found.items():
        log.info(
            "Resent %d commands to receiver %s after it came online (%d programmes, %d cancels)",
            resent.programmes + resent.cancels,
            receiver_id,
            resent.programmes,
            resent.cancels,
        )
    return found
