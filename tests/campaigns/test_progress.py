"""A campaign's progress per commune, theme and language, checked against the as-run record."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.campaigns.progress import CampaignProgress, campaign_progress
from broadcast.campaigns.service import get_campaign, view_of
from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.people.models import Role
from stations.areas import Scope
from stations.models import Area
from tests.broadcasts.test_broadcast_listing import counted
from tests.campaigns.scenario import (
    NOW,
    T0,
    Aired,
    air_the_campaign,
    campaign_bulletin,
    new_campaign,
    schedule,
)
from tests.utils import Headers, UserFactory

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def editor(make_user: UserFactory, demo: dict[str, str]) -> Headers:
    """An editor of the province."""
    return make_user(Role.editor, "10")


@pytest.fixture
def aired(client: TestClient, engine: Engine, settings: Settings, editor: Headers) -> Aired:
    """The scenario of tests/campaigns/scenario.py."""
    return air_the_campaign(client, engine, settings, editor)


def _progress(engine: Engine, campaign_id: int, scope: Scope, **kw: object) -> CampaignProgress:
    with Session(engine) as ses:
        campaign, area = get_campaign(session=ses, scope=scope, campaign_id=campaign_id)
        view = view_of(session=ses, campaign=campaign, area=area)
        return campaign_progress(
            session=ses,
            scope=scope,
            view=view,
            zone=ZONE,
            now=NOW,
            **kw,  # type: ignore[arg-type]
        )


def test_progress_counts_what_aired_per_commune_theme_and_language(
    engine: Engine, aired: Aired
) -> None:
    progress = _progress(engine, aired.campaign_id, Scope.everything())
    assert (progress.first_day, progress.last_day, progress.elapsed_days) == (
        date(2031, 3, 1), date(2031, 3, 2), 2,
    )  # fmt: skip
    # Border communes only (Bắc Hà is not on the border); those behind come first.
    assert [c.code for c in progress.communes] == ["02659", "02743", "02680"]
    communes = {c.code: c for c in progress.communes}
    yty, amu, pha = communes["02680"], communes["02659"], communes["02743"]

    vi = yty.languages["vi"].figures
    assert (vi.planned, vi.aired, vi.on_time, vi.late, vi.missed) == (3, 2, 2, 0, 1)
    assert yty.languages["vi"].target_airings == 0.6  # 2 a week, 2 days
    law = yty.themes[("phap-luat", "hmn")]
    assert (law.figures.aired, law.figures.minutes_aired, law.target_minutes) == (1, 0.5, 0.5)
    assert yty.themes[("giao-luu", "vi")].figures.minutes_aired == 1.0
    assert not yty.behind and yty.behind_languages == []

    # A Mú Sung aired late, and nothing in Dao: behind in Dao, and on the exchanges theme.
    vi = amu.languages["vi"].figures
    assert (vi.planned, vi.aired, vi.on_time, vi.late, vi.missed) == (2, 1, 0, 1, 1)
    dao = amu.languages["ium"]
    assert (dao.figures.aired, dao.figures.no_version, dao.figures.missed) == (0, 1, 1)
    assert dao.behind and amu.behind
    assert amu.themes[("giao-luu", "vi")].figures.planned == 0
    assert amu.themes[("giao-luu", "vi")].behind
    assert amu.behind_languages == ["vi", "hmn", "ium"]

    # Pha Long is legacy: the operator's confirmation is its as-run record.
    law = pha.themes[("phap-luat", "vi")].figures
    assert (law.planned, law.aired, law.on_time, law.minutes_aired) == (2, 1, 1, 1.0)
    assert pha.behind and not pha.themes[("phap-luat", "vi")].behind


def test_progress_keeps_to_the_callers_area_and_the_area_asked_for(
    engine: Engine, aired: Aired
) -> None:
    with Session(engine) as ses:
        district = ses.exec(select(Area).where(Area.code == "083")).one()
    mine = _progress(engine, aired.campaign_id, Scope.of(district))
    assert [c.code for c in mine.communes] == ["02743"]
    batxat = _progress(engine, aired.campaign_id, Scope.everything(), area_code="082")
    assert sorted(c.code for c in batxat.communes) == ["02659", "02680"]
    one_day = _progress(
        engine, aired.campaign_id, Scope.everything(), first=date(2031, 3, 2), last=date(2031, 3, 2)
    )
    vi = {c.code: c for c in one_day.communes}["02680"].languages["vi"].figures
    assert (vi.planned, vi.aired, vi.missed) == (1, 0, 1)


def test_progress_runs_the_same_statements_for_ten_times_the_airings(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers
) -> None:
    campaign_id, themes = new_campaign(engine)
    law = campaign_bulletin(
        engine, "Luật Biên phòng", {"vi": 60_000}, campaign_id, themes["phap-luat"]
    )
    statements: dict[int, int] = {}
    made = 0
    for total in (2, 20):
        for n in range(made, total):
            schedule(
                client,
                editor,
                {
                    "bulletin_ids": [law],
                    "area_codes": ["082", "02743"],
                    "starts_at": (T0 + timedelta(minutes=n)).isoformat(),
                    "rrule": "FREQ=DAILY;COUNT=3",
                },
            )
        made = total
        dispatch_due(
            engine=engine,
            settings=settings,
            builder=default_programme_builder,
            now=T0 + timedelta(hours=1),
        )
        with counted(engine) as seen:
            progress = _progress(engine, campaign_id, Scope.everything())
        statements[total] = len(seen)
        yty = {c.code: c for c in progress.communes}["02680"]
        assert yty.languages["vi"].figures.planned == 2 * total  # 1 and 2 March
    assert statements[2] == statements[20], statements
