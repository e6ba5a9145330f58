"""What every console page needs: the session cookie, CSRF, templates and HTML error pages.

The session cookie holds the same signed access token the REST API issues
(`broadcast.users.issue_access_token`), and resolves to a `Principal` through the
same `resolve_bearer`/`user_area`, so the console's scoping is the API's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import SessionDep, SettingsDep
from broadcast.models import Role
from broadcast.settings import Settings
from broadcast.users import Principal, resolve_bearer, user_area
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

LEVEL_LABELS = {"province": "Tỉnh", "district": "Huyện", "commune": "Xã", "village": "Thôn"}

# Domain messages are English; these patterns give operators a Vietnamese sentence.
# Anything unmatched is shown as it is after a Vietnamese lead-in.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Area '(.+)' not found"), "Không tìm thấy địa bàn '{0}'"),
    (re.compile(r"^Station (\d+) not found"), "Không tìm thấy đài {0}"),
    (re.compile(r"^Bulletin (\d+) not found"), "Không tìm thấy bản tin {0}"),
    (re.compile(r"^Broadcast (\d+) not found"), "Không tìm thấy lịch phát {0}"),
    (re.compile(r"^Receiver '(.+)' not found"), "Không tìm thấy cụm loa '{0}'"),
    (re.compile(r"^The role '(.+)' cannot do this"), "Vai trò của bạn không được làm việc này"),
    (re.compile(r"^You wrote bulletin"), "Bạn là tác giả: cần một người duyệt khác"),
    (
        re.compile(r"not approved\. Probable cause"),
        "Chỉ bản tin đã duyệt mới được lên lịch phát",
    ),
    (re.compile(r"still being rendered"), "Âm thanh đang được tạo, vui lòng nghe lại sau"),
    (re.compile(r"^A rejection needs a reason"), "Cần ghi lý do từ chối"),
    (re.compile(r"lies in the past"), "Mọi lần phát đều đã ở trong quá khứ"),
    (re.compile(r"^The text of a version cannot be empty"), "Nội dung không được để trống"),
    (re.compile(r"^A bulletin needs a title"), "Bản tin cần có tiêu đề"),
    (re.compile(r"is an IP station"), "Đài IP tự báo cáo; chỉ đài truyền thống cần xác nhận"),
    (re.compile(r"has no delivery of broadcast"), "Lịch phát này chưa được gửi tới đài"),
    (
        re.compile(r"^aired_at (.+) is in the future \(now (.+)\)"),
        "Giờ đã phát {0} chưa tới (bây giờ là {1}): chỉ xác nhận sau khi đã phát",
    ),
    (
        re.compile(r"^aired_at (.+) is before the air time (.+) of the nearest airing"),
        "Giờ đã phát {0} sớm hơn giờ phát theo lịch {1}",
    ),
    (re.compile(r"^No station in (.+) airs '(.+)'"), "Không đài nào ở {0} phát tiếng '{1}'"),
    # Times in plain words (broadcast/recurrence.py).
    (
        re.compile(r"^Words not understood: (.+)\. Probable cause"),
        "Không hiểu: {0}. Viết ví dụ: “thứ hai đến thứ sáu lúc 6:00”, “hằng ngày lúc 6h30”, "
        "“ngày 10/12 lúc 7h”",
    ),
    (
        re.compile(r"^'(.+)' does not say which days and times to air"),
        "“{0}” chưa nói rõ phát vào những ngày nào, giờ nào. Hãy ghi rõ, ví dụ: "
        "“thứ hai và thứ năm lúc 6:00”",
    ),
    (
        re.compile(r"^'(.+)' does not say which days to air"),
        "“{0}” chưa nói rõ phát vào những ngày nào. Hãy ghi rõ, ví dụ: "
        "“thứ hai hằng tuần lúc 6:00”",
    ),
    (
        re.compile(r"^'(.+)' is not a time of day: '(.+)' goes with hours (.+)$"),
        "“{0}” không phải giờ hợp lệ: “{1}” chỉ đi với giờ {2}",
    ),
    (
        re.compile(r"^'(.+)' is not a time of day"),
        "“{0}” không phải giờ hợp lệ (giờ từ 0 đến 23, phút từ 00 đến 59)",
    ),
    (re.compile(r"^'(.+)' is not a date"), "“{0}” không phải ngày hợp lệ"),
    (
        re.compile(r"^Only one date can be given: (.+)\. Probable cause"),
        "Chỉ ghi được một ngày (đã ghi {0}): mỗi ngày phát hãy tạo một lịch phát riêng",
    ),
    (
        re.compile(r"^(\S+) falls on '(.+)', not on '(.+)'$"),
        "Ngày {0} là “{1}”, không phải “{2}”",
    ),
    (
        re.compile(r"^'(.+)' cannot be combined with '(.+)'$"),
        "Không ghi được “{0}” cùng với “{1}”",
    ),
    (
        re.compile(r"^None of the days named falls between the start and the end"),
        "Không có ngày nào đã chọn nằm trong thời gian phát (giữa “Từ ngày” và “Đến ngày”)",
    ),
    (
        re.compile(r"^Dates must lie between (\S+) and (\S+)"),
        "Ngày phải nằm trong khoảng {0} đến {1}",
    ),
    (
        re.compile(r"^The text is longer than (\d+) characters"),
        "Nội dung giờ phát dài quá {0} ký tự",
    ),
]


def vietnamese(message: str) -> str:
    """A Vietnamese sentence for a domain error message."""
    for pattern, template in _MESSAGES:
        match = pattern.search(message)
        if match:
            return template.format(*match.groups())
    return f"Không thực hiện được: {message}"


def localtime(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time on the wall clock of LOA_TIMEZONE (filled in per app)."""
    if value is None:
        return "—"
    zone = _ZONE.get("zone")
    moment = as_utc(value)
    return (moment.astimezone(zone) if zone else moment).strftime(fmt)


_ZONE: dict[str, Any] = {}


def configure(settings: Settings) -> None:
    """Give the template filters the app's time zone."""
    _ZONE["zone"] = settings.zone


def _minutes(ms: int | float | None) -> str:
    return f"{(ms or 0) / 60000:.1f}".replace(".", ",")


templates.env.filters["localtime"] = localtime
templates.env.filters["state"] = lambda s: STATE_LABELS.get(str(s), str(s))
templates.env.filters["priority"] = lambda s: PRIORITY_LABELS.get(str(s), str(s))
templates.env.filters["level"] = lambda s: LEVEL_LABELS.get(str(s), str(s))
templates.env.filters["flag"] = lambda s: FLAG_LABELS.get(str(s), str(s))
templates.env.filters["flag_hint"] = lambda s: FLAG_HINTS.get(str(s), "")
templates.env.filters["minutes"] = _minutes
templates.env.globals["ROLE_LABELS"] = ROLE_LABELS


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
        raise HTTPException(
            403, "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ. Hãy tải lại trang."
        )


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
    return Principal(user=user, area=user_area(session=session, user=user))


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
    configure(settings)
    nonce = csrf_nonce(request)
    values: dict[str, Any] = {
        "principal": principal,
        "csrf_token": csrf_token_for(nonce, settings.secret_key),
        "flash": request.query_params.get("ok"),
        "zone": settings.timezone,
    }
    values.update(context or {})
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if request.cookies.get(CSRF_COOKIE) != nonce:
        set_cookie(request, response, CSRF_COOKIE, nonce, max_age=7 * 24 * 3600)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str, message: str | None = None) -> RedirectResponse:
    """A 303 after a successful form, with an optional flash message."""
    if message:
        url += ("&" if "?" in url else "?") + "ok=" + quote(message)
    return RedirectResponse(url, status_code=303)


_STATUS = {
    NotFoundError: (404, "Không tìm thấy"),
    PermissionDeniedError: (403, "Không có quyền"),
    ConflictError: (409, "Xung đột"),
    InvalidInputError: (422, "Dữ liệu không hợp lệ"),
}


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
                return _error_page(request, status, title, vietnamese(str(exc)))
            except RequestValidationError as exc:
                # An id in the address that no object can have (not a number, 0, beyond
                # 64 bits) names nothing; a bad form field is the form's fault.
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
                return _error_page(
                    request,
                    exc.status_code,
                    titles.get(exc.status_code, "Lỗi"),
                    str(exc.detail),
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
