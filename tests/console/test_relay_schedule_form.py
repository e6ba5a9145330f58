"""Scheduling a relay ("Tiếp âm") from the console's new broadcast form: the same service
as REST, its errors in Vietnamese next to the inputs, only the caller's sources offered."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta
from urllib.parse import unquote

from fastapi.testclient import TestClient
from playwright.sync_api import Browser
from sqlalchemy import Engine
from sqlmodel import select

from broadcast.core.db import transaction
from broadcast.people.models import Role
from broadcast.relays.models import RelaySource
from stations.models import Area
from tests.console.conftest import LiveServer, Login, csrf_of, phone, readable, sign_in
from tests.utils import UserFactory

DAY = date.today() + timedelta(days=3)


def _source(engine: Engine, area_code: str, name: str) -> int:
    with transaction(engine) as ses:
        area = ses.exec(select(Area).where(Area.code == area_code)).one()
        source = RelaySource(area_id=area.id or 0, name=name, url=f"https://{area_code}.example/l")
        ses.add(source)
        ses.flush()
        return source.id or 0


def _relay_form(client: TestClient, source_id: int | str, **changes: object) -> dict[str, object]:
    token = csrf_of(client.get("/schedule/new").text)
    return {
        "csrf_token": token,
        "what": "relay",
        "relay_source_id": str(source_id),
        "relay_minutes": "30",
        "bulletin_ids": [],
        "area_codes": ["02680"],
        "when": "hằng ngày lúc 6:00",
        "first_day": DAY.strftime("%d/%m/%Y"),
        "until": (DAY + timedelta(days=2)).strftime("%d/%m/%Y"),
        "priority": "normal",
        "title": "Tiếp âm thời sự VOV1",
        "action": "save",
    } | changes


def _error_of(page: str, name: str) -> str:
    found = re.search(rf'id="e-{name}">([^<]*)<', page)
    assert found, f"no error next to {name}"
    return html.unescape(found.group(1))


def test_an_editor_schedules_a_relay_from_the_form(
    login: Login, engine: Engine, make_user: UserFactory
) -> None:
    vov1 = _source(engine, "10", "VOV1")
    editor = login("bientap.batxat")
    form = editor.get("/schedule/new").text
    assert "Tiếp âm" in form and f'value="{vov1}"' in form
    saved = editor.post("/schedule/new", data=_relay_form(editor, vov1), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert "Đã lên lịch 3 lượt phát" in unquote(saved.headers["location"])
    broadcast_id = saved.headers["location"].split("/broadcasts/", 1)[1].split("?", 1)[0]

    # What REST says of it: a relay of VOV1, 30 minutes a day at 6:00 for three days.
    shown = editor.get(
        f"/api/v1/broadcasts/{broadcast_id}", headers=make_user(Role.editor, "082")
    ).json()
    assert (shown["kind"], shown["relay_source_id"], shown["duration_seconds"]) == (
        "relay",
        vov1,
        1800,
    )
    assert shown["bulletin_ids"] == [] and shown["area_codes"] == ["02680"]
    airings = [o["air_at"] for o in shown["occurrences"]]
    assert len(airings) == 3 and all("T23:00:00" in a for a in airings)  # 6:00 in Hà Nội
    page = html.unescape(editor.get(f"/broadcasts/{broadcast_id}").text)
    assert "Tiếp âm VOV1 trong 30 phút mỗi lượt" in page


def test_the_relay_form_says_what_is_missing_in_vietnamese(
    login: Login, engine: Engine, make_user: UserFactory
) -> None:
    vov1 = _source(engine, "10", "VOV1")
    editor = login("bientap.batxat")
    no_source = editor.post("/schedule/new", data=_relay_form(editor, ""))
    assert no_source.status_code == 422
    assert _error_of(no_source.text, "relay_source_id") == (
        "Hãy chọn nguồn tiếp âm và thời lượng tiếp âm"
    )
    no_length = editor.post("/schedule/new", data=_relay_form(editor, vov1, relay_minutes=""))
    assert no_length.status_code == 422
    assert _error_of(no_length.text, "relay_minutes") == (
        "Hãy chọn nguồn tiếp âm và thời lượng tiếp âm"
    )
    too_long = editor.post("/schedule/new", data=_relay_form(editor, vov1, relay_minutes="1500"))
    assert _error_of(too_long.text, "relay_minutes") == "Thời lượng tiếp âm từ 1 giây đến 24 giờ"
    not_number = editor.post("/schedule/new", data=_relay_form(editor, vov1, relay_minutes="ba"))
    assert _error_of(not_number.text, "relay_minutes") == "Thời lượng tiếp âm là số phút, ví dụ 30"
    emergency = editor.post("/schedule/new", data=_relay_form(editor, vov1, priority="emergency"))
    assert emergency.status_code == 422
    assert _error_of(emergency.text, "priority") == "Tin khẩn cấp không phát bằng tiếp âm"
    # The refused form comes back as typed, still a relay of VOV1.
    assert re.search(r'value="relay" checked', emergency.text)
    assert re.search(rf'<option value="{vov1}" selected>', emergency.text)
    listed = editor.get("/api/v1/broadcasts", headers=make_user(Role.editor, "082")).json()["items"]
    assert not [b for b in listed if b["kind"] == "relay"]


def test_the_relay_sources_page_links_to_the_form_with_its_source(
    login: Login, engine: Engine
) -> None:
    vov1 = _source(engine, "10", "VOV1")
    editor = login("bientap.batxat")
    listed = editor.get("/relays").text
    link = f'href="/schedule/new?relay_source_id={vov1}"'
    assert link in listed and "Lên lịch tiếp âm" in listed
    assert link not in login("vanhanh.yty").get("/relays").text  # operators do not schedule
    form = html.unescape(login("bientap.batxat").get(f"/schedule/new?relay_source_id={vov1}").text)
    assert re.search(r'value="relay" checked', form)
    assert re.search(rf'<option value="{vov1}" selected>', form)
    assert 'name="relay_minutes" type="text" value="30"' in form
    assert "Tiếp âm VOV1 trong 30 phút mỗi lượt" in form  # the preview


def test_a_district_neither_sees_nor_relays_another_districts_source(
    login: Login, engine: Engine
) -> None:
    other = _source(engine, "083", "Đài huyện bên cạnh")
    editor = login("bientap.batxat")
    assert "Đài huyện bên cạnh" not in html.unescape(editor.get("/schedule/new").text)
    refused = editor.post("/schedule/new", data=_relay_form(editor, other))
    assert refused.status_code == 422
    assert _error_of(refused.text, "relay_source_id") == f"Không tìm thấy nguồn tiếp âm {other}"


def test_a_relay_is_scheduled_by_clicking_through_the_form(
    live_server: LiveServer, chromium: Browser, engine: Engine
) -> None:
    _source(engine, "10", "VOV1")
    page = phone(chromium, live_server.base_url, 360)
    sign_in(page, "bientap.batxat")
    page.goto("/relays")
    page.click("a:has-text('Lên lịch tiếp âm')")
    page.wait_for_url(re.compile(r"/schedule/new\?relay_source_id="))
    assert not page.locator("#f-bulletin_ids").is_visible()  # a relay airs no bulletins
    page.fill("#f-relay_minutes", "45")
    page.fill("#f-when", "lúc 6:00")
    page.fill("#f-first_day", DAY.strftime("%d/%m/%Y"))
    page.fill("#f-until", "")
    page.locator("#preview-relay", has_text="Tiếp âm VOV1 trong 45 phút mỗi lượt").wait_for()
    readable(page)
    page.select_option("#f-area_codes", ["02680"])
    page.click("button:has-text('Lên lịch')")
    page.wait_for_url(re.compile(r"/broadcasts/\d+"))
    assert page.locator("#relay", has_text="Tiếp âm VOV1 trong 45 phút mỗi lượt").count() == 1
    readable(page)


def _scheduled_relay(editor: TestClient, engine: Engine) -> str:
    vov1 = _source(engine, "10", "VOV1")
    saved = editor.post(
        "/schedule/new",
        data=_relay_form(editor, vov1, until=(DAY + timedelta(days=3)).strftime("%d/%m/%Y")),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    return saved.headers["location"].split("/broadcasts/", 1)[1].split("?", 1)[0]


def test_a_relays_airings_are_edited_moved_and_cancelled_from_its_page(
    login: Login, engine: Engine, make_user: UserFactory
) -> None:
    editor = login("bientap.batxat")
    relay = _scheduled_relay(editor, engine)
    page = html.unescape(editor.get(f"/broadcasts/{relay}").text)
    assert "Thời lượng tiếp âm mới mỗi lượt, theo phút (để trống nếu giữ nguyên 30 phút)" in page
    assert 'name="bulletin_ids"' not in page  # a relay airs no bulletins
    token = csrf_of(page)

    # Airing 3 moves to 6:30 and lasts 45 minutes: a new relay of the same stream.
    edited = editor.post(
        f"/broadcasts/{relay}/edit",
        data={
            "csrf_token": token,
            "scope": "this",
            "seq": "3",
            "air_day": (DAY + timedelta(days=2)).strftime("%d/%m/%Y"),
            "air_time": "6:30",
            "relay_minutes": "45",
        },
    )
    assert f"Đã sửa lịch phát #{relay}: lượt 3 được thay bằng lịch phát #" in unquote(edited.text)
    assert "Tiếp âm VOV1 trong 45 phút mỗi lượt" in html.unescape(edited.text)
    headers = make_user(Role.editor, "082")
    new = editor.get(
        str(edited.url).replace("/broadcasts/", "/api/v1/broadcasts/"), headers=headers
    )
    shown = new.json()
    assert (shown["kind"], shown["duration_seconds"]) == ("relay", 2700)
    assert [o["air_at"][11:16] for o in shown["occurrences"]] == ["23:30"]
    assert shown["occurrences"][0]["expires_at"][11:16] == "00:15"  # the 45 minutes' end

    bad = editor.post(f"/broadcasts/{relay}/edit", data={"csrf_token": token, "relay_minutes": "0"})
    assert "Thời lượng tiếp âm từ 1 giây đến 24 giờ" in html.unescape(unquote(bad.text))

    # One airing moved, one cancelled, then the rest.
    moved = editor.post(
        f"/broadcasts/{relay}/airings/2/move",
        data={
            "csrf_token": token,
            "air_day": (DAY + timedelta(days=1)).strftime("%d/%m/%Y"),
            "air_time": "7:00",
        },
    )
    assert f"Đã đổi lượt 2 sang 07:00 {DAY + timedelta(days=1):%d/%m/%Y}" in unquote(moved.text)
    cancelled = editor.post(f"/broadcasts/{relay}/airings/1/cancel", data={"csrf_token": token})
    assert "Đã hủy lượt 1" in unquote(cancelled.text)
    done = editor.post(f"/broadcasts/{relay}/cancel", data={"csrf_token": token})
    assert "Đã hủy lịch phát" in unquote(done.text)
    states = editor.get(f"/api/v1/broadcasts/{relay}", headers=headers).json()["occurrences"]
    assert {o["state"] for o in states} == {"cancelled"}
