"""Webhook subscriptions (administrators, scoped to their area): signed events to other systems."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlmodel import Session

from api import schemas
from api import webhook_schemas as whs
from api.deps import AdminDep, ClockDep, IdPath, SessionDep
from broadcast.webhooks import service
from broadcast.webhooks.models import SendState, WebhookSubscription
from stations.timeutil import as_utc

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _public(
    session: Session, row: WebhookSubscription, codes: dict[int, str] | None = None
) -> whs.WebhookPublic:
    """A subscription as shown (`codes`: its area's code, read when not given)."""
    if codes is None:
        codes = service.area_codes(session, [row])
    return whs.WebhookPublic(
        id=row.id or 0,
        url=row.url,
        event_types=list(row.event_types),
        description=row.description,
        area_code=codes.get(row.area_id) if row.area_id is not None else None,
        active=row.active,
        created_by_id=row.created_by_id,
        created_at=as_utc(row.created_at),
        secret_rotated_at=_utc(row.secret_rotated_at),
        previous_secret_until=_utc(row.previous_secret_until) if row.previous_secret else None,
    )


def _with_secret(session: Session, row: WebhookSubscription, secret: str) -> whs.WebhookWithSecret:
    return whs.WebhookWithSecret(**_public(session, row).model_dump(), secret=secret)


@router.post("", response_model=whs.WebhookWithSecret, status_code=201, summary="Subscribe a URL")
def create_webhook(
    body: whs.WebhookCreate, session: SessionDep, principal: AdminDep
) -> whs.WebhookWithSecret:
    """Events of the caller's area (or `area_code` below it) are POSTed to `url`, signed.
    The answer holds the signing secret: it is never shown again."""
    row, secret = service.create_subscription(
        session=session,
        principal=principal,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        area_code=body.area_code,
    )
    return _with_secret(session, row, secret)


@router.get("", response_model=list[whs.WebhookPublic], summary="List subscriptions")
def list_webhooks(session: SessionDep, principal: AdminDep) -> list[whs.WebhookPublic]:
    """The subscriptions of the caller's subtree."""
    rows = service.list_subscriptions(session=session, principal=principal)
    codes = service.area_codes(session, rows)
    return [_public(session, r, codes) for r in rows]


@router.get("/{subscription_id}", response_model=whs.WebhookPublic, summary="One subscription")
def get_webhook(
    subscription_id: IdPath, session: SessionDep, principal: AdminDep
) -> whs.WebhookPublic:
    """One subscription (without its secret)."""
    row = service.get_subscription(
        session=session, principal=principal, subscription_id=subscription_id
    )
    return _public(session, row)


@router.patch("/{subscription_id}", response_model=whs.WebhookPublic, summary="Change one")
def update_webhook(
    subscription_id: IdPath, body: whs.WebhookUpdate, session: SessionDep, principal: AdminDep
) -> whs.WebhookPublic:
    """Change the URL, the event types, the description or switch it off and on."""
    row = service.update_subscription(
        session=session,
        principal=principal,
        subscription_id=subscription_id,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        active=body.active,
    )
    return _public(session, row)


@router.delete("/{subscription_id}", status_code=204, summary="Remove a subscription")
def delete_webhook(subscription_id: IdPath, session: SessionDep, principal: AdminDep) -> Response:
    """Remove it and its delivery log; nothing more is sent to it."""
    service.delete_subscription(
        session=session, principal=principal, subscription_id=subscription_id
    )
    return Response(status_code=204)


@router.post(
    "/{subscription_id}/rotate-secret",
    response_model=whs.WebhookWithSecret,
    summary="Replace the signing secret",
)
def rotate_webhook_secret(
    subscription_id: IdPath,
    session: SessionDep,
    principal: AdminDep,
    clock: ClockDep,
    body: whs.WebhookRotate | None = None,
) -> whs.WebhookWithSecret:
    """A new secret signs every request from now on, retries included; shown this once.
    With `keep_previous_hours` the replaced one signs too, for that long."""
    row, secret = service.rotate_secret(
        session=session,
        principal=principal,
        subscription_id=subscription_id,
        keep_previous_hours=body.keep_previous_hours if body else 0,
        now=clock(),
    )
    return _with_secret(session, row, secret)


@router.get(
    "/{subscription_id}/deliveries",
    response_model=schemas.Page[whs.WebhookSendPublic],
    summary="The delivery log",
)
def list_webhook_deliveries(
    subscription_id: IdPath,
    session: SessionDep,
    principal: AdminDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
) -> schemas.Page[whs.WebhookSendPublic]:
    """Every event owed to the subscription, newest first: tries, last answer, next retry."""
    lines, total = service.list_sends(
        session=session,
        principal=principal,
        subscription_id=subscription_id,
        limit=page.limit,
        offset=page.offset,
    )
    items = [
        whs.WebhookSendPublic(
            event_id=line.event_uid,
            type=line.event_type,
            created_at=as_utc(line.event_created_at),
            state=line.send.state,
            attempts=line.send.attempts,
            last_status_code=line.send.last_status_code,
            last_error=line.send.last_error,
            last_attempt_at=_utc(line.send.last_attempt_at),
            next_retry_at=_utc(line.send.next_attempt_at)
            if line.send.state == SendState.pending
            else None,
            delivered_at=_utc(line.send.delivered_at),
        )
        for line in lines
    ]
    return schemas.Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/{subscription_id}/test",
    response_model=whs.WebhookTestSent,
    status_code=202,
    summary="Send a ping event",
)
def test_webhook(
    subscription_id: IdPath, session: SessionDep, principal: AdminDep
) -> whs.WebhookTestSent:
    """Queue a signed `ping` event for this subscription; the delivery log shows its fate."""
    uid = service.send_test(session=session, principal=principal, subscription_id=subscription_id)
    return whs.WebhookTestSent(event_id=uid)
