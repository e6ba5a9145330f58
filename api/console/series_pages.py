"""The broadcast page's "Sửa lịch phát": edit one airing, this and the following, or all."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from api.console.messages import say, text_for
from api.console.web import (
    TYPED_DAY_ERROR,
    ConsoleRoute,
    CsrfDep,
    UserDep,
    can,
    redirect,
    typed_day,
)
from api.deps import MAX_ID, IdPath, SessionDep, SettingsDep, WakeDep, get_clock
from broadcast.bulletins import service as bulletins
from broadcast.bulletins.models import BulletinStatus
from broadcast.people.models import Role
from broadcast.people.service import Principal
from broadcast.schedule import edits
from broadcast.schedule import service as scheduling
from broadcast.schedule.models import Broadcast, BroadcastStatus
from stations.areas import list_areas
from stations.errors import LoaError
from stations.protocol import Priority
from stations.timeutil import as_utc

router = APIRouter(route_class=ConsoleRoute)

SCOPE_OPTIONS = [
    (edits.EditScope.all.value, "Mọi lượt sắp tới"),
    (edits.EditScope.following.value, "Lượt đã chọn và các lượt sau"),
    (edits.EditScope.this.value, "Chỉ lượt đã chọn"),
]


def edit_context(
    session: Session, principal: Principal, broadcast: Broadcast, now: datetime
) -> dict[str, object] | None:
    """What the edit form offers, or None when the caller cannot edit this broadcast."""
    if (
        broadcast.status != BroadcastStatus.scheduled
        or Priority(broadcast.priority) is Priority.emergency
        or not can(principal, Role.editor)
    ):
        return None
    airings = [
        o
        for o in scheduling.occurrences_of(session=session, broadcast_id=broadcast.id or 0)
        if o.state in ("pending", "dispatched") and not o.settled and as_utc(o.air_at) > now
    ]
    if not airings:
        return None
    approved, _ = bulletins.list_bulletins(
        session=session, scope=principal.scope, status=BulletinStatus.approved, limit=200
    )
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    return {
        "airings": airings,
        "scope_options": SCOPE_OPTIONS,
        "bulletin_options": [(str(b.id), f"#{b.id} {b.title}") for b, _a in approved],
        "area_options": [(a.code, f"{a.name} ({a.code})") for a in areas],
        "chosen_bulletins": [str(i) for i in broadcast.bulletin_ids],
        "chosen_areas": list(broadcast.area_codes),
        "relay_length": _length(broadcast.duration_seconds) if broadcast.relay_source_id else None,
    }


def _length(seconds: int | None) -> str:
    """A relay's length as the broadcast page says it: "30 phút", "45 giây"."""
    total = seconds or 0
    return f"{total // 60} phút" if total >= 60 else f"{total} giây"


@router.post("/broadcasts/{broadcast_id}/edit", dependencies=[CsrfDep])
def edit_broadcast(
    broadcast_id: IdPath,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    wake: WakeDep,
    scope: Annotated[edits.EditScope, Form()] = edits.EditScope.all,
    seq: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    bulletin_ids: Annotated[list[int] | None, Form()] = None,
    area_codes: Annotated[list[str] | None, Form()] = None,
    air_day: Annotated[str, Form(max_length=20)] = "",
    air_time: Annotated[str, Form(max_length=10)] = "",
    title: Annotated[str, Form(max_length=300)] = "",
    once: Annotated[bool, Form()] = False,
    relay_minutes: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Edit the chosen airings; the new broadcast's page shows the result."""
    page = f"/broadcasts/{broadcast_id}"
    starts_at = None
    if air_day.strip() or air_time.strip():
        try:
            day = typed_day(air_day)
        except ValueError:
            return redirect(page, TYPED_DAY_ERROR, error=True)
        try:
            hour, minute = (int(p) for p in air_time.strip().replace("h", ":").split(":")[:2])
            starts_at = datetime.combine(day, time(hour, minute), tzinfo=settings.zone)
        except ValueError:
            return redirect(page, "Giờ phát không hợp lệ (ví dụ 6:05)", error=True)
    typed = relay_minutes.strip()
    if typed and not (typed.isdigit() and 0 < int(typed) <= 24 * 60):
        return redirect(page, text_for("relay.bad_duration") or "", error=True)
    try:
        result = edits.edit_series(
            session=session,
            settings=settings,
            principal=principal,
            broadcast_id=broadcast_id,
            scope=scope,
            seq=None if scope is edits.EditScope.all else seq,
            changes=edits.SeriesChanges(
                bulletin_ids=bulletin_ids or None,
                area_codes=area_codes or None,
                starts_at=starts_at,
                rrule=None if once else edits.UNSET,
                title=title.strip() or edits.UNSET,
                duration_seconds=int(typed) * 60 if typed else None,
            ),
            now=get_clock(request)(),
            wake=wake,
        )
    except LoaError as exc:
        session.rollback()
        return redirect(page, say(exc, zone=settings.zone), error=True)
    replaced = ", ".join(str(s) for s in result.replaced)
    new = result.broadcast.id
    return redirect(
        f"/broadcasts/{new}",
        f"Đã sửa lịch phát #{broadcast_id}: lượt {replaced} được thay bằng lịch phát #{new}",
    )
