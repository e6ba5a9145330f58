"""A small campaign aired through the real dispatch, ingestor and confirmations."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.bulletins.models import AudioState, Bulletin, BulletinStatus, Translation
from broadcast.bulletins.service import approval_hash
from broadcast.campaigns.models import CampaignTheme
from broadcast.campaigns.service import NewTarget, NewTheme, create_campaign
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.delivery.deadlines import apply_deadlines
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.delivery.ingest import AckIngestor
from broadcast.people.models import User
from broadcast.people.service import Principal
from stations.models import Area, Receiver, Station
from stations.mqtt import Message
from stations.protocol import Topics
from tests.utils import Headers

T0 = datetime(2031, 3, 1, 6, 0, tzinfo=UTC) - timedelta(hours=7)  # 06:00 on 1 March, Hà Nội
VI_MS, HMN_MS = 60_000, 30_000
# Two days of the campaign have gone by when the figures are read.
NOW = T0 + timedelta(days=1, hours=12)


def admin(ses: Session) -> Principal:
    """The demo's global administrator, as the services take them."""
    return Principal(user=ses.exec(select(User).where(User.username == "admin")).one(), area=None)


def new_campaign(engine: Engine, **targets: int | None) -> tuple[int, dict[str, int]]:
    """The province's border campaign for March 2031; returns its id and theme ids."""
    with transaction(engine) as ses:
        campaign = create_campaign(
            session=ses,
            principal=admin(ses),
            name="Toàn dân bảo vệ chủ quyền lãnh thổ, an ninh biên giới quốc gia",
            legal_basis="Kế hoạch số 90/KH-BCĐ ngày 15/02/2023",
            starts_on=date(2031, 3, 1),
            ends_on=date(2031, 3, 31),
            area_code="10",
            themes=[NewTheme("phap-luat", "Pháp luật"), NewTheme("giao-luu", "Giao lưu")],
            targets=[NewTarget("10", border_only=True)],
            min_airings_per_week=targets.get("airings", 2),
            min_minutes_per_theme_per_month=targets.get("minutes", 7),
        )
        themes = ses.exec(
            select(CampaignTheme).where(CampaignTheme.campaign_id == campaign.id)
        ).all()
        return campaign.id or 0, {t.code: t.id or 0 for t in themes}


def campaign_bulletin(
    engine: Engine, title: str, languages: dict[str, int], campaign_id: int, theme_id: int
) -> int:
    """An approved province bulletin of the campaign with rendered versions {language: ms}."""
    with transaction(engine) as ses:
        author = ses.exec(select(User).where(User.username == "admin")).one()
        province = ses.exec(select(Area).where(Area.code == "10")).one()
        bulletin = Bulletin(
            title=title,
            status=BulletinStatus.approved,
            author_id=author.id or 0,
            area_id=province.id or 0,
            reviewed_at=T0 - timedelta(days=1),
            campaign_id=campaign_id,
            theme_id=theme_id,
        )
        ses.add(bulletin)
        ses.flush()
        versions = [
            Translation(
                bulletin_id=bulletin.id or 0,
                language=lang,
                text=f"{title} ({lang})",
                content_hash=f"{lang}-{title}",
                audio_state=AudioState.ready,
                audio_sha256=hashlib.sha256(f"{lang}{bulletin.id}".encode()).hexdigest(),
                audio_bytes=1000,
                audio_duration_ms=ms,
            )
            for lang, ms in languages.items()
        ]
        ses.add_all(versions)
        bulletin.approval_hash = approval_hash(versions)
        ses.add(bulletin)
        return bulletin.id or 0


def schedule(client: TestClient, headers: Headers, body: dict[str, object]) -> int:
    """A broadcast through REST; its id."""
    answer = client.post("/api/v1/broadcasts", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def _ack(topics: Topics, rid: str, ref: str, state: str, at: datetime) -> Message:
    body = {"broadcast_id": ref, "state": state, "at": at.isoformat()}
    return Message(topics.ack(rid), json.dumps(body).encode(), 1, False)


def receivers(engine: Engine, area_code: str) -> list[str]:
    """Receiver ids of the commune's station."""
    with Session(engine) as ses:
        return sorted(
            r.id
            for r in ses.exec(
                select(Receiver).join(Station).join(Area).where(Area.code == area_code)
            ).all()
        )


@dataclass(frozen=True)
class Aired:
    """The campaign of the scenario and its themes."""

    campaign_id: int
    themes: dict[str, int]


def air_the_campaign(
    client: TestClient, engine: Engine, settings: Settings, editor: Headers
) -> Aired:
    """Law (vi 60 s, hmn 30 s) to Bát Xát and Pha Long on 1 and 2 March: on 1 March Y Tý
    airs it on time, A Mú Sung (which also airs Dao) late, Pha Long (legacy) is confirmed
    on time; 2 March is missed everywhere. Exchanges (vi, hmn) air on time in Y Tý only."""
    campaign_id, themes = new_campaign(engine)
    law = campaign_bulletin(
        engine, "Luật Biên giới quốc gia", {"vi": VI_MS, "hmn": HMN_MS}, campaign_id,
        themes["phap-luat"],
    )  # fmt: skip
    exchange = campaign_bulletin(
        engine, "Giao lưu hữu nghị", {"vi": VI_MS, "hmn": HMN_MS}, campaign_id, themes["giao-luu"]
    )
    topics = Topics(settings.mqtt_topic_prefix)
    first = schedule(
        client,
        editor,
        {
            "bulletin_ids": [law],
            "area_codes": ["082", "02743"],
            "starts_at": T0.isoformat(),
            "rrule": "FREQ=DAILY;COUNT=2",
        },
    )
    second = schedule(
        client,
        editor,
        {
            "bulletin_ids": [exchange],
            "area_codes": ["02680"],
            "starts_at": (T0 + timedelta(hours=2)).isoformat(),
        },
    )
    for due in (T0, T0 + timedelta(hours=2)):
        dispatch_due(
            engine=engine,
            settings=settings,
            builder=default_programme_builder,
            now=due - timedelta(minutes=20),
        )
    length = timedelta(milliseconds=VI_MS + settings.programme_gap_ms + HMN_MS)
    yty, amu = receivers(engine, "02680"), receivers(engine, "02659")
    later = T0 + timedelta(hours=2)
    AckIngestor(engine, topics).process(
        [
            _ack(topics, yty[0], f"{first}.1", "started", T0 + timedelta(minutes=1)),
            _ack(topics, yty[0], f"{first}.1", "completed", T0 + timedelta(minutes=1) + length),
            _ack(topics, amu[0], f"{first}.1", "completed", T0 + timedelta(minutes=8) + length),
            _ack(topics, amu[1], f"{first}.1", "failed", T0),
            _ack(topics, yty[1], f"{second}.1", "started", later),
            _ack(topics, yty[1], f"{second}.1", "completed", later + length),
        ]
    )
    with Session(engine) as ses:
        pha_long = ses.exec(select(Station).join(Area).where(Area.code == "02743")).one()
    client.app.state.clock = lambda: T0 + timedelta(minutes=30)  # type: ignore[attr-defined]
    confirmed = client.post(
        f"/api/v1/broadcasts/{first}/confirmations",
        json={"station_id": pha_long.id, "aired_at": (T0 + timedelta(minutes=2)).isoformat()},
        headers=editor,
    )
    assert confirmed.status_code == 201, confirmed.text
    apply_deadlines(engine=engine, settings=settings, now=T0 + timedelta(hours=3))
    tomorrow = T0 + timedelta(days=1)
    dispatch_due(
        engine=engine,
        settings=settings,
        builder=default_programme_builder,
        now=tomorrow - timedelta(minutes=20),
    )
    apply_deadlines(engine=engine, settings=settings, now=tomorrow + timedelta(minutes=30))
    client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
    return Aired(campaign_id, themes)
