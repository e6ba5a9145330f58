"""Campaigns through REST v1: writing, validation, who sees and changes what, bulletins in
them, and progress as JSON."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from broadcast.core.settings import Settings
from broadcast.people.models import Role
from tests.campaigns.scenario import air_the_campaign
from tests.utils import Headers, UserFactory

PLAN = {
    "name": "Toàn dân tham gia bảo vệ chủ quyền lãnh thổ, an ninh biên giới quốc gia",
    "legal_basis": "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023",
    "starts_on": "2031-03-01",
    "ends_on": "2031-12-31",
    "themes": [
        {"code": "phap-luat", "name": "Chủ trương, chính sách, pháp luật về biên giới"},
        {"code": "guong-tot", "name": "Gương người tốt, việc tốt"},
    ],
    "targets": [{"area_code": "10", "border_only": True}],
    "min_airings_per_week": 2,
    "min_minutes_per_theme_per_month": 10,
}


@pytest.fixture
def people(make_user: UserFactory, demo: dict[str, str]) -> dict[str, Headers]:
    """Editors of the province and of two districts, and an operator."""
    return {
        "province": make_user(Role.editor, "10"),
        "batxat": make_user(Role.editor, "082"),
        "muongkhuong": make_user(Role.editor, "083"),
        "operator": make_user(Role.operator, "02680"),
    }


def _create(client: TestClient, headers: Headers, **changes: object) -> dict[str, object]:
    answer = client.post("/api/v1/campaigns", json={**PLAN, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_an_editor_creates_the_provinces_campaign_and_everyone_below_reads_it(
    client: TestClient, people: dict[str, Headers]
) -> None:
    created = _create(client, people["province"])
    assert created["area_code"] == "10"  # the author's home area
    assert [t["code"] for t in created["themes"]] == ["phap-luat", "guong-tot"]  # type: ignore[index]
    assert created["targets"] == [
        {"area_code": "10", "area_name": "Tỉnh Lào Cai", "border_only": True}
    ]
    assert created["languages"] is None  # every language each station airs
    for who in ("batxat", "muongkhuong", "operator"):
        listed = client.get("/api/v1/campaigns", headers=people[who]).json()
        assert [c["id"] for c in listed] == [created["id"]], who
    # A district's own campaign is not the other district's business.
    own = _create(client, people["batxat"], targets=[{"area_code": "02680"}])
    assert own["area_code"] == "082"
    assert (
        client.get(f"/api/v1/campaigns/{own['id']}", headers=people["muongkhuong"]).status_code
        == 404
    )
    assert (
        client.get(f"/api/v1/campaigns/{own['id']}", headers=people["province"]).status_code == 200
    )
    running = client.get("/api/v1/campaigns?active_on=2030-01-01", headers=people["province"])
    assert running.json() == []


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"ends_on": "2031-02-01"}, 422, "campaign.period_reversed"),
        ({"ends_on": "2033-01-01"}, 422, "campaign.period_too_long"),
        (
            {"themes": [{"code": "a", "name": "A"}, {"code": "a", "name": "B"}]},
            422,
            "campaign.theme_twice",
        ),
        ({"targets": [{"area_code": "083"}, {"area_code": "083"}]}, 422, "campaign.target_twice"),
        ({"languages": ["xyz"]}, 422, "campaign.language_unknown"),
        ({"area_code": "083", "targets": [{"area_code": "02680"}]}, 422, "campaign.target_outside"),
        ({"targets": [{"area_code": "99999"}]}, 404, "area.not_found"),
        ({"min_airings_per_week": -1}, 422, None),
        ({"name": "   "}, 422, "campaign.name_required"),
        ({"colour": "đỏ"}, 422, None),
    ],
)
def test_bad_campaigns_are_refused_with_a_reason(
    client: TestClient,
    people: dict[str, Headers],
    changes: dict[str, object],
    status: int,
    code: str | None,
) -> None:
    answer = client.post("/api/v1/campaigns", json={**PLAN, **changes}, headers=people["province"])
    assert answer.status_code == status, answer.text
    if code is not None:
        assert answer.json()["reason"] == code
    assert client.get("/api/v1/campaigns", headers=people["province"]).json() == []


def test_only_editors_of_the_owner_area_change_a_campaign(
    client: TestClient, people: dict[str, Headers]
) -> None:
    created = _create(client, people["province"])
    url = f"/api/v1/campaigns/{created['id']}"
    assert (
        client.post("/api/v1/campaigns", json=PLAN, headers=people["operator"]).status_code == 403
    )
    below = client.patch(url, json={"name": "Khác"}, headers=people["batxat"])
    assert below.status_code == 403 and below.json()["reason"] == "campaign.outside_area"
    themes = created["themes"]
    assert isinstance(themes, list)
    changed = client.patch(
        url,
        json={
            "themes": [
                {"code": "guong-tot", "name": "Gương người tốt, việc tốt"},
                {"code": "phap-luat", "name": "Pháp luật"},
                {"code": "giao-luu", "name": "Giao lưu với nước bạn"},
            ],
            "min_airings_per_week": None,
            "languages": ["vi"],
        },
        headers=people["province"],
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert [t["code"] for t in after["themes"]] == ["guong-tot", "phap-luat", "giao-luu"]
    # Kept themes keep their ids (and so their bulletins).
    assert {t["code"]: t["id"] for t in after["themes"][:2]} == {t["code"]: t["id"] for t in themes}
    assert after["min_airings_per_week"] is None and after["min_minutes_per_theme_per_month"] == 10
    assert after["languages"] == ["vi"] and after["name"] == PLAN["name"]


def test_bulletins_belong_to_a_campaign_and_a_theme_and_are_listed_by_them(
    client: TestClient, people: dict[str, Headers]
) -> None:
    campaign = _create(client, people["province"])
    themes = {t["code"]: t["id"] for t in campaign["themes"]}  # type: ignore[union-attr]

    def write(headers: Headers, **fields: object) -> tuple[int, dict[str, object]]:
        body = {"title": "Luật Biên giới quốc gia", "area_code": "02680", **fields}
        answer = client.post("/api/v1/bulletins", json=body, headers=headers)
        return answer.status_code, answer.json()

    status, law = write(
        people["batxat"], campaign_id=campaign["id"], theme_id=themes["phap-luat"],
        campaign="Biên giới 2031",
    )  # fmt: skip
    assert status == 201, law
    assert (law["campaign_id"], law["theme_id"], law["campaign"]) == (
        campaign["id"], themes["phap-luat"], "Biên giới 2031",
    )  # fmt: skip
    status, people_good = write(people["batxat"], campaign_id=campaign["id"])
    assert status == 201 and people_good["theme_id"] is None
    status, plain = write(people["batxat"])
    assert status == 201 and plain["campaign_id"] is None

    other = _create(
        client,
        people["batxat"],
        targets=[{"area_code": "02680"}],
        themes=[{"code": "x", "name": "Khác"}],
    )
    status, wrong = write(
        people["batxat"], campaign_id=campaign["id"], theme_id=other["themes"][0]["id"]
    )  # type: ignore[index]
    assert status == 422 and wrong["reason"] == "campaign.theme_not_in_campaign"
    status, away = write(people["muongkhuong"], campaign_id=other["id"], area_code="02743")
    assert status == 422 and away["reason"] == "campaign.not_for_area"

    def listed(query: str) -> list[int]:
        page = client.get(f"/api/v1/bulletins?{query}", headers=people["province"]).json()
        return [b["id"] for b in page["items"]]

    assert listed(f"campaign_id={campaign['id']}") == [people_good["id"], law["id"]]
    assert listed(f"theme_id={themes['phap-luat']}") == [law["id"]]
    assert listed("campaign=Biên giới 2031") == [law["id"]]  # the tag filter as before

    # Taking a bulletin out of its theme, then a theme with bulletins cannot be dropped.
    moved = client.patch(
        f"/api/v1/bulletins/{law['id']}", json={"theme_id": None}, headers=people["batxat"]
    )
    assert moved.status_code == 200 and moved.json()["theme_id"] is None
    assert moved.json()["campaign_id"] == campaign["id"]
    back = client.patch(
        f"/api/v1/bulletins/{law['id']}",
        json={"theme_id": themes["guong-tot"]},
        headers=people["batxat"],
    )
    assert back.status_code == 200 and back.json()["theme_id"] == themes["guong-tot"]
    dropped = client.patch(
        f"/api/v1/campaigns/{campaign['id']}",
        json={"themes": [{"code": "phap-luat", "name": "Pháp luật"}]},
        headers=people["province"],
    )
    assert dropped.status_code == 409 and dropped.json()["reason"] == "campaign.theme_in_use"


def test_progress_as_json_shows_who_is_behind_and_in_which_language(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    people: dict[str, Headers],
) -> None:
    aired = air_the_campaign(client, engine, settings, people["province"])
    url = f"/api/v1/campaigns/{aired.campaign_id}/progress"
    answer = client.get(url, headers=people["province"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["first_day"], body["last_day"], body["elapsed_days"]) == (
        "2031-03-01",
        "2031-03-02",
        2,
    )
    assert (body["communes"], body["behind"]) == (3, 2)
    first = body["items"][0]
    assert (first["code"], first["behind"], first["behind_languages"]) == (
        "02659",
        True,
        ["vi", "hmn", "ium"],
    )
    dao = next(lang for lang in first["languages"] if lang["language"] == "ium")
    assert (dao["aired"], dao["no_version"], dao["target_airings"], dao["behind"]) == (
        0,
        1,
        0.6,
        True,
    )
    vi = next(lang for lang in first["languages"] if lang["language"] == "vi")
    assert (vi["planned"], vi["aired"], vi["late"], vi["minutes_aired"]) == (2, 1, 1, 1.0)

    mine = client.get(url, headers=people["muongkhuong"]).json()
    assert [c["code"] for c in mine["items"]] == ["02743"]
    batxat = client.get(
        f"{url}?area_code=082&from=2031-03-02&to=2031-03-02", headers=people["province"]
    ).json()
    assert sorted(c["code"] for c in batxat["items"]) == ["02659", "02680"]
    assert batxat["elapsed_days"] == 1
    reversed_ = client.get(f"{url}?from=2031-03-05&to=2031-03-02", headers=people["province"])
    assert reversed_.status_code == 422
    assert (
        client.get("/api/v1/campaigns/999/progress", headers=people["province"]).status_code == 404
    )
    assert client.get(url).status_code == 401
