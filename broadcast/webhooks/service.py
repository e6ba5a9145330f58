"""Webhook subscriptions: what administrators create, change, rotate, test and read back.

A subscription belongs to its creator's area (or one below it) and receives the events
of that subtree; only administrators manage them, each only within their own subtree.
The secret is returned by `create_subscription` and `rotate_secret` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from broadcast.core import audit
from broadcast.people.service import Principal
from broadcast.webhooks import signing
from broadcast.webhooks.models import (
    ALL_EVENTS,
    MAX_URL,
    EventType,
    WebhookEvent,
    WebhookSend,
    WebhookSubscription,
)
from broadcast.webhooks.outbox import emit_to
from stations.areas import Scope, get_area
from stations.errors import InvalidInputError, NotFoundError
from stations.models import Area
from stations.timeutil import utcnow

# Event types a subscription may name (`ping` is sent to every subscription by its test).
SUBSCRIBABLE = tuple(t.value for t in EventType if t is not EventType.ping)
MAX_DESCRIPTION = 300
# The longest a replaced secret may keep signing after a rotation (three days).
MAX_KEEP_PREVIOUS_HOURS = 72


@dataclass(frozen=True, slots=True)
class SendLine:
    """One line of a subscription's delivery log."""

    send: WebhookSend
    event_uid: str
    event_type: str
    event_created_at: datetime


def check_url(url: str) -> str:
    """An http(s) URL with a host, or InvalidInputError."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"'{url[:100]}' is not an http:// or https:// address with a host",
            code="webhook.bad_url",
            limit=MAX_URL,
        )
    return url


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types, each known (or `*`), without repeats; InvalidInputError otherwise."""
    chosen = list(dict.fromkeys(t.strip() for t in event_types))
    if not chosen:
        raise InvalidInputError("Name at least one event type (or *)", code="webhook.no_events")
    unknown = [t for t in chosen if t != ALL_EVENTS and t not in SUBSCRIBABLE]
    if unknown:
        raise InvalidInputError(
            f"Unknown event type(s): {', '.join(unknown)} (known: {', '.join(SUBSCRIBABLE)}, *)",
            code="webhook.unknown_event",
            event_types=unknown,
        )
    return [ALL_EVENTS] if ALL_EVENTS in chosen else chosen


def _check_description(description: str | None) -> str | None:
    if description is None:
        return None
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInputError(
            f"The description is longer than {MAX_DESCRIPTION} characters",
            code="webhook.description_too_long",
            limit=MAX_DESCRIPTION,
        )
    return description or None


def _in_scope(scope: Scope, area: Area | None) -> bool:
    if area is None:
        return scope.path is None
    return scope.covers(area)


def area_codes(session: Session, rows: Sequence[WebhookSubscription]) -> dict[int, str]:
    """Area id -> code for the subscriptions' areas (one read)."""
    ids = {r.area_id for r in rows if r.area_id is not None}
    if not ids:
        return {}
    found = session.exec(select(Area.id, Area.code).where(col(Area.id).in_(ids))).all()
    return {aid or 0: code for aid, code in found}


def create_subscription(
    *,
    session: Session,
    principal: Principal,
    url: str,
    event_types: Sequence[str],
    description: str | None = None,
    area_code: str | None = None,
    now: datetime | None = None,
) -> tuple[WebhookSubscription, str]:
    """An administrator subscribes a URL to events of their area (or one below it).

    Returns the subscription and its secret, which is never shown again.
    """
    principal.require()
    area = (
        get_area(session=session, code=area_code, scope=principal.scope)
        if area_code
        else principal.area
    )
    secret = signing.new_secret()
    row = WebhookSubscription(
        area_id=area.id if area is not None else None,
        url=check_url(url),
        event_types=check_event_types(event_types),
        description=_check_description(description),
        secret=secret,
        created_by_id=principal.user.id,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    _audit(session, principal, "webhook.create", row, url=row.url, event_types=row.event_types)
    return row, secret


def _audit(
    session: Session,
    principal: Principal,
    action: str,
    row: WebhookSubscription,
    **detail: object,
) -> None:
    audit.record(
        session=session,
        actor=principal.user,
        action=action,
        object_type="webhook",
        object_id=row.id or 0,
        area_id=row.area_id,
        detail=dict(detail),
    )


def list_subscriptions(*, session: Session, principal: Principal) -> list[WebhookSubscription]:
    """The subscriptions of the caller's subtree, oldest first (administrators only)."""
    principal.require()
    scope = principal.scope
    statement = select(WebhookSubscription).order_by(col(WebhookSubscription.id))
    if scope.path is not None:
        statement = statement.join(Area, col(Area.id) == col(WebhookSubscription.area_id)).where(
            scope.clause()
        )
    return list(session.exec(statement).all())


def get_subscription(
    *, session: Session, principal: Principal, subscription_id: int
) -> WebhookSubscription:
    """One subscription of the caller's subtree, or NotFoundError (administrators only)."""
    principal.require()
    row = session.get(WebhookSubscription, subscription_id)
    area = session.get(Area, row.area_id) if row is not None and row.area_id else None
    if row is None or not _in_scope(principal.scope, area):
        raise NotFoundError(
            f"Webhook subscription {subscription_id} not found",
            code="webhook.not_found",
            subscription_id=subscription_id,
        )
    return row


def update_subscription(
    *,
    session: Session,
    principal: Principal,
    subscription_id: int,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
) -> WebhookSubscription:
    """Change a subscription's URL, events, description or active flag."""
    row = get_subscription(session=session, principal=principal, subscription_id=subscription_id)
    changed: dict[str, object] = {}
    if url is not None:
        row.url = changed["url"] = check_url(url)
    if event_types is not None:
        row.event_types = check_event_types(event_types)
        changed["event_types"] = row.event_types
    if description is not None:
        row.description = _check_description(description)
        changed["description"] = row.description
    if active is not None:
        row.active = changed["active"] = active
    session.add(row)
    session.flush()
    _audit(session, principal, "webhook.update", row, **changed)
    return row


def delete_subscription(*, session: Session, principal: Principal, subscription_id: int) -> None:
    """Remove a subscription and its delivery log."""
    row = get_subscription(session=session, principal=principal, subscription_id=subscription_id)
    session.execute(delete(WebhookSend).where(col(WebhookSend.subscription_id) == row.id))
    _audit(session, principal, "webhook.delete", row, url=row.url)
    session.delete(row)
    session.flush()


def rotate_secret(
    *,
    session: Session,
    principal: Principal,
    subscription_id: int,
    keep_previous_hours: int = 0,
    now: datetime | None = None,
) -> tuple[WebhookSubscription, str]:
    """Replace a subscription's secret; returns the new one (shown this once).

    With `keep_previous_hours`, the secret replaced keeps signing beside the new one
    for that long (Standard Webhooks' several signatures); without, it stops at once.
    """
    if not 0 <= keep_previous_hours <= MAX_KEEP_PREVIOUS_HOURS:
        raise InvalidInputError(
            f"keep_previous_hours must be from 0 to {MAX_KEEP_PREVIOUS_HOURS}",
            code="webhook.bad_overlap",
            maximum=MAX_KEEP_PREVIOUS_HOURS,
        )
    row = get_subscription(session=session, principal=principal, subscription_id=subscription_id)
    now = now or utcnow()
    if keep_previous_hours:
        row.previous_secret = row.secret
        row.previous_secret_until = now + timedelta(hours=keep_previous_hours)
    else:
        row.previous_secret = row.previous_secret_until = None
    secret = signing.new_secret()
    row.secret = secret
    row.secret_rotated_at = now
    session.add(row)
    session.flush()
    _audit(
        session, principal, "webhook.rotate_secret", row, keep_previous_hours=keep_previous_hours
    )
    return row, secret


def send_test(
    *, session: Session, principal: Principal, subscription_id: int, now: datetime | None = None
) -> str:
    """Queue a `ping` event for one subscription (even an inactive one is not sent it)."""
    row = get_subscription(session=session, principal=principal, subscription_id=subscription_id)
    now = now or utcnow()
    data = {"subscription_id": row.id, "url": row.url, "sent_by": principal.user.username}
    uid = emit_to(session, row, EventType.ping, data, now=now)
    _audit(session, principal, "webhook.test", row, event_id=uid)
    return uid


def list_sends(
    *,
    session: Session,
    principal: Principal,
    subscription_id: int,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[SendLine], int]:
    """A subscription's delivery log, newest event first, and how many lines it has."""
    row = get_subscription(session=session, principal=principal, subscription_id=subscription_id)
    mine = col(WebhookSend.subscription_id) == row.id
    total = session.exec(select(func.count()).select_from(WebhookSend).where(mine)).one()
    found = session.exec(
        select(WebhookSend, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookSend.event_id))
        .where(mine)
        .order_by(col(WebhookSend.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    lines = [SendLine(send, event.uid, event.type, event.created_at) for send, event in found]
    return lines, int(total)
