"""What every console page needs: the session cookie, CSRF, templates and HTML error pages.

The session cookie holds the same signed access token the REST API issues
(`broadcast.people.service.issue_access_token`), and resolves to a `Principal` through the
same `resolve_bearer`/`user_area`, so the console's scoping is the API's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.console.messages import FALLBACK, say, say_reason
from api.deps import SessionDep, SettingsDep
from broadcast.core.settings import Settings
from broadcast.notifications import service as notifications
from broadcast.people.models import Role
from broadcast.people.service import Principal, resolve_bearer, user_area
from stations.areas import Scope
from stations.errors import (
    ConflictError,
    InvalidInputError,
    LoaError,
    NotFoundError,
    PermissionDeniedError,
)
from stations.timeutil import as_utc

log = logging.getLogger(__name__)

SESSION_COOKIE = "loa_session"
CSRF_COOKIE = "loa_csrf"
CSRF_FIELD = "csrf_token"
CSRF_REFUSED = "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang."

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

ROLE_LABELS = {
    Role.admin: "Quản trị",
    Role.editor: "Biên tập viên",
    Role.approver: "Người duyệt",
    Role.operator: "Nhân viên vận hành",
}

STATE_LABELS = {
    "queued": "Chờ gửi",
    "sent": "Đã gửi",
    "received": "Đã nhận",
    "downloaded": "Đã tải",
    "started": "Đang phát",
    "completed": "Đã phát xong",
    "failed": "Lỗi",
    "rejected": "Bị từ chối",
    "cancelled": "Đã hủy",
    "expired": "Hết hạn",
    "missed": "Bỏ lỡ",
    "confirmed": "Đã xác nhận",
    "no_content": "Không có nội dung",
    "blocked": "Bị chặn",
    "pending": "Chờ",
    "dispatched": "Đã phát lệnh",
    "scheduled": "Đã lên lịch",
    "draft": "Bản nháp",
    "submitted": "Chờ duyệt",
    "approved": "Đã duyệt",
    "archived": "Lưu trữ",
    "ready": "Sẵn sàng",
    "unreviewed": "Chưa duyệt",
    "changes_requested": "Trả lại người dịch",
}

PRIORITY_LABELS = {"normal": "Thông thường", "priority": "Ưu tiên", "emergency": "Khẩn cấp"}

# Plausibility flags of a delivery (docs/protocol.md, "What the server believes").
FLAG_LABELS = {
    "clock_clamped": "Sai đồng hồ",
    "implausible": "Báo cáo không hợp lý",
    "contradicted": "Báo cáo mâu thuẫn",
}
FLAG_HINTS = {
    "clock_clamped": "Cụm loa báo giờ nằm ngoài khung của lượt phát; máy chủ dùng giờ nhận báo cáo",
    "implausible": "Cụm loa báo đã phát trước giờ phát: không được tính là đã phát",
    "contradicted": "Cụm loa báo một kết quả trái với kết quả đã báo trước đó: giữ kết quả trước",
}

# A broadcast's derived state (BroadcastState).
BROADCAST_STATE_LABELS = {
    "scheduled": "Chờ phát",
    "airing": "Đang phát",
    "done": "Đã phát xong",
    "cancelled": "Đã hủy",
}

LEVEL_LABELS = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "village": "Thôn"}


# Who made a version's audio, as the bulletin page says it.
ENGINE_LABELS = {
    "recording": "bản ghi âm tải lên",
    "template": "ghép từ mẫu tin khẩn cấp",
    "espeak": "máy đọc eSpeak NG",
    "gtts": "máy đọc Google",
    "viettel": "máy đọc Viettel AI",
    "fpt": "máy đọc FPT.AI",
}


def localtime(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M", *, zone: tzinfo) -> str:
    """A stored UTC time on the wall clock of `zone`."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(zone).strftime(fmt)


@pass_context
def _localtime_filter(context: Context, value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """The `localtime` filter: the zone is that of the app serving the page (LOA_TIMEZONE)."""
    settings: Settings = context["request"].app.state.settings
    return localtime(value, fmt, zone=settings.zone)


def _minutes(ms: int | float | None) -> str:
    return f"{(ms or 0) / 60000:.1f}".replace(".", ",")


templates.env.filters["localtime"] = _localtime_filter
templates.env.filters["state"] = lambda s: STATE_LABELS.get(str(s), str(s))
templates.env.filters["broadcast_state"] = lambda s: BROADCAST_STATE_LABELS.get(str(s), str(s))
templates.env.filters["priority"] = lambda s: PRIORITY_LABELS.get(str(s), str(s))
templates.env.filters["level"] = lambda s: LEVEL_LABELS.get(str(s), str(s))
templates.env.filters["flag"] = lambda s: FLAG_LABELS.get(str(s), str(s))
templates.env.filters["flag_hint"] = lambda s: FLAG_HINTS.get(str(s), "")
templates.env.filters["minutes"] = _minutes
templates.env.filters["engine"] = lambda s: ENGINE_LABELS.get(str(s), f"máy đọc {s}")
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS
# The Vietnamese text of a stored error code and fields (a version's failed rendering).
templates.env.globals["say_reason"] = say_reason


# --- session and CSRF -------------------------------------------------------------------


class LoginRequired(Exception):
    """The page needs a signed-in user; the browser is sent to /login."""


def csrf_token_for(nonce: str, secret_key: str) -> str:
    """The form token that matches this browser's CSRF nonce (HMAC with the server secret)."""
    return hmac.new(secret_key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def is_https(request: Request) -> bool:
    """True when the browser talks HTTPS to us (directly or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """An HttpOnly, SameSite=Lax cookie, Secure when served over HTTPS."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def csrf_nonce(request: Request) -> str:
    """This browser's CSRF nonce (a new one is minted and set by `render`)."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if not nonce:
        nonce = secrets.token_urlsafe(24)
        request.state.csrf_nonce = nonce
    return str(nonce)


def check_csrf(
    request: Request,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
) -> None:
    """Refuse a form whose CSRF token does not match the browser's nonce."""
    nonce = request.cookies.get(CSRF_COOKIE)
    expected = csrf_token_for(nonce, settings.secret_key) if nonce else ""
    if not nonce or not hmac.compare_digest(expected, csrf_token):
        raise HTTPException(403, CSRF_REFUSED)


CsrfDep = Depends(check_csrf)


def optional_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal | None:
    """The signed-in user of the session cookie, resolved exactly like a bearer token."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    user = resolve_bearer(session=session, token=token, secret_key=settings.secret_key)
    if user is None:
        return None
    area = user_area(session=session, user=user)
    # The header's count of open notifications, read in the request's own transaction.
    request.state.notification_count = notifications.open_count(
        session=session, user=user, scope=Scope.of(area)
    )
    return Principal(user=user, area=area)


def current_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    """The signed-in user, or a redirect to the login page."""
    if principal is None:
        raise LoginRequired
    request.state.principal = principal
    return principal


UserDep = Annotated[Principal, Depends(current_principal)]


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the layout's needs (user, CSRF token, flash message)."""
    settings: Settings = request.app.state.settings
    nonce = csrf_nonce(request)
    values: dict[str, Any] = {
        "principal": principal,
        "csrf_token": csrf_token_for(nonce, settings.secret_key),
        "flash": request.query_params.get("ok"),
        "flash_error": request.query_params.get("err"),
        "zone": settings.timezone,
        "notification_count": getattr(request.state, "notification_count", 0),
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != nonce:
        set_cookie(request, response, CSRF_COOKIE, nonce, max_age=7 * 24 * 3600)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str, message: str | None = None, *, error: bool = False) -> RedirectResponse:
    """A 303 after a form, with an optional flash message (shown as an error when `error`)."""
    if message:
        url += ("&" if "?" in url else "?") + ("err=" if error else "ok=") + quote(message)
    return RedirectResponse(url, status_code=303)


_STATUS = {
    NotFoundError: (404, "Không tìm thấy"),
    PermissionDeniedError: (403, "Không có quyền"),
    ConflictError: (409, "Xung đột"),
    InvalidInputError: (422, "Dữ liệu không hợp lệ"),
}


# What an HTTP error raised below the console (a route function of the API) says.
_HTTP_MESSAGES = {
    401: "Bạn cần đăng nhập lại.",
    403: "Bạn không có quyền làm việc này.",
    404: "Không tìm thấy trang hoặc dữ liệu cần tìm.",
    405: "Thao tác này không dùng được ở địa chỉ này.",
    413: "Dữ liệu gửi lên quá lớn.",
    416: "Không đọc được đoạn tệp đã yêu cầu.",
    422: "Dữ liệu đã nhập không hợp lệ.",
    429: "Thao tác quá nhiều lần. Hãy thử lại sau ít phút.",
}
# HTTP errors the console raises itself, already in Vietnamese.
_CONSOLE_DETAILS = frozenset({CSRF_REFUSED})


def _error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    return render(
        request,
        "error.html",
        {"title": title, "message": message},
        principal=principal,
        status_code=status,
    )


class ConsoleRoute(APIRoute):
    """Console routes answer with HTML: a login redirect, or an error page in Vietnamese."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
            except LoaError as exc:
                status, title = next(
                    (v for k, v in _STATUS.items() if isinstance(exc, k)), (400, "Lỗi")
                )
                return _error_page(request, status, title, say(exc))
            except RequestValidationError as exc:
                # An id in the address that no object can have (not a number, 0, beyond
                # MAX_ID) names nothing; a bad form field is the form's fault.
                errors = exc.errors()
                if any(err.get("loc", ("",))[0] == "path" for err in errors):
                    return _error_page(
                        request, 404, "Không tìm thấy", "Địa chỉ này không dẫn tới trang nào."
                    )
                fields = ", ".join(sorted({str(err.get("loc", ("", "?"))[-1]) for err in errors}))
                return _error_page(
                    request, 422, "Dữ liệu không hợp lệ", f"Giá trị không hợp lệ: {fields}."
                )
            except StarletteHTTPException as exc:
                titles = {403: "Không có quyền", 404: "Không tìm thấy", 422: "Không hợp lệ"}
                # The web layer's details are English; only the console's own are shown.
                message = exc.detail if exc.detail in _CONSOLE_DETAILS else None
                return _error_page(
                    request,
                    exc.status_code,
                    titles.get(exc.status_code, "Lỗi"),
                    message or _HTTP_MESSAGES.get(exc.status_code, FALLBACK),
                )

        return handler


def require(principal: Principal, *roles: Role) -> None:
    """Raise PermissionDeniedError unless the user has one of `roles` (admins always may)."""
    principal.require(*roles)


def can(principal: Principal | None, *roles: Role) -> bool:
    """True when the user has one of `roles` (admins always may)."""
    if principal is None:
        return False
    return principal.role is Role.admin or principal.role in roles


templates.env.globals["can"] = can
templates.env.globals["Role"] = Role


_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
TYPED_DAY_ERROR = "Ngày không hợp lệ (dạng ngày/tháng/năm, ví dụ 01/12/2026)"


def typed_day(text: str) -> date:
    """A day typed as dd/mm/yyyy (or yyyy-mm-dd), whatever the browser's language.

    ValueError when it is neither, or no such day exists.
    """
    text = text.strip()
    found = _DAY_MONTH_YEAR.fullmatch(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        return date(year, month, day)
    if _ISO_DAY.fullmatch(text):
        return date.fromisoformat(text)
    raise ValueError(f"not a day: {text!r}")
