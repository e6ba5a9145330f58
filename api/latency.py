"""Each HTTP request's latency, labelled by its route template (`/api/v1/receivers/{receiver_id}`).

Labelled by template, never by the raw path: one series per route, whatever the ids.
"""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broadcast.core.metrics import Metrics

UNMATCHED = "unmatched"
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")


def route_template(scope: Scope, path: str) -> str:
    """The template of the route that answered, with the prefixes of the routers around it.

    An included router's route may know its path below the outer prefix only (FastAPI
    nests included routers): the prefix is what the request's path holds before the
    route's own part, which is static in Loa (no parameters in router prefixes). `path`
    is the request's path as it came in (routers may rewrite the scope's on the way).
    """
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    params = scope.get("path_params") or {}
    convertors = getattr(route, "param_convertors", {}) or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            return match.group(0)
        convertor = convertors.get(name)
        return convertor.to_string(params[name]) if convertor else str(params[name])

    shown = _PARAM.sub(value, template)
    if shown and path.endswith(shown):
        return path[: -len(shown)] + template
    return template


class RequestLatency:
    """ASGI middleware observing `metrics.request_seconds` for every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request; label it once the router has matched its route."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        started = time.perf_counter()
        code = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                code[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = route_template(scope, path)
            self.metrics.request_seconds.labels(
                route, scope.get("method", ""), str(code[0])
            ).observe(time.perf_counter() - started)
