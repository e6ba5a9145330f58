"""Border communes on the area tree, campaigns with themes and targets, bulletins in them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import Bulletin
from broadcast.bulletins.service import create_bulletin, update_bulletin
from broadcast.campaigns.service import NewTarget, NewTheme, create_campaign, view_of
from broadcast.core.db import transaction
from broadcast.people.models import User
from broadcast.people.service import Principal
from stations.areas import import_areas
from stations.errors import InvalidInputError
from stations.models import Area
from tests.utils import Headers


def _principal(ses: Session, username: str = "admin") -> Principal:
    """A signed-in user, as the services take them."""
    user = ses.exec(select(User).where(User.username == username)).one()
    area = ses.get(Area, user.area_id) if user.area_id else None
    return Principal(user=user, area=area)


def test_the_demo_flags_its_border_communes(
    client: TestClient, admin_headers: Headers, demo: dict[str, str]
) -> None:
    communes = client.get("/api/v1/areas?level=commune", headers=admin_headers).json()["items"]
    assert {a["code"]: a["border"] for a in communes} == {
        "02680": True,
        "02659": True,
        "02743": True,
        "02800": False,
    }


def test_an_administrator_flags_a_commune_as_on_the_border(
    client: TestClient, admin_headers: Headers
) -> None:
    for body in (
        {"code": "10", "name": "Tỉnh Lào Cai", "level": "province"},
        {"code": "082", "name": "Huyện Bát Xát", "level": "district", "parent_code": "10"},
        {
            "code": "02680",
            "name": "Xã Y Tý",
            "level": "commune",
            "parent_code": "082",
            "border": True,
        },
    ):
        assert client.post("/api/v1/areas", json=body, headers=admin_headers).status_code == 201
    assert client.get("/api/v1/areas/02680", headers=admin_headers).json()["border"] is True
    assert client.get("/api/v1/areas/082", headers=admin_headers).json()["border"] is False
    changed = client.patch("/api/v1/areas/02680", json={"border": False}, headers=admin_headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["border"] is False
    refused = client.patch("/api/v1/areas/02680", json={"border": "hơi"}, headers=admin_headers)
    assert refused.status_code == 422


def test_the_area_import_reads_an_optional_border_column(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"code": "10", "name": "Tỉnh Lào Cai", "level": "province", "parent_code": ""},
        {
            "code": "02680",
            "name": "Xã Y Tý",
            "level": "commune",
            "parent_code": "10",
            "border": "1",
        },
        {
            "code": "02800",
            "name": "Xã Bắc Hà",
            "level": "commune",
            "parent_code": "10",
            "border": "",
        },
    ]
    with transaction(engine) as ses:
        assert import_areas(session=ses, rows=rows).created == 3
    # An old file without the column leaves the flags as they are.
    old = [{k: v for k, v in r.items() if k != "border"} for r in rows]
    with transaction(engine) as ses:
        assert import_areas(session=ses, rows=old).unchanged == 3
        flags = {a.code: a.border for a in ses.exec(select(Area)).all()}
    assert flags == {"10": False, "02680": True, "02800": False}
    with transaction(engine) as ses:
        assert import_areas(session=ses, rows=[{**rows[1], "border": "0"}]).updated == 1
    with pytest.raises(InvalidInputError) as bad, transaction(engine) as ses:
        import_areas(session=ses, rows=[{**rows[2], "border": "có lẽ"}])
    assert bad.value.code == "area_import.bad_border"


def test_a_campaign_keeps_its_themes_in_order_and_links_bulletins_of_its_areas(
    engine: Engine, demo: dict[str, str]
) -> None:
    with transaction(engine) as ses:
        admin = _principal(ses)
        campaign = create_campaign(
            session=ses,
            principal=admin,
            name="Biên giới 2023",
            legal_basis="Kế hoạch số 90/KH-BCĐ ngày 15/02/2023",
            starts_on=date(2023, 3, 1),
            ends_on=date(2023, 12, 31),
            area_code="082",
            themes=[NewTheme("phap-luat", "Pháp luật"), NewTheme("giao-luu", "Giao lưu")],
            targets=[NewTarget("082", border_only=True)],
            min_airings_per_week=2,
        )
        view = view_of(session=ses, campaign=campaign, area=ses.get(Area, campaign.area_id))
        assert [t.code for t in view.themes] == ["phap-luat", "giao-luu"]
        assert [(a.code, t.border_only) for t, a in view.targets] == [("082", True)]
        other = create_campaign(
            session=ses,
            principal=admin,
            name="Chiến dịch khác",
            starts_on=date(2023, 1, 1),
            ends_on=date(2023, 2, 1),
            area_code="083",
            themes=[NewTheme("khac", "Khác")],
        )
        first_theme, other_theme = (
            view.themes[0].id,
            view_of(session=ses, campaign=other, area=ses.get(Area, other.area_id)).themes[0].id,
        )
        ids = (campaign.id, other.id)

    def write(area_code: str, campaign_id: int | None, theme_id: int | None) -> str | None:
        try:
            with transaction(engine) as ses:
                create_bulletin(
                    session=ses,
                    principal=_principal(ses),
                    title="Luật Biên giới quốc gia",
                    area_code=area_code,
                    campaign_id=campaign_id,
                    theme_id=theme_id,
                )
        except InvalidInputError as exc:
            return exc.code
        return None

    assert write("02680", ids[0], first_theme) is None  # a commune of the campaign's district
    assert write("10", ids[0], None) is None  # the province above it
    assert write("02743", ids[0], first_theme) == "campaign.not_for_area"  # another district
    assert write("02680", ids[0], other_theme) == "campaign.theme_not_in_campaign"
    assert write("02680", None, first_theme) == "campaign.theme_without_campaign"

    with transaction(engine) as ses:
        bulletin = ses.exec(select(Bulletin).where(Bulletin.theme_id == first_theme)).one()
        # Another campaign drops the theme; none reaching Y Tý is refused.
        with pytest.raises(InvalidInputError):
            update_bulletin(
                session=ses, principal=_principal(ses), bulletin=bulletin, campaign_id=ids[1]
            )
        update_bulletin(session=ses, principal=_principal(ses), bulletin=bulletin, theme_id=None)
        assert (bulletin.campaign_id, bulletin.theme_id) == (ids[0], None)
