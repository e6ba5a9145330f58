"""One error body everywhere: {"detail": message, "code": short_code, "errors": [...]}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from stations.errors import (
    ConflictError,
    InvalidInputError,
    LoaError,
    NotFoundError,
    PermissionDeniedError,
)

log = logging.getLogger(__name__)

# Domain errors of the data packages and the HTTP answer each one becomes.
DOMAIN_STATUS: list[tuple[type[Exception], int, str]] = [
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
    message: str, code: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON body of every error answer."""
    return {"detail": message, "code": code, "errors": errors or []}


def register_domain_error(exc_type: type[Exception], status: int, code: str) -> None:
    """Let another package map its own domain error to an HTTP status."""
    DOMAIN_STATUS.insert(0, (exc_type, status, code))


def _domain_response(exc: Exception) -> JSONResponse:
    for exc_type, status, code in DOMAIN_STATUS:
        if isinstance(exc, exc_type):
            return JSONResponse(error_body(str(exc), code), status_code=status)
    log.exception("Unmapped domain error", exc_info=exc)
    return JSONResponse(error_body("Internal error", "internal"), status_code=500)


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
                response = JSONResponse(
                    error_body("The address contains a NUL character", "bad_request"),
                    status_code=400,
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
            error_body(f"Invalid request: {summary}", "invalid", errors), status_code=422
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
            ),
            status_code=422,
        )

    app.add_middleware(RefuseNulCharacters)

    @app.exception_handler(LoaError)
    async def _domain(_: Request, exc: LoaError) -> JSONResponse:
        return _domain_response(exc)
