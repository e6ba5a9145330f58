"""A clustered broker (EMQX) asks Loa who may connect, subscribe and publish.

The answers must be those of the embedded broker and of `loa mqtt sync`'s mosquitto files:
a receiver reads only its own commands and writes only its own acknowledgements and
state, with its own id as client id; the service's logins may do anything.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.main import create_app
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from stations.models import Receiver
from stations.protocol import Topics

HOOK_TOKEN = "broker-hook-token-0123456789abcdef"
SERVICE_PASSWORD = "service-password-for-the-broker"


@pytest.fixture
def broker_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    hooked = settings.model_copy(
        update={"broker_hook_token": HOOK_TOKEN, "mqtt_password": SERVICE_PASSWORD}
    )
    with TestClient(create_app(hooked, engine=engine)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {HOOK_TOKEN}"
        yield test_client


def _verdict(client: TestClient, path: str, **body: str) -> str:
    answer = client.post(f"/broker/v1/{path}", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["is_superuser"] is False
    return str(answer.json()["result"])


def test_without_the_setting_the_routes_do_not_exist_and_need_the_brokers_token(
    client: TestClient, broker_client: TestClient
) -> None:
    body = {"username": "x", "password": "y", "clientid": "x"}
    assert client.post("/broker/v1/authenticate", json=body).status_code == 404
    wrong = broker_client.post(
        "/broker/v1/authenticate", json=body, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    bare = TestClient(broker_client.app).post("/broker/v1/authorize", json=body | {"topic": "t"})
    assert bare.status_code == 401


def test_a_receiver_connects_with_its_own_password_and_id_and_the_service_with_its_own(
    broker_client: TestClient, engine: Engine, demo: dict[str, str]
) -> None:
    rid, password = sorted(demo.items())[0]
    other = sorted(demo)[1]
    assert (
        _verdict(broker_client, "authenticate", username=rid, password=password, clientid=rid)
        == "allow"
    )
    assert (
        _verdict(broker_client, "authenticate", username=rid, password="wrong", clientid=rid)
        == "deny"
    )
    assert (
        _verdict(broker_client, "authenticate", username=rid, password=password, clientid=other)
        == "deny"
    )
    assert _verdict(broker_client, "authenticate", username="", password="", clientid="") == "deny"
    for login in ("loa-server", "loa-server-ingestor", "loa-server-dispatcher"):
        assert (
            _verdict(
                broker_client,
                "authenticate",
                username=login,
                password=SERVICE_PASSWORD,
                clientid="svc",
            )
            == "allow"
        )
        assert (
            _verdict(
                broker_client, "authenticate", username=login, password="guess", clientid="svc"
            )
            == "deny"
        )
    # The service may not connect as a receiver.
    assert (
        _verdict(
            broker_client,
            "authenticate",
            username="loa-server",
            password=SERVICE_PASSWORD,
            clientid=rid,
        )
        == "deny"
    )
    # A deactivated receiver is refused (after the cache is dropped, as a reset does).
    with transaction(engine) as ses:
        row = ses.get(Receiver, other)
        assert row is not None
        row.active = False
    broker_client.app.state.broker_authority.forget()  # type: ignore[attr-defined]
    assert (
        _verdict(
            broker_client, "authenticate", username=other, password=demo[other], clientid=other
        )
        == "deny"
    )


def test_a_receiver_reads_its_commands_and_writes_its_acks_and_state_only(
    broker_client: TestClient, settings: Settings, demo: dict[str, str]
) -> None:
    topics = Topics(settings.mqtt_topic_prefix)
    rid, other = sorted(demo)[:2]

    def may(action: str, topic: str, username: str = rid, clientid: str = rid) -> str:
        return _verdict(
            broker_client,
            "authorize",
            username=username,
            clientid=clientid,
            topic=topic,
            action=action,
        )

    assert may("subscribe", topics.cmd(rid)) == "allow"
    assert may("publish", topics.ack(rid)) == "allow"
    assert may("publish", topics.state(rid)) == "allow"
    assert may("subscribe", topics.cmd(other)) == "deny"
    assert may("subscribe", topics.cmd("+")) == "deny"
    assert may("subscribe", f"$share/loa/{topics.ack('+')}") == "deny"
    assert may("publish", topics.cmd(rid)) == "deny"
    assert may("publish", topics.ack(other)) == "deny"
    assert may("delete", topics.ack(rid)) == "deny"
    assert may("publish", topics.ack(rid), clientid=other) == "deny"
    assert may("subscribe", f"$share/loa/{topics.ack('+')}", "loa-server-ingestor", "x") == "allow"
    assert may("publish", topics.cmd(rid), "loa-server-dispatcher", "y") == "allow"


def test_service_logins_are_refused_while_the_service_has_no_password(
    settings: Settings, engine: Engine, demo: dict[str, str]
) -> None:
    hooked = settings.model_copy(update={"broker_hook_token": HOOK_TOKEN, "mqtt_password": None})
    with TestClient(create_app(hooked, engine=engine)) as client:
        client.headers["Authorization"] = f"Bearer {HOOK_TOKEN}"
        assert (
            _verdict(client, "authenticate", username="loa-server", password="", clientid="s")
            == "deny"
        )
        rid, password = sorted(demo.items())[0]
        assert (
            _verdict(client, "authenticate", username=rid, password=password, clientid=rid)
            == "allow"
        )
