"""Areas, stations, receivers, languages, users and tokens through REST v1, bad input included."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from broadcast.people.models import AuditEvent
from stations.models import Area, Receiver
from stations.security import verify_secret
from tests.utils import TEST_PASSWORD, Headers, UserFactory


def _province(client: TestClient, headers: Headers) -> None:
    for body in (
        {"code": "10", "name": "Tỉnh Lào Cai", "level": "province"},
        {"code": "082", "name": "Huyện Bát Xát", "level": "district", "parent_code": "10"},
        {"code": "02680", "name": "Xã Y Tý", "level": "commune", "parent_code": "082"},
        {"code": "02800", "name": "Xã Bắc Hà", "level": "commune", "parent_code": "10"},
    ):
        assert client.post("/api/v1/areas", json=body, headers=headers).status_code == 201


def test_area_tree_with_and_without_districts(client: TestClient, admin_headers: Headers) -> None:
    _province(client, admin_headers)
    yty = client.get("/api/v1/areas/02680", headers=admin_headers).json()
    assert yty["parent_code"] == "082" and yty["level"] == "commune"
    # A post-2025 commune sits directly under the province.
    assert client.get("/api/v1/areas/02800", headers=admin_headers).json()["parent_code"] == "10"
    children = client.get("/api/v1/areas?parent_code=10", headers=admin_headers).json()
    assert {a["code"] for a in children["items"]} == {"082", "02800"}
    within = client.get("/api/v1/areas?within=082", headers=admin_headers).json()
    assert {a["code"] for a in within["items"]} == {"082", "02680"}


def test_area_bad_input_is_refused_and_nothing_written(
    client: TestClient, admin_headers: Headers, engine: Engine
) -> None:
    _province(client, admin_headers)
    cases = [
        ({"code": "082", "name": "Trùng", "level": "district", "parent_code": "10"}, 409),
        ({"code": "9", "name": "Mồ côi", "level": "commune", "parent_code": "nope"}, 404),
        ({"code": "x1", "name": "Sai cấp", "level": "district", "parent_code": "02680"}, 422),
        ({"code": "x2", "name": "A" * 201, "level": "village", "parent_code": "02680"}, 422),
        ({"code": "x3", "name": "Cấp lạ", "level": "hamlet", "parent_code": "02680"}, 422),
        ({"code": "x 4", "name": "Mã có dấu cách", "level": "village"}, 422),
        ({"code": "x5", "name": "Thừa trường", "level": "village", "colour": "red"}, 422),
    ]
    for body, status in cases:
        answer = client.post("/api/v1/areas", json=body, headers=admin_headers)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["detail"], answer.json()
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Area)).one()[0] == 4


def test_moving_an_area_under_its_own_child_is_a_cycle(
    client: TestClient, admin_headers: Headers
) -> None:
    _province(client, admin_headers)
    answer = client.patch("/api/v1/areas/082", json={"parent_code": "02680"}, headers=admin_headers)
    assert answer.status_code == 422
    assert "cycle" in answer.json()["detail"]
    # A legal move re-roots the whole subtree: the commune follows its district.
    client.post(
        "/api/v1/areas",
        json={"code": "11", "name": "Tỉnh Lai Châu", "level": "province"},
        headers=admin_headers,
    )
    assert (
        client.patch("/api/v1/areas/082", json={"parent_code": "11"}, headers=admin_headers)
    ).status_code == 200
    editor = client.post(
        "/api/v1/users",
        json={
            "username": "bt.laichau",
            "password": TEST_PASSWORD,
            "role": "editor",
            "area_code": "11",
        },
        headers=admin_headers,
    )
    assert editor.status_code == 201
    token = client.post(
        "/api/v1/auth/token", data={"username": "bt.laichau", "password": TEST_PASSWORD}
    ).json()["access_token"]
    seen = client.get("/api/v1/areas", headers={"Authorization": f"Bearer {token}"}).json()
    assert {a["code"] for a in seen["items"]} == {"11", "082", "02680"}


def test_malformed_json_gets_a_clear_400_class_error(
    client: TestClient, admin_headers: Headers
) -> None:
    answer = client.post(
        "/api/v1/areas",
        content=b'{"code": "10", "name": ',
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid" and "JSON" in answer.json()["detail"]


def test_station_languages_and_receiver_credentials(
    client: TestClient, admin_headers: Headers, engine: Engine
) -> None:
    _province(client, admin_headers)
    answer = client.post(
        "/api/v1/stations",
        json={
            "area_code": "02680",
            "name": "Đài xã Y Tý",
            "kind": "ip",
            "languages": ["vi", "hmn"],
        },
        headers=admin_headers,
    )
    assert answer.status_code == 201, answer.text
    station = answer.json()
    assert station["languages"] == ["vi", "hmn"] and station["id"]
    created = client.post(
        f"/api/v1/stations/{station['id']}/receivers",
        json={"name": "Cụm loa thôn Lao Chải", "location": "Nhà văn hóa thôn"},
        headers=admin_headers,
    ).json()
    assert created["mqtt_username"] == created["id"]
    password = created["mqtt_password"]
    assert len(password) >= 24
    # The password is shown once: never again in any answer, and only its hash is stored.
    shown = client.get(f"/api/v1/receivers/{created['id']}", headers=admin_headers).json()
    assert "mqtt_password" not in shown
    with Session(engine) as session:
        stored = session.get(Receiver, created["id"])
        assert stored is not None and password not in stored.secret_hash
        assert verify_secret(password, stored.secret_hash)
    reset = client.post(
        f"/api/v1/receivers/{created['id']}/reset-password", headers=admin_headers
    ).json()
    with Session(engine) as session:
        stored = session.get(Receiver, created["id"])
        assert stored is not None
        assert verify_secret(reset["mqtt_password"], stored.secret_hash)
        assert not verify_secret(password, stored.secret_hash)


def test_station_bad_input(client: TestClient, admin_headers: Headers) -> None:
    _province(client, admin_headers)
    base = {"area_code": "02680", "name": "Đài", "kind": "ip"}
    for body, status, words in [
        ({**base, "languages": ["vi", "xyz"]}, 422, "xyz"),
        ({**base, "languages": []}, 422, "languages"),
        ({**base, "languages": ["vi", "vi"]}, 422, "twice"),
        ({**base, "kind": "satellite", "languages": ["vi"]}, 422, "kind"),
        ({**base, "area_code": "082", "languages": ["vi"]}, 422, "commune"),
        ({**base, "area_code": "99999", "languages": ["vi"]}, 404, "99999"),
    ]:
        answer = client.post("/api/v1/stations", json=body, headers=admin_headers)
        assert answer.status_code == status, answer.text
        assert words in answer.text


def test_receiver_for_inactive_station_is_refused(
    client: TestClient, admin_headers: Headers
) -> None:
    _province(client, admin_headers)
    station = client.post(
        "/api/v1/stations",
        json={"area_code": "02680", "name": "Đài cũ", "kind": "legacy", "languages": ["vi"]},
        headers=admin_headers,
    ).json()
    client.patch(f"/api/v1/stations/{station['id']}", json={"active": False}, headers=admin_headers)
    answer = client.post(
        f"/api/v1/stations/{station['id']}/receivers", json={"name": "Cụm"}, headers=admin_headers
    )
    assert answer.status_code == 422 and "inactive" in answer.json()["detail"]


def test_pagination_and_filters(client: TestClient, admin_headers: Headers) -> None:
    _province(client, admin_headers)
    for n in range(7):
        client.post(
            "/api/v1/stations",
            json={
                "area_code": "02680" if n % 2 else "02800",
                "name": f"Đài {n}",
                "kind": "ip",
                "languages": ["vi"] if n < 5 else ["vi", "hmn"],
            },
            headers=admin_headers,
        )
    page = client.get("/api/v1/stations?limit=3&offset=3", headers=admin_headers).json()
    assert page["total"] == 7 and page["limit"] == 3 and page["offset"] == 3
    assert [s["name"] for s in page["items"]] == ["Đài 3", "Đài 4", "Đài 5"]
    district = client.get("/api/v1/stations?area_code=082", headers=admin_headers).json()
    assert district["total"] == 3
    hmong = client.get("/api/v1/stations?language=hmn", headers=admin_headers).json()
    assert {s["name"] for s in hmong["items"]} == {"Đài 5", "Đài 6"}
    assert client.get("/api/v1/stations?limit=0", headers=admin_headers).status_code == 422


def test_languages_seeded_and_extendable(client: TestClient, admin_headers: Headers) -> None:
    langs = client.get("/api/v1/languages", headers=admin_headers).json()
    codes = [lang["code"] for lang in langs]
    assert codes[0] == "vi" and {"hmn", "tyz", "nut", "zh"} <= set(codes)
    assert next(lang for lang in langs if lang["code"] == "hmn")["name"] == "Tiếng H'Mông"
    added = client.post(
        "/api/v1/languages", json={"code": "khm", "name": "Tiếng Khơ Mú"}, headers=admin_headers
    )
    assert added.status_code == 201
    again = client.post(
        "/api/v1/languages", json={"code": "khm", "name": "Khơ Mú"}, headers=admin_headers
    )
    assert again.status_code == 409


def test_password_login_and_api_tokens(
    client: TestClient, demo: dict[str, str], make_user: UserFactory
) -> None:
    wrong = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "Wrong username or password"
    login = client.post("/api/v1/auth/token", data={"username": "admin", "password": TEST_PASSWORD})
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get("/api/v1/users/me", headers=headers).json()["role"] == "admin"

    editor = make_user("editor", "082")
    created = client.post(
        "/api/v1/auth/api-tokens", json={"name": "cổng thông tin"}, headers=editor
    )
    assert created.status_code == 201
    token = created.json()["token"]
    integration = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/users/me", headers=integration).json()
    assert me["role"] == "editor" and me["area_code"] == "082"
    listed = client.get("/api/v1/auth/api-tokens", headers=editor).json()
    assert [t["name"] for t in listed] == ["cổng thông tin"] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None
    client.delete(f"/api/v1/auth/api-tokens/{listed[0]['id']}", headers=editor)
    assert client.get("/api/v1/users/me", headers=integration).status_code == 401


def test_disabled_user_loses_access(
    client: TestClient, admin_headers: Headers, make_user: UserFactory
) -> None:
    client.post(
        "/api/v1/areas",
        json={"code": "10", "name": "Lào Cai", "level": "province"},
        headers=admin_headers,
    )
    editor = make_user("editor", "10", username="bt.tinh")
    me = client.get("/api/v1/users/me", headers=editor).json()
    client.patch(f"/api/v1/users/{me['id']}", json={"active": False}, headers=admin_headers)
    assert client.get("/api/v1/users/me", headers=editor).status_code == 401
    login = client.post(
        "/api/v1/auth/token", data={"username": "bt.tinh", "password": TEST_PASSWORD}
    )
    assert login.status_code == 401


def test_every_change_is_audited(
    client: TestClient, admin_headers: Headers, engine: Engine
) -> None:
    _province(client, admin_headers)
    client.post(
        "/api/v1/users",
        json={
            "username": "vh.yty",
            "password": TEST_PASSWORD,
            "role": "operator",
            "area_code": "02680",
        },
        headers=admin_headers,
    )
    log = client.get("/api/v1/audit", headers=admin_headers).json()
    actions = [e["action"] for e in log["items"]]
    assert actions[0] == "user.create" and actions.count("area.create") == 4
    assert TEST_PASSWORD not in str(log)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one()[0] == 5
