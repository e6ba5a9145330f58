"""Notifications: the open alerts of the caller's area (a language a bulletin of a coming
airing has no ready version in), and putting one away, as the console's "Thông báo"."""

from __future__ import annotations

from fastapi import APIRouter

from api import notification_schemas as ns
from api import schemas
from api.deps import ClockDep, IdPath, PrincipalDep, SessionDep
from broadcast.notifications import service as notifications
from broadcast.notifications.service import NotificationView
from stations.timeutil import as_utc

router = APIRouter(prefix="/notifications", tags=["notifications"])

# Notifications listed at once (the console shows as many).
LIMIT = 200


def notification_public(view: NotificationView) -> ns.NotificationPublic:
    """A notification with what it is about."""
    row = view.notification
    return ns.NotificationPublic(
        id=row.id or 0,
        kind=str(row.kind),
        area_code=view.area.code,
        area_name=view.area.name,
        broadcast_id=view.broadcast_id,
        seq=view.seq,
        airing=f"{view.broadcast_id}.{view.seq}",
        air_at=as_utc(row.air_at),
        bulletin_id=row.bulletin_id,
        bulletin_title=view.bulletin_title,
        language=row.language,
        language_name=view.language_name,
        station_ids=list(row.station_ids or []),
        created_at=as_utc(row.created_at),
    )


@router.get(
    "",
    response_model=schemas.Page[ns.NotificationPublic],
    summary="List my open notifications",
)
def list_notifications(
    session: SessionDep, principal: PrincipalDep
) -> schemas.Page[ns.NotificationPublic]:
    """Open notifications of the caller's area and below that they have not put away,
    soonest airing first (at most LIMIT; `total` counts them all)."""
    views = notifications.list_notifications(
        session=session, user=principal.user, scope=principal.scope, limit=LIMIT
    )
    total = notifications.open_count(session=session, user=principal.user, scope=principal.scope)
    return schemas.Page(
        items=[notification_public(v) for v in views], total=total, limit=LIMIT, offset=0
    )


@router.post(
    "/{notification_id}/dismiss", status_code=204, summary="Put a notification away for me"
)
def dismiss_notification(
    notification_id: IdPath, session: SessionDep, principal: PrincipalDep, clock: ClockDep
) -> None:
    """Hide one notification from the caller's list (other users still see it); again:
    nothing more. 404 `notification.not_found` outside the caller's area."""
    notifications.dismiss(
        session=session,
        user=principal.user,
        scope=principal.scope,
        notification_id=notification_id,
        now=clock(),
    )
