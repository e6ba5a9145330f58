"""The demo province carries the seed plan's campaign, its four themes and border communes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from api.cli import app
from broadcast.campaigns.models import Campaign
from broadcast.core.db import make_engine, transaction
from broadcast.demo import seed_demo_campaign
from stations.timeutil import utcnow
from tests.utils import Headers


def test_the_demo_campaign_is_the_seed_plan_with_its_four_lines(
    client: TestClient, engine: Engine, admin_headers: Headers, demo: dict[str, str]
) -> None:
    today = date(2031, 3, 10)
    with transaction(engine) as ses:
        first = seed_demo_campaign(session=ses, today=today).id
    with transaction(engine) as ses:
        assert seed_demo_campaign(session=ses, today=today).id == first  # once
    (campaign,) = client.get("/api/v1/campaigns", headers=admin_headers).json()
    assert (
        "Toàn dân tham gia bảo vệ chủ quyền lãnh thổ, an ninh biên giới quốc gia"
        in campaign["name"]
    )
    assert "Kế hoạch số 90/KH-BCĐ ngày 15/02/2023" in campaign["legal_basis"]
    assert (campaign["starts_on"], campaign["ends_on"]) == ("2031-01-01", "2031-12-31")
    assert [t["code"] for t in campaign["themes"]] == [
        "chu-truong-phap-luat", "guong-dien-hinh", "quan-ly-bien-gioi", "giao-luu-nuoc-ban",
    ]  # fmt: skip
    assert campaign["targets"] == [
        {"area_code": "10", "area_name": "Tỉnh Lào Cai", "border_only": True}
    ]
    bulletins = client.get(
        f"/api/v1/bulletins?campaign_id={campaign['id']}", headers=admin_headers
    ).json()["items"]
    themes = {t["id"]: t["code"] for t in campaign["themes"]}
    assert sorted(themes[b["theme_id"]] for b in bulletins) == [
        "chu-truong-phap-luat", "quan-ly-bien-gioi",
    ]  # fmt: skip
    client.app.state.clock = lambda: datetime(2031, 3, 10, 5, 0, tzinfo=UTC)  # type: ignore[attr-defined]
    progress = client.get(
        f"/api/v1/campaigns/{campaign['id']}/progress", headers=admin_headers
    ).json()
    # The border communes of the demo; nothing aired yet, so all are behind.
    assert sorted(c["code"] for c in progress["items"]) == ["02659", "02680", "02743"]
    assert progress["behind"] == 3


def test_loa_demo_seeds_the_campaign_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LOA_DATABASE_URL", url)
    monkeypatch.setenv("LOA_DEMO_CREDENTIALS_FILE", str(tmp_path / "demo-admin.txt"))
    monkeypatch.setenv("LOA_MEDIA_DIR", str(tmp_path / "media"))
    runner = CliRunner()
    for _ in range(2):
        assert runner.invoke(app, ["demo"]).exit_code == 0
    engine = make_engine(url)
    with Session(engine) as ses:
        assert ses.exec(select(func.count()).select_from(Campaign)).one() == 1
        campaign = ses.exec(select(Campaign)).one()
        assert campaign.starts_on.year == utcnow().astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).year
    engine.dispose()
    assert json.loads((tmp_path / "demo-admin.txt").read_text(encoding="utf-8"))["username"]
