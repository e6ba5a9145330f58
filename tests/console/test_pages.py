"""Console pages through TestClient: sign-in, CSRF, cookies, scoping, validation, credentials."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from stations.models import Area, Station
from tests.console.conftest import Login, csrf_of
from tests.utils import TEST_PASSWORD


def station_ids(engine: Engine) -> dict[str, int]:
    with Session(engine) as ses:
        return {a.code: s.id or 0 for s, a in ses.exec(select(Station, Area).join(Area)).all()}


def test_pages_need_a_session(client: TestClient) -> None:
    answer = client.get("/stations", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/stations"


def test_login_errors_are_shown_next_to_the_field_in_vietnamese(
    client: TestClient, demo: dict[str, str]
) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "admin", "password": "sai-mat-khau", "csrf_token": token}
    )
    assert answer.status_code == 422
    assert 'id="e-password"' in answer.text
    assert "Sai tên đăng nhập hoặc mật khẩu" in answer.text


def test_forms_without_a_valid_csrf_token_are_refused(
    client: TestClient, demo: dict[str, str]
) -> None:
    client.get("/login")
    for token in ("", "0" * 64):
        answer = client.post(
            "/login", data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": token}
        )
        assert answer.status_code == 403
        assert "biểu mẫu không hợp lệ" in answer.text
    assert "loa_session" not in client.cookies


def test_session_cookie_is_httponly_samesite_and_secure_over_https(
    client: TestClient, demo: dict[str, str]
) -> None:
    secure = TestClient(client.app, base_url="https://testserver")
    token = csrf_of(secure.get("/login").text)
    answer = secure.post(
        "/login",
        data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookies = [v for k, v in answer.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookies if c.startswith("loa_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie or "samesite=lax" in session_cookie.lower()
    assert "Secure" in session_cookie
    plain = TestClient(client.app)
    token = csrf_of(plain.get("/login").text)
    answer = plain.post(
        "/login",
        data={"username": "admin", "password": TEST_PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    session_cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "loa_session" in v
    )
    assert "Secure" not in session_cookie


def test_login_redirects_only_to_local_paths(client: TestClient, demo: dict[str, str]) -> None:
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": TEST_PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_operator_sees_only_their_commune(login: Login, engine: Engine) -> None:
    ids = station_ids(engine)
    client = login("vanhanh.yty")
    page = client.get("/stations")
    assert "Đài truyền thanh xã Y Tý" in page.text
    assert "Pha Long" not in page.text and "A Mú Sung" not in page.text
    assert client.get(f"/stations/{ids['02680']}").status_code == 200
    other = client.get(f"/stations/{ids['02743']}")
    assert other.status_code == 404
    assert "Không tìm thấy" in other.text
    assert client.get(f"/stations/{ids['02743']}/schedule.ics").status_code == 404
    # An operator cannot create receivers, even on their own station.
    token = csrf_of(page.text)
    denied = client.post(
        f"/stations/{ids['02680']}/receivers", data={"name": "Cụm mới", "csrf_token": token}
    )
    assert denied.status_code == 403
    assert client.get("/operator").status_code == 200


def test_receiver_credentials_are_shown_once(login: Login, engine: Engine) -> None:
    ids = station_ids(engine)
    client = login("admin")
    page = client.get(f"/stations/{ids['02680']}")
    token = csrf_of(page.text)
    bad = client.post(
        f"/stations/{ids['02680']}/receivers",
        data={"name": " ", "latitude": "abc", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'id="e-name"' in bad.text and "Hãy nhập tên cụm loa" in bad.text
    assert 'id="e-latitude"' in bad.text
    created = client.post(
        f"/stations/{ids['02680']}/receivers",
        data={"name": "Cụm loa nhà văn hóa", "location": "Thôn Lao Chải", "csrf_token": token},
    )
    assert created.status_code == 200
    assert 'id="mqtt-password"' in created.text
    password = created.text.split('id="mqtt-password">')[1].split("<")[0]
    assert len(password) >= 16
    again = client.get(f"/stations/{ids['02680']}")
    assert "Cụm loa nhà văn hóa" in again.text
    assert password not in again.text


def test_admin_creates_a_station_with_field_errors_first(login: Login) -> None:
    client = login("admin")
    token = csrf_of(client.get("/stations").text)
    bad = client.post("/stations", data={"name": "", "csrf_token": token})
    assert bad.status_code == 422
    assert "Hãy nhập tên đài" in bad.text and "Hãy chọn xã" in bad.text
    good = client.post(
        "/stations",
        data={
            "name": "Đài xã mới",
            "area_code": "02659",
            "kind": "legacy",
            "languages": ["vi", "hmn"],
            "csrf_token": token,
        },
    )
    assert good.status_code == 200 and "Đài xã mới" in good.text


def test_every_main_page_renders_for_every_role(login: Login) -> None:
    editor = ["/", "/bulletins", "/bulletins/new", "/schedule", "/schedule/new", "/reports"]
    pages = {
        "admin": [*editor, "/stations", "/operator"],
        "bientap.batxat": editor,
        "duyet.batxat": ["/", "/bulletins", "/schedule", "/reports"],
        "vanhanh.phalong": ["/", "/operator", "/schedule", "/stations", "/reports"],
    }
    for username, urls in pages.items():
        client = login(username)
        for url in urls:
            answer = client.get(url)
            assert answer.status_code == 200, (username, url, answer.text[:500])
            assert '<html lang="vi">' in answer.text
    operator = login("vanhanh.phalong")
    assert operator.get("/bulletins/new").status_code == 403
    assert operator.get("/schedule/new").status_code == 403
