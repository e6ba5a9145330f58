"""The service answers, documents itself and refuses strangers."""

from fastapi.testclient import TestClient


def test_healthz_answers_without_login(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_broker_down(client: TestClient) -> None:
    # Nothing listens on the test's broker port: the probe must say so, not hang.
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["database"] == "ok"
    assert answer.json()["checks"]["broker"].startswith("error")


def test_every_route_is_described_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op.get("summary"), f"{method.upper()} {path} has no summary"
            assert op.get("description"), f"{method.upper()} {path} has no description"
