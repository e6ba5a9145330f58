"""Who may use the broker, asked by the broker itself: EMQX's HTTP authentication and
authorization (docs/operations.md, "A clustered broker").

A clustered broker such as EMQX keeps no password file of its own: on every connection
it asks `POST /broker/v1/authenticate`, and on every subscribe and publish (cached by the
broker) `POST /broker/v1/authorize`. The answers follow the same rules as the embedded
broker and `loa mqtt sync`'s mosquitto files (broadcast.broker.auth): the service's logins
with LOA_MQTT_PASSWORD; an active receiver with its own password and its own id as client
id, reading only its `cmd` and writing only its `ack` and `state`. The broker proves
itself with `Authorization: Bearer <LOA_BROKER_HOOK_TOKEN>`; without that setting the
routes do not exist (404).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field

from api.deps import SettingsDep, oauth2
from broadcast.broker.auth import DatabaseAuthority
from broadcast.core.settings import Settings

router = APIRouter(prefix="/broker/v1", tags=["broker"])

# MQTT's actions as EMQX names them, and the authority's words for them.
ACTIONS = {"publish": "write", "subscribe": "read"}


def _broker(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]) -> None:
    """The broker's bearer token, LOA_BROKER_HOOK_TOKEN; 404 while it is not set."""
    expected = settings.broker_hook_token
    if expected is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Not Found")
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Not the broker: send 'Authorization: Bearer <LOA_BROKER_HOOK_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


BrokerDep = Depends(_broker)


def authority(request: Request, settings: Settings) -> DatabaseAuthority:
    """The app's broker authority (built once: it caches verified passwords)."""
    found: DatabaseAuthority | None = getattr(request.app.state, "broker_authority", None)
    if found is None:
        found = DatabaseAuthority(
            request.app.state.engine,
            service_username=settings.mqtt_username,
            service_password=settings.mqtt_password or "",
            prefix=settings.mqtt_topic_prefix,
            instances=settings.worker_instances,
        )
        request.app.state.broker_authority = found
    return found


class Connecting(BaseModel):
    """What the broker knows of a client that connects."""

    username: str = Field("", max_length=256)
    password: str = Field("", max_length=1024)
    clientid: str = Field("", max_length=256)


class Acting(BaseModel):
    """What the broker knows of a client that subscribes or publishes."""

    username: str = Field("", max_length=256)
    clientid: str = Field("", max_length=256)
    topic: str = Field(max_length=1024)
    action: str = Field(max_length=32, description="`publish` or `subscribe`")


class Verdict(BaseModel):
    """EMQX's answer format: `allow` or `deny` (never a superuser)."""

    result: Literal["allow", "deny"]
    is_superuser: bool = False


@router.post(
    "/authenticate",
    response_model=Verdict,
    summary="May this client connect? (asked by the broker)",
    dependencies=[BrokerDep],
)
def authenticate(body: Connecting, request: Request, settings: SettingsDep) -> Verdict:
    """`allow` for a service login with LOA_MQTT_PASSWORD, or an active receiver with its
    password connecting with its own id as client id; else `deny`."""
    rules = authority(request, settings)
    unset = not settings.mqtt_password  # a service login needs LOA_MQTT_PASSWORD
    if not body.username or (unset and body.username in rules.service_usernames):
        return Verdict(result="deny")
    ok = rules.authenticate(body.username, body.password) and rules.client_id_allowed(
        body.username, body.clientid
    )
    return Verdict(result="allow" if ok else "deny")


@router.post(
    "/authorize",
    response_model=Verdict,
    summary="May this client subscribe to or publish on this topic? (asked by the broker)",
    dependencies=[BrokerDep],
)
def authorize(body: Acting, request: Request, settings: SettingsDep) -> Verdict:
    """A receiver reads only its own `cmd` and writes only its own `ack` and `state`; the
    service's logins may do anything. A receiver's subscription through `$share/…` is
    refused like any other topic not its own."""
    action = ACTIONS.get(body.action)
    if action is None or not body.username:
        return Verdict(result="deny")
    rules = authority(request, settings)
    if body.username not in rules.service_usernames and body.clientid != body.username:
        return Verdict(result="deny")
    return Verdict(result="allow" if rules.allowed(body.username, body.topic, action) else "deny")
