"""Integrations in the console: administrators' webhook subscriptions and their delivery log.

A subscription's secret is shown on the page that created it (or rotated it), never again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.console.messages import form_error
from api.console.web import ConsoleRoute, CsrfDep, UserDep, redirect, render
from api.deps import ClockDep, IdPath, SessionDep, SettingsDep
from broadcast.people.service import Principal
from broadcast.webhooks import service as webhooks
from broadcast.webhooks.models import ALL_EVENTS, WebhookSubscription
from stations.areas import list_areas
from stations.errors import LoaError
from stations.timeutil import as_utc

router = APIRouter(route_class=ConsoleRoute)

EVENT_LABELS = {
    ALL_EVENTS: "Tất cả sự kiện",
    "broadcast.created": "Tạo lịch phát",
    "broadcast.approved": "Duyệt bản tin",
    "broadcast.dispatched": "Gửi lượt phát tới cụm loa",
    "broadcast.completed": "Đài đã phát xong",
    "broadcast.missed": "Đài bỏ lỡ lượt phát",
    "receiver.online": "Cụm loa trực tuyến",
    "receiver.offline": "Cụm loa mất kết nối",
    "ping": "Thử kết nối",
}
SEND_LABELS = {"pending": "Chờ gửi lại", "delivered": "Đã nhận", "failed": "Đã ngừng gửi"}
# The form's inputs for the catalogue's fields.
FORM_INPUTS = {"url": "url", "events": "events", "description": "description"}


def _answer_of(status_code: int | None) -> str:
    """The last answer in Vietnamese (the error's English text stays in the REST log)."""
    if status_code is None:
        return "Không kết nối được"
    return f"Mã trả lời HTTP {status_code}"


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, object] | None = None,
    secret: tuple[WebhookSubscription, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = webhooks.list_subscriptions(session=session, principal=principal)
    areas, _ = list_areas(session=session, scope=principal.scope, limit=1000)
    return render(
        request,
        "integrations.html",
        {
            "subscriptions": rows,
            "codes": webhooks.area_codes(session, rows),
            "events": EVENT_LABELS,
            "choices": [(ALL_EVENTS, EVENT_LABELS[ALL_EVENTS])]
            + [(t, EVENT_LABELS[t]) for t in webhooks.SUBSCRIBABLE],
            "area_options": [("", "Địa bàn của tôi")]
            + [(a.code, f"{a.name} ({a.code})") for a in areas],
            "errors": errors or {},
            "form": form or {"events": [ALL_EVENTS]},
            "secret": secret,
        },
        principal=principal,
        status_code=status_code,
    )


@router.get("/integrations", response_class=HTMLResponse)
def integrations_page(request: Request, session: SessionDep, principal: UserDep) -> HTMLResponse:
    """The subscriptions of the administrator's area, and a form to add one."""
    principal.require()
    return _page(request, session, principal)


@router.post("/integrations", response_class=HTMLResponse, dependencies=[CsrfDep])
def create_integration(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: UserDep,
    url: Annotated[str, Form()] = "",
    events: Annotated[list[str] | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Subscribe a URL; the page that answers shows its secret, this once."""
    principal.require()
    chosen = events or []
    form: dict[str, object] = {
        "url": url,
        "events": chosen,
        "description": description,
        "area": area,
    }
    try:
        row, secret = webhooks.create_subscription(
            session=session,
            principal=principal,
            url=url,
            event_types=chosen,
            description=description or None,
            area_code=area or None,
        )
    except LoaError as exc:
        session.rollback()
        name, text = form_error(exc, FORM_INPUTS, "url", zone=settings.zone)
        return _page(request, session, principal, errors={name: text}, form=form, status_code=422)
    session.commit()
    return _page(request, session, principal, secret=(row, secret), status_code=201)


@router.get("/integrations/{subscription_id}", response_class=HTMLResponse)
def integration_page(
    subscription_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    clock: ClockDep,
) -> HTMLResponse:
    """One subscription and its delivery log (the last 100 events)."""
    row = webhooks.get_subscription(
        session=session, principal=principal, subscription_id=subscription_id
    )
    until = as_utc(row.previous_secret_until) if row.previous_secret_until else None
    lines, total = webhooks.list_sends(
        session=session, principal=principal, subscription_id=subscription_id, limit=100
    )
    return render(
        request,
        "integration.html",
        {
            "sub": row,
            "area_code": webhooks.area_codes(session, [row]).get(row.area_id or 0),
            "events": EVENT_LABELS,
            "states": SEND_LABELS,
            "lines": [(line, _answer_of(line.send.last_status_code)) for line in lines],
            "total": total,
            # Until when the secret replaced at the last rotation still signs beside it.
            "overlap_until": until if row.previous_secret and until and until > clock() else None,
        },
        principal=principal,
    )


@router.post(
    "/integrations/{subscription_id}/test", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def test_integration(subscription_id: IdPath, session: SessionDep, principal: UserDep) -> Response:
    """Queue a signed ping for the subscription."""
    webhooks.send_test(session=session, principal=principal, subscription_id=subscription_id)
    session.commit()
    return redirect(
        f"/integrations/{subscription_id}", "Đã xếp sự kiện thử vào hàng gửi: xem nhật ký bên dưới"
    )


@router.post(
    "/integrations/{subscription_id}/active", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def switch_integration(
    subscription_id: IdPath,
    session: SessionDep,
    principal: UserDep,
    active: Annotated[str, Form()] = "",
) -> Response:
    """Switch a subscription on or off."""
    on = active == "1"
    webhooks.update_subscription(
        session=session, principal=principal, subscription_id=subscription_id, active=on
    )
    session.commit()
    return redirect(
        f"/integrations/{subscription_id}", "Đã bật gửi sự kiện" if on else "Đã tắt gửi sự kiện"
    )


@router.post(
    "/integrations/{subscription_id}/rotate-secret",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def rotate_integration_secret(
    subscription_id: IdPath,
    request: Request,
    session: SessionDep,
    principal: UserDep,
    clock: ClockDep,
    keep_previous_hours: Annotated[int, Form()] = 0,
) -> HTMLResponse:
    """Replace the secret; the page that answers shows the new one, this once. The old
    one may keep signing for a while (the choice of hours on the form)."""
    row, secret = webhooks.rotate_secret(
        session=session,
        principal=principal,
        subscription_id=subscription_id,
        keep_previous_hours=keep_previous_hours,
        now=clock(),
    )
    session.commit()
    return _page(request, session, principal, secret=(row, secret))


@router.post(
    "/integrations/{subscription_id}/delete", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def delete_integration(
    subscription_id: IdPath, session: SessionDep, principal: UserDep
) -> Response:
    """Remove a subscription and its log."""
    webhooks.delete_subscription(
        session=session, principal=principal, subscription_id=subscription_id
    )
    session.commit()
    return redirect("/integrations", "Đã xóa đăng ký webhook")
