"""Sign-in and sign-out of the console."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.web import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleRoute,
    CsrfDep,
    optional_principal,
    redirect,
    render,
    set_cookie,
)
from api.deps import SessionDep, SettingsDep
from broadcast.core import audit
from broadcast.people.service import Principal, issue_access_token, revoke_access_token, sign_in
from stations.errors import TooManyAttemptsError

router = APIRouter(route_class=ConsoleRoute)


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal)],
    next: str | None = None,  # noqa: A002 - the query parameter's name
) -> Response:
    """The sign-in form."""
    if principal is not None:
        return redirect(_safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next), "errors": {}, "username": ""})


@router.post("/login", response_class=HTMLResponse, dependencies=[CsrfDep])
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",  # noqa: A002 - the form field's name
) -> Response:
    """Check the password and open a session (the same signed token the API issues)."""
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Hãy nhập tên đăng nhập"
    if not password:
        errors["password"] = "Hãy nhập mật khẩu"
    user = None
    status_code, headers = 422, {}
    if not errors:
        try:
            user = sign_in(
                session=session,
                throttle=request.app.state.throttle,
                username=username.strip(),
                password=password,
                address=request.client.host if request.client else None,
                via="console",
            )
        except TooManyAttemptsError as exc:
            errors["password"] = (
                f"Đăng nhập sai quá nhiều lần. Hãy thử lại sau {exc.retry_after} giây"
            )
            status_code, headers = 429, {"Retry-After": str(exc.retry_after)}
        else:
            if user is None:
                errors["password"] = "Sai tên đăng nhập hoặc mật khẩu"
    if user is None:
        page = render(
            request,
            "login.html",
            {"next": _safe_next(next), "errors": errors, "username": username},
            status_code=status_code,
        )
        page.headers.update(headers)
        return page
    token = issue_access_token(
        user=user, secret_key=settings.secret_key, minutes=settings.access_token_minutes
    )
    audit.record(
        session=session,
        actor=user,
        action="console.login",
        object_type="user",
        object_id=user.id or 0,
        area_id=user.area_id,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    max_age = settings.access_token_minutes * 60
    set_cookie(request, response, SESSION_COOKIE, token, max_age=max_age)
    # A new CSRF nonce for the new session: a token seen before sign-in is worthless after.
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24), max_age=max_age)
    return response


@router.post("/logout", dependencies=[CsrfDep])
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Close the session: the session token stops working at once, not only in this browser."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_access_token(session=session, token=token, secret_key=settings.secret_key)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
