"""The console's language reviewers: an administrator names a H'Mông reviewer on the area's
page; the reviewer finds the version under "Cần tôi duyệt", sends it back, then approves it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from broadcast.people.models import Role
from tests.audio import tone_recording
from tests.console.conftest import Login, csrf_of
from tests.console.test_template_pages import vietnamese
from tests.utils import UserFactory


def test_a_hmong_reviewer_signs_off_the_hmong_version(
    client: TestClient, login: Login, make_user: UserFactory, tmp_path: Path
) -> None:
    editor = make_user(Role.editor, "082", "bientap.hmong")
    approver = make_user(Role.approver, "082", "duyet.hmong")
    make_user(Role.editor, "082", "nguoiduyet.hmong")

    web = login("admin")
    area = web.get("/areas/082")
    assert area.status_code == 200
    assert "Người duyệt theo ngôn ngữ" in vietnamese(area.text)
    bad = web.post(
        "/areas/082/language-reviewers",
        data={"csrf_token": csrf_of(area.text), "lang-hmn": "vanhanh.yty"},
    )
    assert bad.status_code == 422
    assert "không được duyệt ngôn ngữ" in vietnamese(bad.text)
    saved = web.post(
        "/areas/082/language-reviewers",
        data={"csrf_token": csrf_of(area.text), "lang-hmn": "nguoiduyet.hmong", "lang-vi": ""},
        follow_redirects=True,
    )
    shown = vietnamese(saved.text)
    assert "Đã lưu người duyệt theo ngôn ngữ" in shown and "nguoiduyet.hmong" in shown
    # Communes below inherit the district's reviewer.
    assert "(thừa hưởng)" in vietnamese(web.get("/areas/02680").text)

    made = client.post(
        "/api/v1/bulletins",
        json={"title": "Phòng chống cháy rừng", "area_code": "02680"},
        headers=editor,
    )
    bid = made.json()["id"]
    with tone_recording(tmp_path / "hmn.mp3", 900).open("rb") as handle:
        client.post(
            f"/api/v1/bulletins/{bid}/translations/hmn/recording",
            files={"file": ("hmn.mp3", handle, "audio/mpeg")},
            headers=editor,
        )
    client.post(f"/api/v1/bulletins/{bid}/submit", headers=editor)
    assert client.post(f"/api/v1/bulletins/{bid}/approve", headers=approver).status_code == 200

    web = login("nguoiduyet.hmong")
    home = web.get("/")
    assert "Cần tôi duyệt (1)" in vietnamese(home.text)
    assert f'href="/bulletins/{bid}?lang=hmn"' in home.text
    page = web.get(f"/bulletins/{bid}?lang=hmn")
    text = vietnamese(page.text)
    assert "Chờ duyệt ngôn ngữ" in text and "Trả lại người dịch" in text
    url = f"/bulletins/{bid}/language-review/hmn"
    noteless = web.post(
        url, data={"csrf_token": csrf_of(page.text), "decision": "changes_requested"}
    )
    assert noteless.status_code == 422
    assert "cần ghi chú" in vietnamese(noteless.text)
    back = web.post(
        url,
        data={
            "csrf_token": csrf_of(page.text),
            "decision": "changes_requested",
            "note": "Đọc sai tên thôn",
        },
        follow_redirects=True,
    )
    text = vietnamese(back.text)
    assert "Đã trả lại bản" in text and "Đọc sai tên thôn" in text
    ok = web.post(
        url, data={"csrf_token": csrf_of(page.text), "decision": "approved"}, follow_redirects=True
    )
    text = vietnamese(ok.text)
    assert "Đã duyệt ngôn ngữ: nguoiduyet.hmong" in text
    assert "Cần tôi duyệt" not in vietnamese(web.get("/").text)

    # The editor who made the version sees who signed it off, and no review buttons.
    web = login("bientap.batxat")
    page = web.get(f"/bulletins/{bid}?lang=hmn")
    assert "Đã duyệt ngôn ngữ: nguoiduyet.hmong" in vietnamese(page.text)
    assert 'id="language-review"' not in page.text
