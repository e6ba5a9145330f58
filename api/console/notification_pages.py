"""Weekly digests ("Bản tin tuần") and notifications ("Thông báo") in the console."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import ClockDep, IdPath, SessionDep
from broadcast.notifications import digests
from broadcast.notifications import service as notifications

router = APIRouter(route_class=ConsoleRoute)

# Digests listed on one page: a year of weeks for one district.
DIGESTS_SHOWN = 100


@router.get("/digests", response_class=HTMLResponse)
def digests_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The weekly digests of the user's area and the areas below, newest first."""
    rows, total = digests.list_digests(
        session=session, scope=principal.scope, limit=DIGESTS_SHOWN, offset=0
    )
    return render(
        request,
        "digests.html",
        {"rows": rows, "total": total, "week_end": timedelta(days=digests.DAYS - 1)},
        principal=principal,
    )


@router.get("/digests/{digest_id}", response_class=HTMLResponse)
def digest_page(
    request: Request, digest_id: IdPath, session: SessionDep, principal: UserDep
) -> HTMLResponse:
    """One weekly digest, as it was e-mailed."""
    digest, area = digests.get_digest(session=session, scope=principal.scope, digest_id=digest_id)
    return render(request, "digest.html", {"digest": digest, "area": area}, principal=principal)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The user's open notifications, soonest airing first."""
    rows = notifications.list_notifications(
        session=session, user=principal.user, scope=principal.scope
    )
    return render(request, "notifications.html", {"rows": rows}, principal=principal)


@router.post(
    "/notifications/{notification_id}/dismiss",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def dismiss_notification(
    notification_id: IdPath, session: SessionDep, principal: UserDep, clock: ClockDep
) -> Response:
    """Put one notification away for the user."""
    notifications.dismiss(
        session=session,
        user=principal.user,
        scope=principal.scope,
        notification_id=notification_id,
        now=clock(),
    )
    return redirect("/notifications", "Đã ẩn thông báo")
