"""CAP alerts become emergency broadcasts: intake, per-area rules, holds and releases.

An alert delivered over REST (an API token with the `alerts` scope, owned by an editor)
is parsed and validated (`cap.py`), its areas matched to Loa's (geocode `ADMIN_CODE` =
an area's official code; polygons and circles by the receivers' locations), its `info`
blocks turned into the versions of one bulletin (Vietnamese required), and then either
released at once (its sender is trusted by the area's rule) or held for an approver
until a deadline after which it airs anyway. The worker (`release_alerts`) schedules a
released alert once its audio is ready: an emergency (or priority) broadcast to exactly
the matched areas, aired now and again every `repeat_minutes` until `expires`.

A repeat of an alert already received (same sender and identifier, same document) is
answered as the first time and changes nothing. `Cancel` and `Update` messages end the
sender's alerts they name in `references`, and their broadcasts.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from broadcast.alerts.cap import CapAlert, CapArea, CapInfo, parse_cap
from broadcast.alerts.models import Alert, AlertRule, AlertState, ReleasedBy
from broadcast.bulletins import media, recordings
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus, Priority
from broadcast.core import audit
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule.models import Broadcast, BroadcastStatus
from broadcast.schedule.service import cancel_broadcast, create_broadcast
from broadcast.templates import service as templates
from broadcast.templates.hazards import hazard_of
from broadcast.templates.models import Hazard
from stations.areas import Scope, get_area
from stations.errors import ConflictError, InvalidInputError, LoaError, NotFoundError
from stations.models import Area, Language, Receiver, Station
from stations.protocol import Priority as AiringPriority
from stations.timeutil import as_utc, utcnow
from tts import Synthesizer, UnsupportedLanguage

log = logging.getLogger(__name__)

ALERTS_SCOPE = "alerts"
# The geocode valueName whose value is an area's official administrative code.
GEOCODE_NAME = "ADMIN_CODE"
# What one version's script is made of, in this order.
SCRIPT_PARTS = ("headline", "description", "instruction")
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class EffectiveRule:
    """The rule that applies to an area: its own, its nearest ancestor's, or the defaults."""

    area_code: str | None  # the area whose rule it is; None = the LOA_ALERT_* defaults
    trusted_senders: tuple[str, ...]
    hold_minutes: int
    repeat_minutes: int
    feed_url: str | None = None


# --- mapping ---------------------------------------------------------------------------------


def priority_of(info: CapInfo) -> Priority:
    """urgency, severity and certainty to a bulletin priority (docs/operations.md's table)."""
    if info.certainty == "Unlikely":
        return Priority.normal
    if info.urgency == "Immediate" and info.severity in ("Extreme", "Severe"):
        return Priority.emergency
    if info.urgency in ("Immediate", "Expected") and info.severity in (
        "Extreme",
        "Severe",
        "Moderate",
    ):
        return Priority.priority
    return Priority.normal


def _loa_language(session: Session, cap_language: str) -> str | None:
    """ "vi-VN" -> "vi", "hmn" -> "hmn": the Loa language of a CAP `language`, if active."""
    code = cap_language.strip().lower().replace("_", "-")
    for candidate in (code, code.split("-")[0]):
        row = session.get(Language, candidate)
        if row is not None and row.active:
            return candidate
    return None


def _script(info: CapInfo) -> str:
    parts = [getattr(info, name) for name in SCRIPT_PARTS]
    return "\n\n".join(p for p in parts if p)


def _point_in_polygon(lat: float, lon: float, ring: list[tuple[float, float]]) -> bool:
    inside = False
    for (lat1, lon1), (lat2, lon2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (lon1 > lon) != (lon2 > lon):
            cross = lat1 + (lon - lon1) * (lat2 - lat1) / (lon2 - lon1)
            if lat < cross:
                inside = not inside
    return inside


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _coordinates(text: str, what: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        try:
            lat_text, lon_text = pair.split(",")
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise InvalidInputError(
                f"The CAP {what} '{text[:80]}' holds '{pair[:40]}', which is not 'lat,lon'",
                code="cap.bad_shape",
                shape=what,
            ) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or not (
            math.isfinite(lat) and math.isfinite(lon)
        ):
            raise InvalidInputError(
                f"The CAP {what} '{text[:80]}' holds '{pair[:40]}', outside the globe",
                code="cap.bad_shape",
                shape=what,
            )
        points.append((lat, lon))
    return points


def _shape_contains(area: CapArea, lat: float, lon: float) -> bool:
    for polygon in area.polygons:
        ring = _coordinates(polygon, "polygon")
        if len(ring) >= 3 and _point_in_polygon(lat, lon, ring):
            return True
    for circle in area.circles:
        centre, _, radius_text = circle.strip().rpartition(" ")
        points = _coordinates(centre, "circle")
        try:
            radius = float(radius_text)
        except ValueError:
            radius = math.nan
        if len(points) != 1 or not math.isfinite(radius) or radius < 0:
            raise InvalidInputError(
                f"The CAP circle '{circle[:80]}' is not 'lat,lon radius-km'",
                code="cap.bad_shape",
                shape="circle",
            )
        if _distance_km(points[0][0], points[0][1], lat, lon) <= radius:
            return True
    return False


def _match_areas(session: Session, cap: CapAlert, scope: Scope) -> tuple[list[Area], list[str]]:
    """The Loa areas the alert's areas name (inside `scope`), and what matched nothing."""
    wanted: list[str] = []
    unmatched: list[str] = []
    shapes: list[CapArea] = []
    for info in cap.infos:
        for area in info.areas:
            for name, value in area.geocodes:
                if name.strip().upper() == GEOCODE_NAME:
                    if value not in wanted:
                        wanted.append(value)
                elif f"{name}={value}" not in unmatched:
                    unmatched.append(f"{name}={value}")
            if area.polygons or area.circles:
                shapes.append(area)
    found = {
        a.code: a
        for a in session.exec(select(Area).where(col(Area.code).in_(wanted), scope.clause()))
    }
    matched = [found[c] for c in wanted if c in found]
    unmatched = [c for c in wanted if c not in found] + unmatched
    if shapes:
        located = session.exec(
            select(Receiver.latitude, Receiver.longitude, Area)
            .join(Station, col(Receiver.station_id) == col(Station.id))
            .join(Area, col(Station.area_id) == col(Area.id))
            .where(
                col(Receiver.latitude).is_not(None),
                col(Receiver.longitude).is_not(None),
                col(Receiver.active),
                col(Station.active),
                scope.clause(),
            )
        ).all()
        for lat, lon, station_area in located:
            if station_area.code in {a.code for a in matched} or lat is None or lon is None:
                continue
            if any(_shape_contains(shape, lat, lon) for shape in shapes):
                matched.append(station_area)
    # An area inside another matched area is already covered by it.
    kept = [
        a for a in matched if not any(o is not a and a.path.startswith(o.path) for o in matched)
    ]
    return kept, unmatched


def _home(session: Session, areas: Sequence[Area]) -> Area:
    paths = [a.path.strip("/").split("/") for a in areas]
    common: list[str] = []
    for parts in zip(*paths, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    found = session.get(Area, int(common[-1])) if common else None
    return found or areas[0]


def rule_for(*, session: Session, settings: Settings, area: Area) -> EffectiveRule:
    """The alert rule of `area`: its own, else its nearest ancestor's, else the defaults."""
    ids = [int(p) for p in area.path.strip("/").split("/") if p]
    rows = {
        r.area_id: r for r in session.exec(select(AlertRule).where(col(AlertRule.area_id).in_(ids)))
    }
    for area_id in reversed(ids):
        rule = rows.get(area_id)
        if rule is not None:
            owner = session.get(Area, area_id)
            return EffectiveRule(
                area_code=owner.code if owner else None,
                trusted_senders=tuple(rule.trusted_senders or ()),
                hold_minutes=rule.hold_minutes,
                repeat_minutes=rule.repeat_minutes,
                feed_url=rule.feed_url,
            )
    return EffectiveRule(
        area_code=None,
        trusted_senders=(),
        hold_minutes=settings.alert_hold_minutes,
        repeat_minutes=settings.alert_repeat_minutes,
    )


def set_rule(
    *,
    session: Session,
    principal: Principal,
    area_code: str,
    trusted_senders: Sequence[str],
    hold_minutes: int,
    repeat_minutes: int,
    feed_url: str | None = None,
) -> AlertRule:
    """An administrator sets how alerts for an area are aired (created or replaced)."""
    principal.require()
    area = get_area(session=session, code=area_code, scope=principal.scope)
    if feed_url is not None and (
        not feed_url.startswith(("http://", "https://")) or len(feed_url) > 500
    ):
        raise InvalidInputError(
            "feed_url must be an http:// or https:// address of at most 500 characters",
            code="alert_rule.bad_feed",
        )
    senders = [s.strip() for s in trusted_senders if s.strip()]
    if not 0 <= hold_minutes <= 24 * 60:
        raise InvalidInputError(
            f"hold_minutes must lie between 0 and {24 * 60}",
            code="alert_rule.bad_hold",
            limit=24 * 60,
        )
    if not 5 <= repeat_minutes <= 24 * 60:
        raise InvalidInputError(
            f"repeat_minutes must lie between 5 and {24 * 60}",
            code="alert_rule.bad_repeat",
            limit=24 * 60,
        )
    rule = session.get(AlertRule, area.id)
    if rule is None:
        rule = AlertRule(area_id=area.id or 0)
    rule.trusted_senders = list(dict.fromkeys(senders))
    rule.hold_minutes = hold_minutes
    rule.repeat_minutes = repeat_minutes
    rule.feed_url = feed_url
    rule.updated_by_id = principal.user.id
    rule.updated_at = utcnow()
    session.add(rule)
    session.flush()
    audit.record(
        session=session,
        actor=principal.user,
        action="alert_rule.set",
        object_type="area",
        object_id=area.id or 0,
        area_id=area.id,
        detail={
            "trusted_senders": rule.trusted_senders,
            "hold_minutes": hold_minutes,
            "repeat_minutes": repeat_minutes,
            "feed_url": feed_url,
        },
    )
    return rule


def get_rule(
    *, session: Session, settings: Settings, principal: Principal, area_code: str
) -> EffectiveRule:
    """The rule that applies to an area in the caller's scope."""
    area = get_area(session=session, code=area_code, scope=principal.scope)
    return rule_for(session=session, settings=settings, area=area)


# --- reading -----------------------------------------------------------------------------


def _visible(stmt, scope: Scope):  # type: ignore[no-untyped-def]
    if scope.path is None:
        return stmt
    return stmt.join(Area, col(Alert.area_id) == col(Area.id)).where(scope.clause())


def get_alert(*, session: Session, alert_id: int, scope: Scope) -> Alert:
    """The alert, or NotFoundError when absent or outside the caller's area."""
    row = session.exec(_visible(select(Alert).where(Alert.id == alert_id), scope)).first()
    if row is None:
        raise NotFoundError(
            f"Alert {alert_id} not found", code="alert.not_found", alert_id=alert_id
        )
    return row


def list_alerts(
    *,
    session: Session,
    scope: Scope,
    state: AlertState | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Alert], int]:
    """Alerts for areas in the caller's scope, newest first (held ones by their deadline)."""
    stmt = _visible(select(Alert), scope)
    if state is not None:
        stmt = stmt.where(Alert.state == state)
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    order = (
        (col(Alert.hold_until), col(Alert.id))
        if state is AlertState.held
        else (col(Alert.id).desc(),)
    )
    rows = session.exec(stmt.order_by(*order).offset(offset).limit(limit)).all()
    return rows, total


# --- intake ------------------------------------------------------------------------------


def _record(
    session: Session, principal: Principal | None, action: str, alert: Alert, **detail: object
) -> None:
    audit.record(
        session=session,
        actor=principal.user if principal else None,
        action=action,
        object_type="alert",
        object_id=alert.id or 0,
        area_id=alert.area_id,
        detail=dict(detail),
    )


def _end(
    session: Session,
    principal: Principal | None,
    alert: Alert,
    state: AlertState,
    reason: str,
    now: datetime,
) -> None:
    """End an alert (cancelled or superseded) and whatever of its broadcast has not aired."""
    if alert.broadcast_id is not None:
        broadcast = session.get(Broadcast, alert.broadcast_id)
        if broadcast is not None and broadcast.status != BroadcastStatus.cancelled:
            cancel_broadcast(session=session, broadcast=broadcast, now=now)
            audit.record(
                session=session,
                actor=principal.user if principal else None,
                action="broadcast.cancel",
                object_type="broadcast",
                object_id=broadcast.id or 0,
                area_id=broadcast.area_id,
                detail={"alert_id": alert.id, "reason": reason},
            )
    if alert.bulletin_id is not None:
        bulletin = session.get(Bulletin, alert.bulletin_id)
        if bulletin is not None and bulletin.status != BulletinStatus.archived:
            bulletin.status = BulletinStatus.archived
            bulletin.updated_at = now
            session.add(bulletin)
    alert.state = state
    alert.reason = reason[:500]
    alert.updated_at = now
    session.add(alert)
    _record(session, principal, f"alert.{state.value}", alert, reason=reason)


def _referenced(session: Session, cap: CapAlert, scope: Scope) -> list[Alert]:
    """The sender's own earlier alerts named by `references` (others' are not touched)."""
    found: list[Alert] = []
    for ref in cap.references:
        if ref.sender != cap.sender:
            continue
        row = session.exec(
            _visible(
                select(Alert).where(Alert.sender == ref.sender, Alert.identifier == ref.identifier),
                scope,
            )
        ).first()
        if row is not None and row not in found:
            found.append(row)
    return found


def _ignored_reason(cap: CapAlert) -> str | None:
    if cap.status != "Actual":
        return f"status {cap.status}: only Actual alerts are aired"
    if cap.scope != "Public":
        return f"scope {cap.scope}: only Public alerts are aired on loudspeakers"
    if cap.msg_type in ("Ack", "Error"):
        return f"msgType {cap.msg_type}: nothing to air"
    return None


def receive_alert(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    document: bytes,
    synthesizer: Synthesizer | None = None,
    now: datetime | None = None,
) -> tuple[Alert, bool]:
    """Take in one CAP document; returns the alert and whether it is new.

    The same document delivered again returns the alert already stored, unchanged.
    """
    principal.require_token_scope(ALERTS_SCOPE)
    principal.require(Role.editor)
    now = as_utc(now or utcnow())
    cap = parse_cap(document)
    digest = hashlib.sha256(document).hexdigest()
    known = _known(session, cap)
    if known is not None:
        return _repeat(session, principal, cap, known, digest), False
    try:
        with session.begin_nested():
            alert = _take_in(
                session=session,
                settings=settings,
                principal=principal,
                cap=cap,
                digest=digest,
                synthesizer=synthesizer,
                now=now,
            )
    except IntegrityError:
        # The same alert, delivered twice at once: the other delivery stored it first.
        known = _known(session, cap)
        if known is None:
            raise
        return _repeat(session, principal, cap, known, digest), False
    return alert, True


def _known(session: Session, cap: CapAlert) -> Alert | None:
    return session.exec(
        select(Alert).where(Alert.sender == cap.sender, Alert.identifier == cap.identifier)
    ).first()


def _repeat(
    session: Session, principal: Principal, cap: CapAlert, known: Alert, digest: str
) -> Alert:
    """The alert already received, when this delivery is the same document again."""
    if known.document_sha256 != digest:
        raise ConflictError(
            f"An alert '{cap.identifier}' from {cap.sender} was already received with "
            "other content. Probable cause: a new message needs a new identifier",
            code="cap.identifier_reused",
            identifier=cap.identifier,
            sender=cap.sender,
        )
    if known.area_id is not None:
        area = session.get(Area, known.area_id)
        if area is not None and not principal.scope.covers(area):
            raise ConflictError(
                f"An alert '{cap.identifier}' from {cap.sender} was already received",
                code="cap.identifier_reused",
                identifier=cap.identifier,
                sender=cap.sender,
            )
    return known


def _take_in(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    cap: CapAlert,
    digest: str,
    synthesizer: Synthesizer | None,
    now: datetime,
) -> Alert:
    """A new CAP message stored, and what it asks for done (or held)."""
    vi_info = next(
        (i for i in cap.infos if _loa_language(session, i.language) == bulletins.SOURCE_LANGUAGE),
        cap.infos[0] if cap.infos else None,
    )
    alert = Alert(
        identifier=cap.identifier,
        sender=cap.sender,
        sent=cap.sent,
        sent_text=cap.sent.isoformat(),
        msg_type=cap.msg_type,
        cap_status=cap.status,
        event=(vi_info.event if vi_info else "")[:300],
        headline=((vi_info.headline or vi_info.event) if vi_info else "")[:300],
        document_sha256=digest,
        state=AlertState.ignored,
        received_by_id=principal.user.id,
        area_id=principal.user.area_id,
        created_at=now,
        updated_at=now,
    )
    ignored = _ignored_reason(cap)
    if ignored is not None:
        alert.reason = ignored
        session.add(alert)
        session.flush()
        _record(session, principal, "alert.receive", alert, state=AlertState(alert.state).value)
        return alert
    if cap.msg_type in ("Update", "Cancel"):
        ended = _referenced(session, cap, principal.scope)
        if not ended and cap.msg_type == "Cancel":
            named = ", ".join(f"{r.sender},{r.identifier},{r.sent}" for r in cap.references)
            raise InvalidInputError(
                f"This Cancel names no alert of {cap.sender} received here "
                f"(references: {named or 'none'})",
                code="cap.reference_unknown",
                sender=cap.sender,
            )
    else:
        ended = []
    if cap.msg_type == "Cancel":
        alert.state = AlertState.applied
        alert.area_id = ended[0].area_id
        session.add(alert)
        session.flush()
        for old in ended:
            if old.state not in (AlertState.cancelled, AlertState.superseded):
                _end(
                    session,
                    principal,
                    old,
                    AlertState.cancelled,
                    f"cancelled by {cap.identifier}",
                    now,
                )
        alert.ended_alert_ids = [a.id or 0 for a in ended]
        alert.reason = f"cancelled {len(ended)} alert(s)"
        _record(session, principal, "alert.receive", alert, state=AlertState(alert.state).value)
        return alert
    _prepare(
        session=session,
        settings=settings,
        principal=principal,
        cap=cap,
        alert=alert,
        synthesizer=synthesizer,
        now=now,
    )
    for old in ended:
        if old.state not in (AlertState.cancelled, AlertState.superseded):
            _end(
                session, principal, old, AlertState.superseded, f"updated by {cap.identifier}", now
            )
    alert.ended_alert_ids = [a.id or 0 for a in ended]
    session.add(alert)
    session.flush()
    _record(
        session,
        principal,
        "alert.receive",
        alert,
        state=AlertState(alert.state).value,
        area_codes=alert.area_codes,
        unmatched=alert.unmatched_codes,
        languages=alert.languages,
        priority=alert.priority,
        hazard=alert.hazard,
        templates=alert.templates,
    )
    return alert


def _prepare(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    cap: CapAlert,
    alert: Alert,
    synthesizer: Synthesizer | None,
    now: datetime,
) -> None:
    """An Alert or Update becomes a bulletin for its areas, held or released."""
    if not cap.infos:
        raise InvalidInputError(
            "The CAP alert has no info block: nothing to air", code="cap.no_info"
        )
    areas, unmatched = _match_areas(session, cap, principal.scope)
    if not areas:
        raise InvalidInputError(
            "No area of the CAP alert matches an area of yours "
            f"(unmatched: {', '.join(unmatched) or 'none given'}). Probable cause: give "
            f"geocodes with valueName {GEOCODE_NAME} and the official area codes",
            code="cap.no_area",
            unmatched=unmatched,
        )
    home = _home(session, areas)
    aired = bulletins.aired_languages(session=session, area=home)
    versions: dict[str, CapInfo] = {}
    skipped: list[str] = []
    for info in cap.infos:
        language = _loa_language(session, info.language)
        if language is None or (language != bulletins.SOURCE_LANGUAGE and language not in aired):
            if info.language not in skipped:
                skipped.append(info.language)
            continue
        if language not in versions and _script(info):
            versions[language] = info
    vi = versions.get(bulletins.SOURCE_LANGUAGE)
    if vi is None:
        raise InvalidInputError(
            "The CAP alert has no Vietnamese info block (language vi-VN) with a headline, "
            "description or instruction: Loa airs every bulletin in Vietnamese first",
            code="cap.no_vietnamese",
        )
    priority = max(
        (priority_of(i) for i in versions.values()),
        key=lambda p: {Priority.normal: 0, Priority.priority: 1, Priority.emergency: 2}[p],
    )
    starts = as_utc(vi.effective or cap.sent)
    expires = as_utc(vi.expires) if vi.expires else None
    if expires is not None and expires <= now:
        raise InvalidInputError(
            f"The CAP alert expired at {expires.isoformat()}: nothing to air",
            code="cap.expired",
            expires=expires,
        )
    rule = rule_for(session=session, settings=settings, area=home)
    bulletin = bulletins.create_bulletin(
        session=session,
        principal=principal,
        title=(vi.headline or vi.event)[:300],
        priority=priority,
        category=(vi.categories[0] if vi.categories else None),
        campaign=f"CAP {cap.sender}"[:200],
        area_code=home.code,
        valid_until=expires,
        translations=[
            bulletins.NewTranslation(language=lang, text=_script(info)[: bulletins.MAX_TEXT_CHARS])
            for lang, info in versions.items()
        ],
    )
    for lang, info in versions.items():
        audio = next(
            (r for r in info.resources if r.mime_type.startswith("audio/") and r.data),
            None,
        )
        if audio is not None and audio.data is not None and synthesizer is not None:
            recordings.store_bulletin_recording(
                session=session,
                principal=principal,
                settings=settings,
                synthesizer=synthesizer,
                bulletin_id=bulletin.id or 0,
                language=lang,
                upload=io.BytesIO(audio.data),
                filename=f"cap-{lang}.{audio.mime_type.split('/')[-1][:4]}",
            )
    recorded = {
        lang
        for lang, info in versions.items()
        if synthesizer is not None
        and any(r.mime_type.startswith("audio/") and r.data for r in info.resources)
    }
    hazard = hazard_of([i.event for i in cap.infos], vi.categories)
    alert.hazard = hazard.value if hazard is not None else None
    if hazard is not None:
        alert.templates = _fill_templates(
            session=session,
            settings=settings,
            principal=principal,
            synthesizer=synthesizer,
            bulletin=bulletin,
            areas=areas,
            home=home,
            hazard=hazard,
            versions=versions,
            recorded=recorded,
            vi=vi,
            sent=cap.sent,
        )
    alert.area_id = home.id
    alert.area_codes = [a.code for a in areas]
    alert.unmatched_codes = unmatched
    alert.languages = list(versions) + [lang for lang in alert.templates if lang not in versions]
    alert.skipped_languages = skipped
    alert.priority = priority.value
    alert.starts_at = starts
    alert.expires_at = expires
    alert.repeat_minutes = rule.repeat_minutes
    alert.bulletin_id = bulletin.id
    if cap.sender in rule.trusted_senders:
        alert.state = AlertState.releasing
        alert.released_by = ReleasedBy.trusted_sender.value
        alert.released_at = now
    else:
        alert.state = AlertState.held
        alert.hold_until = now + timedelta(minutes=rule.hold_minutes)
    session.add(alert)
    session.flush()


def _fill_templates(
    *,
    session: Session,
    settings: Settings,
    principal: Principal,
    synthesizer: Synthesizer | None,
    bulletin: Bulletin,
    areas: Sequence[Area],
    home: Area,
    hazard: Hazard,
    versions: dict[str, CapInfo],
    recorded: set[str],
    vi: CapInfo,
    sent: datetime,
) -> dict[str, int]:
    """Voice from the area's emergency templates each aired language no engine speaks.

    Every language the target areas' stations air, other than Vietnamese and those the
    alert brought a recording for, that no engine speaks, is filled in from the nearest
    reviewed template for the hazard, if one exists; the alert's own text in that
    language stays on the version for display. Returns language -> template id.
    """
    aired: set[str] = set()
    for area in areas:
        aired |= bulletins.aired_languages(session=session, area=area)
    wanted = sorted(aired - recorded - {bulletins.SOURCE_LANGUAGE})
    if not wanted:
        return {}
    synth = synthesizer or media.synthesizer(settings)
    onset = vi.onset or vi.effective or sent
    values = {
        "place": [a.name for a in areas],
        "area_name": [home.name],
        "time": [templates.local_time_text(onset, settings.zone)],
        "expires": [templates.local_time_text(vi.expires, settings.zone)] if vi.expires else [],
    }
    filled: dict[str, int] = {}
    for language in wanted:
        try:
            synth.candidates(language)
            continue  # an engine reads it: the alert's text is rendered as usual
        except UnsupportedLanguage:
            pass
        template = templates.effective_template(
            session=session, area=home, hazard=hazard, language=language
        )
        if template is None:
            continue
        info = versions.get(language)
        try:
            # A broken template must not keep the warning off the air: that language is
            # then left as if no template existed (and the failure is on record).
            with session.begin_nested():
                _version, done = templates.fill_version(
                    session=session,
                    settings=settings,
                    synthesizer=synth,
                    actor=principal.user,
                    bulletin=bulletin,
                    template=template,
                    values=values,
                    text=_script(info)[: bulletins.MAX_TEXT_CHARS] if info is not None else None,
                )
        except LoaError as exc:
            log.warning("template %s could not voice '%s': %s", template.id, language, exc)
            audit.record(
                session=session,
                actor=principal.user,
                action="alert.template_failed",
                object_type="bulletin",
                object_id=bulletin.id or 0,
                area_id=bulletin.area_id,
                detail={"language": language, "template_id": template.id, "code": exc.code},
            )
            continue
        filled[language] = template.id or 0
        audit.record(
            session=session,
            actor=principal.user,
            action="alert.template",
            object_type="bulletin",
            object_id=bulletin.id or 0,
            area_id=bulletin.area_id,
            detail={
                "language": language,
                "template_id": template.id,
                "hazard": hazard.value,
                "audio_sha256": done.audio.sha256,
                "parts": [
                    {"kind": p.kind, "label": p.label, "source": p.source} for p in done.parts
                ],
            },
        )
    return filled


# --- approval and release ----------------------------------------------------------------


def approve_alert(
    *, session: Session, principal: Principal, alert_id: int, now: datetime | None = None
) -> Alert:
    """An approver lets a held alert air now (the worker schedules it once voiced)."""
    principal.require(Role.approver)
    alert = get_alert(session=session, alert_id=alert_id, scope=principal.scope)
    if alert.state != AlertState.held:
        raise ConflictError(
            f"Alert {alert_id} is {AlertState(alert.state).value}: "
            "only a held alert can be approved",
            code="alert.not_held",
            alert_id=alert_id,
            state=AlertState(alert.state).value,
        )
    now = as_utc(now or utcnow())
    alert.state = AlertState.releasing
    alert.released_by = ReleasedBy.approver.value
    alert.released_at = now
    alert.approved_by_id = principal.user.id
    alert.updated_at = now
    session.add(alert)
    session.flush()
    _record(session, principal, "alert.approve", alert)
    return alert


def _until(expires: datetime) -> str:
    return (expires - timedelta(seconds=1)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _air(session: Session, settings: Settings, alert: Alert, now: datetime) -> bool:
    """Schedule a released alert whose audio is ready; False while it is still rendering."""
    bulletin = session.get(Bulletin, alert.bulletin_id) if alert.bulletin_id else None
    if bulletin is None:
        raise InvalidInputError(
            f"Alert {alert.id} has no bulletin", code="alert.no_bulletin", alert_id=alert.id
        )
    versions = bulletins.translations_of(session=session, bulletin_id=bulletin.id or 0)
    if any(t.audio_state == AudioState.pending for t in versions):
        return False
    failed = {t.language for t in versions if t.audio_state == AudioState.failed}
    if bulletins.SOURCE_LANGUAGE in failed:
        raise InvalidInputError(
            f"Alert {alert.id} cannot air: its Vietnamese version could not be voiced",
            code="alert.vietnamese_unvoiced",
            alert_id=alert.id,
        )
    for language in sorted(failed):
        bulletins.remove_translation(session=session, bulletin=bulletin, language=language)
    alert.unvoiced_languages = sorted(failed)
    bulletins.approve_by_rule(
        session=session, bulletin=bulletin, rule=f"alert {alert.id}: {alert.released_by}"
    )
    first = max(as_utc(alert.starts_at or now), now)
    expires = as_utc(alert.expires_at) if alert.expires_at else None
    repeat = timedelta(minutes=alert.repeat_minutes)
    rule = None
    if expires is not None and first + repeat < expires:
        minutes = alert.repeat_minutes
        rule = (
            f"FREQ=HOURLY;INTERVAL={minutes // 60};UNTIL={_until(expires)}"
            if minutes % 60 == 0
            else f"FREQ=MINUTELY;INTERVAL={minutes};UNTIL={_until(expires)}"
        )
    broadcast = create_broadcast(
        session=session,
        settings=settings,
        actor=None,
        scope=Scope.everything(),
        bulletin_ids=[bulletin.id or 0],
        area_codes=alert.area_codes,
        starts_at=first,
        rule=rule,
        priority=AiringPriority(alert.priority),
        title=alert.headline or alert.event,
        now=now,
        emergency_repeats=True,
    )
    alert.broadcast_id = broadcast.id
    alert.state = AlertState.aired
    alert.updated_at = now
    session.add(alert)
    session.flush()
    audit.record(
        session=session,
        actor=None,
        action="broadcast.create",
        object_type="broadcast",
        object_id=broadcast.id or 0,
        area_id=broadcast.area_id,
        detail={"alert_id": alert.id, "area_codes": alert.area_codes, "rrule": rule},
    )
    _record(session, None, "alert.air", alert, broadcast_id=broadcast.id)
    return True


def release_alerts(*, session: Session, settings: Settings, now: datetime | None = None) -> int:
    """The worker's pass: held alerts past their deadline are released, released ones aired.

    Returns how many alerts were scheduled. An alert that cannot air is marked `failed`
    with the reason; the others go on.
    """
    now = as_utc(now or utcnow())
    overdue = session.exec(
        select(Alert).where(Alert.state == AlertState.held, col(Alert.hold_until) <= now)
    ).all()
    for alert in overdue:
        alert.state = AlertState.releasing
        alert.released_by = ReleasedBy.deadline.value
        alert.released_at = now
        alert.updated_at = now
        session.add(alert)
        _record(session, None, "alert.deadline", alert)
    session.flush()
    ready = session.exec(
        select(Alert).where(Alert.state == AlertState.releasing).order_by(col(Alert.id))
    ).all()
    aired = 0
    for alert in ready:
        try:
            with session.begin_nested():
                if _air(session, settings, alert, now):
                    aired += 1
        except LoaError as exc:
            alert.state = AlertState.failed
            alert.reason = str(exc)[:500]
            alert.updated_at = now
            session.add(alert)
            _record(session, None, "alert.failed", alert, reason=alert.reason, code=exc.code)
    session.flush()
    return aired
