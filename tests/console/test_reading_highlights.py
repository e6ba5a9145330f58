"""The bulletin page highlights what is read differently from what is written, and an
editor gives a better reading in one step."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.console.conftest import Login, csrf_of


def _marks(html: str) -> dict[str, str]:
    """Highlighted spans: what was written -> how it is read."""
    found = re.findall(r'<mark class="rewritten"[^>]*data-written="([^"]*)">([^<]*)</mark>', html)
    return dict(found)


def _write(client: TestClient, text: str) -> str:
    form = client.get("/bulletins/new")
    created = client.post(
        "/bulletins/new",
        data={
            "title": "Họp dân thôn Lao Chải",
            "priority": "normal",
            "text": text,
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    return created.headers["location"].split("?")[0]


def test_rewritten_words_are_highlighted_and_a_reading_is_added_from_there(
    login: Login,
) -> None:
    client = login("bientap.batxat")
    url = _write(client, "Đồng chí Giàng A Páo, TBCTMT xã Y Tý phát biểu lúc 7h30.")
    page = client.get(url)
    assert _marks(page.text) == {
        "TBCTMT": "tê bê xê tê mờ tê",
        "7h30": "bảy giờ ba mươi phút",
    }
    assert "2 chỗ được đọc khác chữ viết" in page.text
    form = page.text.split('id="add-reading"')[1].split("</form>")[0]
    assert '<option value="TBCTMT">TBCTMT</option>' in form

    empty = client.post(
        f"{url}/lexicon",
        data={"term": "TBCTMT", "reading": " ", "csrf_token": csrf_of(page.text)},
    )
    assert empty.status_code == 422 and "Cách đọc không được để trống" in empty.text
    saved = client.post(
        f"{url}/lexicon",
        data={
            "term": "TBCTMT",
            "reading": "Trưởng ban Công tác Mặt trận",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert saved.status_code == 200
    assert "Đã lưu cách đọc “TBCTMT” cho Huyện Bát Xát" in saved.text
    # The page now reads the term as the area said, still shown as a rewrite of it.
    assert _marks(saved.text)["TBCTMT"] == "Trưởng ban Công tác Mặt trận"
    twice = client.post(
        f"{url}/lexicon",
        data={"term": "TBCTMT", "reading": "khác", "csrf_token": csrf_of(saved.text)},
    )
    assert twice.status_code == 422 and "đã có cách đọc" in twice.text
    # The approver hears and reads it, but the area's lexicon is the editors'.
    approver = login("duyet.batxat")
    shown = approver.get(url)
    assert shown.status_code == 200 and 'id="add-reading"' not in shown.text
