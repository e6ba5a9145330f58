"""Integer ids and numbers in paths, queries and bodies too large for a column: 4xx, never 500.

An id column holds at most 2**31 - 1 on PostgreSQL (INTEGER) and 2**63 - 1 on SQLite; the
databases refuse to bind a larger number, so such a number is refused before any query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.utils import Headers

MAX_ID = 2**31 - 1
TOO_BIG = [str(2**31), str(2**63), str(2**64), "1" + "0" * 30]
BODY_METHODS = {"post", "put", "patch"}


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The same app, answering a server error as a 500 instead of raising it in the test."""
    return TestClient(client.app, raise_server_exceptions=False)


def _is_integer(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "integer" or any(
        s.get("type") == "integer" for s in schema.get("anyOf", [])
    )


def _integer_params(spec: dict[str, Any], where: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                if param["in"] == where and _is_integer(param.get("schema", {})):
                    yield method, path, param


def _fill(path: str, op: dict[str, Any], chosen: str, value: str) -> str:
    """The path with `value` for the parameter `chosen` and harmless values elsewhere."""
    for param in op.get("parameters", []):
        if param["in"] != "path":
            continue
        name = param["name"]
        other = "1" if _is_integer(param.get("schema", {})) else "vi"
        path = path.replace("{" + name + "}", value if name == chosen else other)
    return path


def _assert_clear_refusal(answer: Any, *context: object) -> None:
    assert answer.status_code in (404, 422), (*context, answer.status_code, answer.text[:300])
    body = answer.json()
    assert body["code"] in ("not_found", "invalid") and body["detail"], (*context, body)


def test_every_integer_path_parameter_is_bounded_to_64_bits(
    api: TestClient, demo: dict[str, str], admin_headers: Headers
) -> None:
    spec = api.get("/openapi.json").json()
    seen = 0
    for method, path, param in _integer_params(spec, "path"):
        op = spec["paths"][path][method]
        # The bound is published, so a client (or a fuzzer) knows it.
        schema = param["schema"]
        assert schema.get("minimum") == 1 and schema.get("maximum") == MAX_ID, (path, schema)
        for value in TOO_BIG:
            url = _fill(path, op, param["name"], value)
            body = {} if method in BODY_METHODS else None
            answer = api.request(method.upper(), url, json=body, headers=admin_headers)
            _assert_clear_refusal(answer, method, url)
            seen += 1
        if method == "get":
            largest = api.get(_fill(path, op, param["name"], str(MAX_ID)), headers=admin_headers)
            assert largest.status_code == 404, (path, largest.text[:300])
    assert seen >= 3 * 25  # every route with an id


def test_integer_query_parameters_beyond_64_bits_are_refused(
    api: TestClient, demo: dict[str, str], admin_headers: Headers
) -> None:
    spec = api.get("/openapi.json").json()
    names = set()
    for method, path, param in _integer_params(spec, "query"):
        op = spec["paths"][path][method]
        url = _fill(path, op, "", "1")
        for value in TOO_BIG:
            answer = api.request(
                method.upper(), url, params={param["name"]: value}, headers=admin_headers
            )
            assert answer.status_code == 422, (method, url, param["name"], answer.text[:300])
            assert param["name"] in answer.json()["detail"]
        names.add(param["name"])
    assert {"limit", "offset", "station_id", "bulletin_id", "occurrence"} <= names


def test_the_largest_offset_answers_an_empty_page(
    api: TestClient, demo: dict[str, str], admin_headers: Headers
) -> None:
    for path in ("/api/v1/areas", "/api/v1/stations", "/api/v1/receivers", "/api/v1/users"):
        answer = api.get(path, params={"offset": MAX_ID}, headers=admin_headers)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.json()["items"] == [] and answer.json()["total"] > 0


def test_ids_in_request_bodies_beyond_64_bits_are_refused(
    api: TestClient, engine: Engine, demo: dict[str, str], admin_headers: Headers
) -> None:
    bulletin = approved_bulletin(engine, "10", "Tuyên truyền luật biên giới")
    schedule = {"area_codes": ["02743"], "starts_at": "2031-03-01T06:00:00+07:00"}
    refused = api.post(
        "/api/v1/broadcasts", json={**schedule, "bulletin_ids": [2**64]}, headers=admin_headers
    )
    assert refused.status_code == 422, refused.text[:300]
    assert "bulletin_ids" in refused.json()["detail"]
    created = api.post(
        "/api/v1/broadcasts", json={**schedule, "bulletin_ids": [bulletin]}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    confirmation = {"station_id": 2**64, "aired_at": "2031-03-01T06:01:00+07:00"}
    answer = api.post(
        f"/api/v1/broadcasts/{created.json()['id']}/confirmations",
        json=confirmation,
        headers=admin_headers,
    )
    assert answer.status_code == 422, answer.text[:300]
    assert "station_id" in answer.json()["detail"]
