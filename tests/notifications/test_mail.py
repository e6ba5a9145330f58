"""Users' e-mail addresses, and the outbox sent over SMTP with retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from broadcast.core.db import make_engine, transaction
from broadcast.core.settings import Settings
from broadcast.notifications.mail import MailSender, enqueue_mail
from broadcast.notifications.models import EmailMessage
from broadcast.people.models import Role, User
from tests.notifications.conftest import Mailbox
from tests.utils import Headers, free_port

NOW = datetime(2031, 3, 3, 0, 0, tzinfo=UTC)


def test_cli_creates_a_user_with_an_email(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("LOA_DATABASE_URL", url)
    monkeypatch.setenv("LOA_MEDIA_DIR", str(tmp_path / "media"))
    result = CliRunner().invoke(
        app,
        ["user", "create", "--username", "root", "--password", "mat-khau-123", "--role",
         "admin", "--email", "quantri@laocai.example"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with Session(engine) as ses:
        assert ses.exec(select(User.email).where(User.username == "root")).one() == (
            "quantri@laocai.example"
        )
    engine.dispose()


def test_rest_refuses_what_is_not_an_address_and_removes_one(
    client: TestClient, admin_headers: Headers, demo: dict[str, str]
) -> None:
    created = client.post(
        "/api/v1/users",
        json={"username": "bientap3", "password": "mat-khau-123", "role": "editor",
              "area_code": "082", "email": "bientap3@laocai.example"},
        headers=admin_headers,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "bientap3@laocai.example"
    user_id = created.json()["id"]
    bad = client.patch(f"/api/v1/users/{user_id}", json={"email": "bientap3"},
                       headers=admin_headers)  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["reason"] == "user.bad_email"
    removed = client.patch(f"/api/v1/users/{user_id}", json={"email": ""}, headers=admin_headers)
    assert removed.json()["email"] is None


def _queue(engine: Engine, settings: Settings, addresses: list[str]) -> None:
    with transaction(engine) as ses:
        users = [
            User(username=f"u{i}", password_hash="x", role=Role.editor, email=address)
            for i, address in enumerate(addresses)
        ]
        ses.add_all(users)
        ses.flush()
        assert enqueue_mail(
            session=ses, settings=settings, users=users, subject="Thông báo thử", body="Nội dung"
        ) == len(addresses)


def _states(engine: Engine) -> dict[str, tuple[str, int]]:
    with Session(engine) as ses:
        rows = ses.exec(select(EmailMessage)).all()
        return {r.to_address: (str(r.state), r.attempts) for r in rows}


def test_a_relay_that_is_down_is_tried_again_after_the_wait(
    engine: Engine, mail_settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    down = mail_settings.model_copy(update={"smtp_port": free_port(), "smtp_retry_seconds": [60]})
    _queue(engine, down, ["a@laocai.example", "b@laocai.example"])
    report = MailSender(engine, down).send_due(NOW)
    assert (report.attempted, report.retrying) == (2, 2)
    assert _states(engine)["a@laocai.example"] == ("pending", 1)
    # Not again before the wait, even with the relay back.
    up = down.model_copy(update={"smtp_port": port})
    assert MailSender(engine, up).send_due(NOW + timedelta(seconds=59)).attempted == 0
    report = MailSender(engine, up).send_due(NOW + timedelta(seconds=60))
    assert report.sent == 2
    assert sorted(m["To"] for m in mailbox.received) == ["a@laocai.example", "b@laocai.example"]
    assert mailbox.received[0]["Subject"] == "Thông báo thử"
    assert mailbox.received[0].get_content().strip() == "Nội dung"


def test_nothing_is_queued_without_a_relay(engine: Engine, settings: Settings) -> None:
    with transaction(engine) as ses:
        user = User(username="u", password_hash="x", role=Role.editor, email="u@laocai.example")
        ses.add(user)
        assert (
            enqueue_mail(session=ses, settings=settings, users=[user], subject="s", body="b") == 0
        )
    assert _states(engine) == {}
