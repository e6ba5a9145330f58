"""Authorization matrix: every role against every route family, inside and across areas.

The demo province has district 082 (communes 02680 Y Tý and 02659 A Mú Sung) and
district 083 (commune 02743 Pha Long). Callers are placed in district 082 or in
commune 02680; everything under 083 is another area and must look absent (404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.utils import Headers, UserFactory

# Callers: (role, home area). "admin@all" is a global administrator.
CALLERS = {
    "admin@all": ("admin", None),
    "admin@082": ("admin", "082"),
    "editor@082": ("editor", "082"),
    "approver@082": ("approver", "082"),
    "operator@02680": ("operator", "02680"),
}


@dataclass(frozen=True)
class Ids:
    """Ids of demo objects, looked up by the global admin."""

    own_station: int  # Y Tý (02680)
    sibling_station: int  # A Mú Sung (02659), same district 082
    other_station: int  # Pha Long (02743), district 083
    own_receiver: str
    sibling_receiver: str
    other_user: int  # operator of Pha Long


@pytest.fixture
def ids(client: TestClient, demo: dict[str, str], admin_headers: Headers) -> Ids:
    stations = client.get("/api/v1/stations", headers=admin_headers).json()["items"]
    by_area = {s["area_code"]: s["id"] for s in stations}

    def first_receiver(station_id: int) -> str:
        page = client.get(f"/api/v1/stations/{station_id}/receivers", headers=admin_headers)
        return str(page.json()["items"][0]["id"])

    users = client.get("/api/v1/users?area_code=02743", headers=admin_headers).json()["items"]
    return Ids(
        own_station=by_area["02680"],
        sibling_station=by_area["02659"],
        other_station=by_area["02743"],
        own_receiver=first_receiver(by_area["02680"]),
        sibling_receiver=first_receiver(by_area["02659"]),
        other_user=users[0]["id"],
    )


@dataclass(frozen=True)
class Case:
    """One request and the status each caller must get."""

    name: str
    method: str
    path: Callable[[Ids], str]
    body: Callable[[Ids], dict[str, Any] | None]
    expect: dict[str, int]


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def _admins_only(ok: int, others: int = 403) -> dict[str, int]:
    return {**_all(others), "admin@all": ok, "admin@082": ok}


CASES = [
    # --- areas
    Case("list areas", "GET", lambda i: "/api/v1/areas", lambda i: None, _all(200)),
    Case(
        "read own district",
        "GET",
        lambda i: "/api/v1/areas/082",
        lambda i: None,
        {**_all(200), "operator@02680": 404},
    ),
    Case(
        "read other district",
        "GET",
        lambda i: "/api/v1/areas/083",
        lambda i: None,
        {**_all(404), "admin@all": 200},
    ),
    Case(
        "create village in own commune",
        "POST",
        lambda i: "/api/v1/areas",
        lambda i: {"code": "V-NEW", "name": "Thôn Mới", "level": "village", "parent_code": "02680"},
        _admins_only(201),
    ),
    Case(
        "create village in other district",
        "POST",
        lambda i: "/api/v1/areas",
        lambda i: {"code": "V-X", "name": "Thôn X", "level": "village", "parent_code": "02743"},
        {**_admins_only(404), "admin@all": 201},
    ),
    Case(
        "create a province",
        "POST",
        lambda i: "/api/v1/areas",
        lambda i: {"code": "11", "name": "Tỉnh Điện Biên", "level": "province"},
        {**_admins_only(404), "admin@all": 201},
    ),
    Case(
        "rename other district",
        "PATCH",
        lambda i: "/api/v1/areas/083",
        lambda i: {"name": "Đổi tên"},
        {**_admins_only(404), "admin@all": 200},
    ),
    Case(
        "read own district's language reviewers",
        "GET",
        lambda i: "/api/v1/areas/082/language-reviewers",
        lambda i: None,
        {**_all(200), "operator@02680": 404},
    ),
    Case(
        "name own district's language reviewers",
        "PUT",
        lambda i: "/api/v1/areas/082/language-reviewers",
        lambda i: {"languages": {"hmn": ["bientap.batxat"]}},
        _admins_only(200),
    ),
    Case(
        "name other district's language reviewers",
        "PUT",
        lambda i: "/api/v1/areas/083/language-reviewers",
        lambda i: {"languages": {}},
        {**_admins_only(404), "admin@all": 200},
    ),
    # --- languages
    Case("list languages", "GET", lambda i: "/api/v1/languages", lambda i: None, _all(200)),
    Case(
        "add a language",
        "POST",
        lambda i: "/api/v1/languages",
        lambda i: {"code": "khm", "name": "Tiếng Khơ Mú"},
        _admins_only(201),
    ),
    # --- stations
    Case(
        "read own station",
        "GET",
        lambda i: f"/api/v1/stations/{i.own_station}",
        lambda i: None,
        _all(200),
    ),
    Case(
        "read sibling commune's station",
        "GET",
        lambda i: f"/api/v1/stations/{i.sibling_station}",
        lambda i: None,
        {**_all(200), "operator@02680": 404},
    ),
    Case(
        "read other district's station",
        "GET",
        lambda i: f"/api/v1/stations/{i.other_station}",
        lambda i: None,
        {**_all(404), "admin@all": 200},
    ),
    Case(
        "create station in own district",
        "POST",
        lambda i: "/api/v1/stations",
        lambda i: {"area_code": "02659", "name": "Đài mới", "kind": "ip", "languages": ["vi"]},
        _admins_only(201),
    ),
    Case(
        "create station in other district",
        "POST",
        lambda i: "/api/v1/stations",
        lambda i: {"area_code": "02743", "name": "Đài lạ", "kind": "ip", "languages": ["vi"]},
        {**_admins_only(404), "admin@all": 201},
    ),
    Case(
        "change other district's station",
        "PATCH",
        lambda i: f"/api/v1/stations/{i.other_station}",
        lambda i: {"name": "X"},
        {**_admins_only(404), "admin@all": 200},
    ),
    # --- receivers
    Case(
        "read own receiver",
        "GET",
        lambda i: f"/api/v1/receivers/{i.own_receiver}",
        lambda i: None,
        _all(200),
    ),
    Case(
        "read sibling commune's receiver",
        "GET",
        lambda i: f"/api/v1/receivers/{i.sibling_receiver}",
        lambda i: None,
        {**_all(200), "operator@02680": 404},
    ),
    Case(
        "add receiver to own station",
        "POST",
        lambda i: f"/api/v1/stations/{i.own_station}/receivers",
        lambda i: {"name": "Cụm mới"},
        _admins_only(201),
    ),
    Case(
        "add receiver to other district's station",
        "POST",
        lambda i: f"/api/v1/stations/{i.other_station}/receivers",
        lambda i: {"name": "Cụm lạ"},
        {**_admins_only(404), "admin@all": 201},
    ),
    Case(
        "reset own receiver's password",
        "POST",
        lambda i: f"/api/v1/receivers/{i.own_receiver}/reset-password",
        lambda i: None,
        _admins_only(200),
    ),
    # --- users
    Case("who am I", "GET", lambda i: "/api/v1/users/me", lambda i: None, _all(200)),
    Case("list users", "GET", lambda i: "/api/v1/users", lambda i: None, _admins_only(200)),
    Case(
        "read other district's user",
        "GET",
        lambda i: f"/api/v1/users/{i.other_user}",
        lambda i: None,
        {**_admins_only(404), "admin@all": 200},
    ),
    Case(
        "create editor in own district",
        "POST",
        lambda i: "/api/v1/users",
        lambda i: {
            "username": "bt.moi",
            "password": "mat-khau-123",
            "role": "editor",
            "area_code": "082",
        },
        _admins_only(201),
    ),
    Case(
        "create editor in other district",
        "POST",
        lambda i: "/api/v1/users",
        lambda i: {
            "username": "bt.la",
            "password": "mat-khau-123",
            "role": "editor",
            "area_code": "083",
        },
        {**_admins_only(404), "admin@all": 201},
    ),
    Case(
        "create global admin",
        "POST",
        lambda i: "/api/v1/users",
        lambda i: {"username": "qt.moi", "password": "mat-khau-123", "role": "admin"},
        {**_admins_only(422), "admin@all": 201},
    ),
    Case(
        "disable other district's user",
        "PATCH",
        lambda i: f"/api/v1/users/{i.other_user}",
        lambda i: {"active": False},
        {**_admins_only(404), "admin@all": 200},
    ),
    # --- audit
    Case("read audit log", "GET", lambda i: "/api/v1/audit", lambda i: None, _admins_only(200)),
]


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matrix(
    client: TestClient, ids: Ids, make_user: UserFactory, caller: str, case: Case
) -> None:
    role, area = CALLERS[caller]
    headers = make_user(role, area)
    answer = client.request(case.method, case.path(ids), json=case.body(ids), headers=headers)
    assert answer.status_code == case.expect[caller], answer.text
    body = answer.json()
    if answer.status_code >= 400:
        assert set(body) >= {"detail", "code"}, body


def test_lists_never_show_another_area(
    client: TestClient, ids: Ids, make_user: UserFactory
) -> None:
    operator = make_user("operator", "02680")
    stations = client.get("/api/v1/stations", headers=operator).json()
    assert [s["area_code"] for s in stations["items"]] == ["02680"]
    receivers = client.get("/api/v1/receivers", headers=operator).json()["items"]
    assert receivers and {r["station_id"] for r in receivers} == {ids.own_station}
    areas = client.get("/api/v1/areas", headers=operator).json()["items"]
    assert {a["code"] for a in areas} == {"02680", "02680-01"}
    editor = make_user("editor", "082")
    codes = {a["code"] for a in client.get("/api/v1/areas", headers=editor).json()["items"]}
    assert "083" not in codes and "02743" not in codes and "02680" in codes
    # Filtering by another area is not a way around the scope.
    assert client.get("/api/v1/stations?area_code=083", headers=editor).status_code == 404


def test_strangers_and_bad_tokens_get_401(client: TestClient, ids: Ids) -> None:
    for path in ("/api/v1/areas", f"/api/v1/stations/{ids.own_station}", "/api/v1/users/me"):
        assert client.get(path).status_code == 401
        bad = {"Authorization": "Bearer not-a-token"}
        assert client.get(path, headers=bad).status_code == 401
        forged = {"Authorization": "Bearer loa_forged-api-token"}
        assert client.get(path, headers=forged).status_code == 401
