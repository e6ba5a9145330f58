"""CAP alerts in the console: those held for an approver (with their deadline), and the rest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.messages import say
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep, WakeDep
from broadcast.alerts import service as alerts
from broadcast.alerts.models import AlertState
from broadcast.people.models import Role
from stations import registry
from stations.errors import LoaError

router = APIRouter(route_class=ConsoleRoute)

STATE_LABELS = {
    "held": "Chờ duyệt",
    "releasing": "Đang chuẩn bị phát",
    "aired": "Đã lên lịch phát",
    "cancelled": "Đã hủy",
    "superseded": "Đã được cập nhật",
    "applied": "Đã áp dụng",
    "ignored": "Không phát",
    "failed": "Không phát được",
}
RELEASED_LABELS = {
    "trusted_sender": "nguồn tin cậy",
    "approver": "người duyệt",
    "deadline": "hết hạn chờ duyệt",
}
PRIORITY_LABELS = {"normal": "Thông thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}
MSG_TYPES = {"Alert": "Cảnh báo", "Update": "Cập nhật", "Cancel": "Hủy", "Ack": "Xác nhận"}


def _page(
    request: Request,
    session: SessionDep,
    principal: UserDep,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    held, _ = alerts.list_alerts(
        session=session, scope=principal.scope, state=AlertState.held, limit=100
    )
    recent, _ = alerts.list_alerts(session=session, scope=principal.scope, limit=50)
    return render(
        request,
        "alerts.html",
        {
            "held": held,
            "recent": [a for a in recent if a.state != AlertState.held],
            "states": STATE_LABELS,
            "released": RELEASED_LABELS,
            "priorities": PRIORITY_LABELS,
            "msg_types": MSG_TYPES,
            "may_approve": principal.role in (Role.admin, Role.approver),
            "names": {lang.code: lang.name for lang in registry.list_languages(session=session)},
            "error": error,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """Held alerts first (by deadline), then the latest alerts of the caller's area."""
    return _page(request, session, principal)


@router.post("/alerts/{alert_id}/approve", response_class=HTMLResponse, dependencies=[CsrfDep])
def approve_alert(
    request: Request,
    alert_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    clock: ClockDep,
    wake: WakeDep,
) -> Response:
    """An approver lets a held alert air now."""
    try:
        alerts.approve_alert(session=session, principal=principal, alert_id=alert_id, now=clock())
    except LoaError as exc:
        session.rollback()
        return _page(
            request, session, principal, error=say(exc, zone=settings.zone), status_code=422
        )
    session.commit()
    wake()
    return redirect("/alerts", "Đã duyệt cảnh báo: sẽ phát ngay khi có âm thanh")
