"""A console session ends for good on sign-out."""

from __future__ import annotations

from tests.console.conftest import Login, csrf_of


def test_console_cookie_stops_working_after_logout(login: Login) -> None:
    client = login("bientap.batxat")
    cookie = client.cookies.get("loa_session")
    assert cookie and client.get("/", follow_redirects=False).status_code == 200
    home = client.get("/")
    answer = client.post("/logout", data={"csrf_token": csrf_of(home.text)}, follow_redirects=False)
    assert answer.status_code == 303
    # A copy of the cookie kept by someone else is worthless now.
    client.cookies.set("loa_session", cookie)
    assert client.get("/", follow_redirects=False).status_code in (303, 307)
    api = client.get("/api/v1/bulletins", headers={"Authorization": f"Bearer {cookie}"})
    assert api.status_code == 401
