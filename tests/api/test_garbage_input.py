"""Every route answers garbage with a clear 4xx in the common error shape, never a 500."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.utils import Headers

GARBAGE_BODIES: list[bytes] = [
    b"{not json",
    b"[]",
    b'{"zzz": [1, 2, {"deep": null}]}',
    b'"just a string"',
    b'{"title": "nul \\u0000 inside", "name": "nul \\u0000", "code": "a\\u0000b"}',
    ("{" + '"title": "' + "x" * 100_000 + '"}').encode(),
]
PARAM_VALUES = ["999999", "không-có", "-1", "%00"]


def _paths(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if path.startswith("/api/v1") and method in {"get", "post", "put", "patch", "delete"}
    ]


def test_no_route_fails_with_a_500(
    client: TestClient, demo: dict[str, str], admin_headers: Headers
) -> None:
    seen = 0
    for method, template in _paths(client):
        for value in PARAM_VALUES:
            path = re.sub(r"\{[^}]+\}", value, template)
            bodies = GARBAGE_BODIES if method in {"POST", "PUT", "PATCH"} else [b""]
            for body in bodies:
                answer = client.request(
                    method,
                    path,
                    content=body,
                    headers={**admin_headers, "Content-Type": "application/json"},
                )
                seen += 1
                assert answer.status_code < 500, (method, path, body[:40], answer.text[:300])
                if answer.status_code >= 400:
                    payload = answer.json()
                    assert payload["detail"] and payload["code"], (method, path, payload)
    assert seen > 200
