"""Prometheus metrics at /metrics (text format), for a scraper holding a bearer token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import Response

from api.deps import SessionDep, SettingsDep, oauth2
from broadcast.core.metrics import CONTENT_TYPE, Metrics
from broadcast.people.models import Role
from broadcast.people.service import resolve_bearer

router = APIRouter(tags=["metrics"])


def _scraper(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> None:
    """LOA_METRICS_TOKEN, or the token of a global administrator; else 401 (403: a user
    who may not see the whole service)."""
    expected = settings.metrics_token
    if token and expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    user = (
        resolve_bearer(session=session, token=token, secret_key=settings.secret_key)
        if token
        else None
    )
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Not signed in: send 'Authorization: Bearer <LOA_METRICS_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if Role(user.role) is not Role.admin or user.area_id is not None:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="Only LOA_METRICS_TOKEN or a global administrator may read the metrics",
        )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    dependencies=[Depends(_scraper)],
)
def metrics(request: Request) -> Response:
    """Counters and gauges of the whole service in the Prometheus text format."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE)
