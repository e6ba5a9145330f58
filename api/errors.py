"""One error body everywhere: {"detail", "code", "reason", "errors"}.

`code` is the short class of the answer (`invalid`, `not_found`...); `reason` the stable
dotted code of what went wrong (`bulletin.self_approval`): a domain error's own code, or
`http.<code>` / `request.<what>` for the errors raised by the web layer.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stations.errors import (
    ConflictError,
    InvalidInputError,
    LoaError,
    NotFoundError,
    PermissionDeniedError,
    TooLargeError,
    TooManyAttemptsError,
)

log = logging.getLogger(__name__)

# Domain errors of the data packages and the HTTP answer each one becomes.
DOMAIN_STATUS: list[tuple[type[Exception], int, str]] = [
    (TooLargeError, 413, "too_large"),
    (TooManyAttemptsError, 429, "too_many_requests"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (InvalidInputError, 422, "invalid"),
    (PermissionDeniedError, 403, "forbidden"),
]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}


def error_body(
    message: str,
    code: str,
    errors: list[dict[str, Any]] | None = None,
    *,
    reason: str | None = None,
) -> dict[str, Any]:
    """The JSON body of every error answer (`reason` defaults to `http.<code>`)."""
    return {
        "detail": message,
        "code": code,
        "reason": reason or f"http.{code}",
        "errors": errors or [],
    }


def register_domain_error(exc_type: type[Exception], status: int, code: str) -> None:
    """Let another package map its own domain error to an HTTP status."""
    DOMAIN_STATUS.insert(0, (exc_type, status, code))


def _domain_response(exc: Exception) -> JSONResponse:
    for exc_type, status, code in DOMAIN_STATUS:
        if isinstance(exc, exc_type):
            headers = None
            if isinstance(exc, TooManyAttemptsError):
                headers = {"Retry-After": str(exc.retry_after)}
            elif isinstance(exc, LoaError) and isinstance(exc.fields.get("retry_after"), int):
                # A conflict that clears by itself (audio still rendering): ask again later.
                headers = {"Retry-After": str(exc.fields["retry_after"])}
            reason = getattr(exc, "code", None) or "error.failed"
            # A file checked line by line gives each problem ({line, column, message}).
            listed = exc.fields.get("errors") if isinstance(exc, LoaError) else None
            items = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
            return JSONResponse(
                error_body(str(exc), code, items, reason=reason),
                status_code=status,
                headers=headers,
            )
    log.exception("Unmapped domain error", exc_info=exc)
    return JSONResponse(
        error_body("Internal error", "internal", reason="error.internal"), status_code=500
    )


class RefuseNulCharacters:
    """Answer 400 to a path or query holding a NUL character, which no database stores."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request line, then hand over."""
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope.get("path", "").encode()
            query = scope.get("query_string", b"")
            if b"%00" in raw.lower() or b"%00" in query or "\x00" in scope.get("path", ""):
                response: Response
                if scope.get("path", "").startswith("/api/"):
                    response = JSONResponse(
                        error_body(
                            "The address contains a NUL character",
                            "bad_request",
                            reason="request.nul_character",
                        ),
                        status_code=400,
                    )
                else:  # a person's browser: the console's own words
                    from api.console.messages import text_for

                    shown = html.escape(text_for("request.nul_character") or "")
                    response = HTMLResponse(
                        '<!doctype html><html lang="vi"><meta charset="utf-8">'
                        f"<title>Địa chỉ không hợp lệ</title><p>{shown}</p>"
                        '<p><a href="/">Về trang chủ</a></p></html>',
                        status_code=400,
                    )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Headers on every answer. The console loads only its own script and style sheet, so
# the policy allows nothing inline; the OpenAPI pages are the exception below. `blob:`
# media is the microphone recording played back in the page before it is sent.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# The OpenAPI pages (Swagger UI at /docs, ReDoc at /redoc) start from an inline script and
# style their pages inline; their files come from /docs/static, nothing from elsewhere.
DOCS_PATHS = ("/docs", "/redoc")
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; font-src 'self'; img-src 'self' data:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Add SECURITY_HEADERS to every HTTP answer (a header the route set itself wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        self._docs = [
            (k, DOCS_POLICY.encode() if k == b"content-security-policy" else v)
            for k, v in self._headers
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = self._docs if scope.get("path", "").startswith(DOCS_PATHS) else self._headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LimitRequestBody:
    """Answer 413 at once to a request whose declared body exceeds `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length before any of the body is read."""
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    response = JSONResponse(
                        error_body(
                            f"The request is larger than {self.max_bytes // 1_000_000} MB",
                            "too_large",
                            reason="request.too_large",
                        ),
                        status_code=413,
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same shape."""

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        return JSONResponse(
            error_body(message, HTTP_CODES.get(exc.status_code, "error")),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(part) for part in err.get("loc", ())],
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        summary = "; ".join(
            f"{'.'.join(e['loc'][1:] or e['loc'])}: {e['message']}" for e in errors[:5]
        )
        return JSONResponse(
            error_body(f"Invalid request: {summary}", "invalid", errors, reason="request.invalid"),
            status_code=422,
        )

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # Values the database refuses (a NUL character in text, a number out of range);
        # the request's transaction has been rolled back.
        log.info("Database refused a value: %s", exc.orig)
        return JSONResponse(
            error_body(
                "A value cannot be stored. Probable cause: a NUL character in a text "
                "or a number out of range",
                "invalid",
                reason="request.unstorable_value",
            ),
            status_code=422,
        )

    app.add_middleware(RefuseNulCharacters)
    settings = getattr(app.state, "settings", None)
    if settings is not None:
        # Room for the form fields around the largest recording accepted.
        app.add_middleware(LimitRequestBody, max_bytes=(settings.max_upload_mb + 1) * 1_000_000)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoaError)
    async def _domain(_: Request, exc: LoaError) -> JSONResponse:
        return _domain_response(exc)
