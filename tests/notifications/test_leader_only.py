"""Digests and alerts are the leader's work: a standing-by worker writes and sends nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from broadcast.core.settings import Settings
from broadcast.notifications.models import Digest
from broadcast.people.models import Role
from broadcast.runtime.leader import Leadership
from broadcast.runtime.worker import Worker
from tests.campaigns.scenario import air_the_campaign
from tests.notifications.test_digests import DIGEST_AT
from tests.utils import UserFactory


def test_only_the_leading_worker_writes_the_digests(
    client: TestClient,
    engine: Engine,
    settings: Settings,
    mail_settings: Settings,
    make_user: UserFactory,
    demo: dict[str, str],
) -> None:
    air_the_campaign(client, engine, settings, make_user(Role.editor, "10"))
    url = mail_settings.database_url
    leader = Worker(engine, mail_settings, ingest=False, leadership=Leadership(url, name="a"))
    standby = Worker(engine, mail_settings, ingest=False, leadership=Leadership(url, name="b"))
    try:
        assert leader.leads()
        assert standby.notification_round(DIGEST_AT) is None
        with Session(engine) as ses:
            assert ses.exec(select(func.count()).select_from(Digest)).one() == 0
        report = leader.notification_round(DIGEST_AT)
        assert report is not None and report.digests >= 2
    finally:
        leader.leadership.release()  # type: ignore[union-attr]
        standby.leadership.release()  # type: ignore[union-attr]
