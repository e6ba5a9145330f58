"""What a user sees of the notifications: open alerts of their area, and dismissing one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from broadcast.bulletins.models import Bulletin
from broadcast.notifications.models import Notification, NotificationDismissal
from broadcast.people.models import User
from broadcast.schedule.models import Occurrence
from stations.areas import Scope
from stations.errors import NotFoundError
from stations.models import Area, Language


@dataclass(frozen=True)
class NotificationView:
    """A notification with what it is about, for lists."""

    notification: Notification
    area: Area
    bulletin_title: str
    language_name: str
    broadcast_id: int
    seq: int


def _open(user: User, scope: Scope) -> ColumnElement[bool]:
    """Not resolved, not dismissed by the user, of an area in their scope."""
    dismissed = (
        select(NotificationDismissal.notification_id)
        .where(
            col(NotificationDismissal.notification_id) == col(Notification.id),
            NotificationDismissal.user_id == user.id,
        )
        .exists()
    )
    return col(Notification.resolved_at).is_(None) & ~dismissed & scope.clause()


def open_count(*, session: Session, user: User, scope: Scope) -> int:
    """How many open, not dismissed notifications the user has (one query)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .join(Area, col(Area.id) == col(Notification.area_id))
            .where(_open(user, scope))
        ).one()
    )


def list_notifications(
    *, session: Session, user: User, scope: Scope, limit: int = 200
) -> list[NotificationView]:
    """The user's open notifications, soonest airing first (two queries)."""
    names = dict(session.exec(select(Language.code, Language.name)).all())
    rows = session.exec(
        select(Notification, Area, Bulletin, Occurrence)
        .join(Area, col(Area.id) == col(Notification.area_id))
        .join(Bulletin, col(Bulletin.id) == col(Notification.bulletin_id))
        .join(Occurrence, col(Occurrence.id) == col(Notification.occurrence_id))
        .where(_open(user, scope))
        .order_by(col(Notification.air_at), col(Notification.id))
        .limit(limit)
    ).all()
    return [
        NotificationView(n, a, b.title, names.get(n.language, n.language), o.broadcast_id, o.seq)
        for n, a, b, o in rows
    ]


def dismiss(
    *, session: Session, user: User, scope: Scope, notification_id: int, now: datetime
) -> None:
    """Put a notification of the user's area away for them (again: nothing more)."""
    found = session.get(Notification, notification_id)
    area = session.get(Area, found.area_id) if found is not None else None
    if found is None or area is None or not scope.covers(area):
        raise NotFoundError(
            f"Notification {notification_id} not found",
            code="notification.not_found",
            notification_id=notification_id,
        )
    if session.get(NotificationDismissal, (notification_id, user.id)) is None:
        session.add(
            NotificationDismissal(
                notification_id=notification_id, user_id=user.id or 0, dismissed_at=now
            )
        )
        session.flush()
