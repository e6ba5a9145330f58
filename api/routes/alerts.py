"""CAP 1.2 alerts: intake from warning systems, the held list, approval, per-area rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from api import alert_schemas as asch
from api import schemas
from api.deps import (
    ClockDep,
    IdPath,
    PrincipalDep,
    RenderWakeDep,
    SessionDep,
    SettingsDep,
    SynthesizerDep,
    WakeDep,
)
from broadcast.alerts import service as alerts
from broadcast.alerts.cap import MAX_CAP_BYTES
from broadcast.alerts.models import Alert, AlertState
from stations.timeutil import as_utc

router = APIRouter(prefix="/alerts", tags=["alerts"])

CAP_MEDIA_TYPES = ("application/cap+xml", "application/xml", "text/xml")


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def alert_public(alert: Alert) -> asch.AlertPublic:
    """An alert as shown."""
    return asch.AlertPublic(
        id=alert.id or 0,
        identifier=alert.identifier,
        sender=alert.sender,
        sent=as_utc(alert.sent),
        msg_type=alert.msg_type,
        cap_status=alert.cap_status,
        event=alert.event,
        headline=alert.headline,
        state=alert.state,
        reason=alert.reason,
        priority=alert.priority,
        area_codes=list(alert.area_codes or []),
        unmatched_codes=list(alert.unmatched_codes or []),
        languages=list(alert.languages or []),
        skipped_languages=list(alert.skipped_languages or []),
        unvoiced_languages=list(alert.unvoiced_languages or []),
        hazard=alert.hazard,
        templates=dict(alert.templates or {}),
        starts_at=_utc(alert.starts_at),
        expires_at=_utc(alert.expires_at),
        repeat_minutes=alert.repeat_minutes,
        hold_until=_utc(alert.hold_until),
        released_by=alert.released_by,
        released_at=_utc(alert.released_at),
        approved_by_id=alert.approved_by_id,
        bulletin_id=alert.bulletin_id,
        broadcast_id=alert.broadcast_id,
        ended_alert_ids=list(alert.ended_alert_ids or []),
        created_at=as_utc(alert.created_at),
    )


async def _cap_body(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in CAP_MEDIA_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Send the CAP document as application/cap+xml or application/xml "
            f"(got '{kind or 'no Content-Type'}')",
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > alerts_max_bytes():
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"The CAP document is larger than {MAX_CAP_BYTES // 1_000_000} MB",
            )
    return bytes(body)


def alerts_max_bytes() -> int:
    """The largest CAP document accepted, in bytes."""
    return MAX_CAP_BYTES


@router.post(
    "/cap",
    response_model=asch.AlertPublic,
    status_code=201,
    summary="Deliver a CAP 1.2 alert",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in CAP_MEDIA_TYPES[:2]},
        }
    },
    responses={200: {"model": asch.AlertPublic, "description": "Already received: unchanged"}},
)
def deliver_cap(
    response: Response,
    document: Annotated[bytes, Depends(_cap_body)],
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    synthesizer: SynthesizerDep,
    clock: ClockDep,
    wake: WakeDep,
    render_wake: RenderWakeDep,
) -> asch.AlertPublic:
    """A CAP 1.2 document (OASIS) becomes a broadcast in the communes it names.

    Needs an API token with the `alerts` scope, owned by an editor. 201 with the new
    alert; 200 with the same answer when the same document was already received.
    Invalid XML, a DTD, a document the CAP 1.2 schema refuses, or one naming no area
    of the caller's: 422 with the reason (`cap.malformed`, `cap.doctype`, `cap.invalid`
    with the element's path, `cap.no_area`, ...).
    """
    alert, created = alerts.receive_alert(
        session=session,
        settings=settings,
        principal=principal,
        document=document,
        synthesizer=synthesizer,
        now=clock(),
    )
    answer = alert_public(alert)
    session.commit()
    if created:
        render_wake()
        wake()
    else:
        response.status_code = status.HTTP_200_OK
    return answer


@router.get("", response_model=schemas.Page[asch.AlertPublic], summary="List alerts")
def list_alerts(
    session: SessionDep,
    principal: PrincipalDep,
    page: Annotated[schemas.PageParams, Depends(schemas.page_params)],
    state: AlertState | None = None,
) -> schemas.Page[asch.AlertPublic]:
    """Alerts of the caller's subtree, newest first; `state=held` lists them by deadline."""
    rows, total = alerts.list_alerts(
        session=session,
        scope=principal.scope,
        state=state,
        limit=page.limit,
        offset=page.offset,
    )
    return schemas.Page(
        items=[alert_public(a) for a in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{alert_id}", response_model=asch.AlertPublic, summary="Show an alert")
def get_alert(alert_id: IdPath, session: SessionDep, principal: PrincipalDep) -> asch.AlertPublic:
    """One alert of the caller's subtree."""
    return alert_public(alerts.get_alert(session=session, alert_id=alert_id, scope=principal.scope))


@router.post(
    "/{alert_id}/approve", response_model=asch.AlertPublic, summary="Let a held alert air now"
)
def approve_alert(
    alert_id: IdPath, session: SessionDep, principal: PrincipalDep, clock: ClockDep, wake: WakeDep
) -> asch.AlertPublic:
    """An approver of the area releases a held alert; it airs as soon as it is voiced."""
    alert = alerts.approve_alert(
        session=session, principal=principal, alert_id=alert_id, now=clock()
    )
    answer = alert_public(alert)
    session.commit()
    wake()
    return answer


def _rule_public(area_code: str, rule: alerts.EffectiveRule) -> asch.AlertRulePublic:
    return asch.AlertRulePublic(
        area_code=area_code,
        rule_area_code=rule.area_code,
        trusted_senders=list(rule.trusted_senders),
        hold_minutes=rule.hold_minutes,
        repeat_minutes=rule.repeat_minutes,
        feed_url=rule.feed_url,
    )


@router.get(
    "/rules/{area_code}", response_model=asch.AlertRulePublic, summary="Show an area's alert rule"
)
def get_rule(
    area_code: str, session: SessionDep, settings: SettingsDep, principal: PrincipalDep
) -> asch.AlertRulePublic:
    """The rule that applies to the area: its own, its nearest ancestor's, or the defaults."""
    rule = alerts.get_rule(
        session=session, settings=settings, principal=principal, area_code=area_code
    )
    return _rule_public(area_code, rule)


@router.put(
    "/rules/{area_code}", response_model=asch.AlertRulePublic, summary="Set an area's alert rule"
)
def set_rule(
    area_code: str,
    body: asch.AlertRuleIn,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> asch.AlertRulePublic:
    """An administrator sets the trusted senders, hold and repeat of an area's alerts."""
    alerts.set_rule(
        session=session,
        principal=principal,
        area_code=area_code,
        trusted_senders=body.trusted_senders,
        hold_minutes=body.hold_minutes,
        repeat_minutes=body.repeat_minutes,
        feed_url=body.feed_url,
    )
    rule = alerts.get_rule(
        session=session, settings=settings, principal=principal, area_code=area_code
    )
    return _rule_public(area_code, rule)
