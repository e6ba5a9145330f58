"""A request's changes are committed before its answer goes out.

A client that gets `201 Created` and asks again at once must find what it created, and
work started after the answer (waking the audio renderer) must see it too. The app is
called over raw ASGI: at the moment the answer starts, another database connection
counts what is committed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import Engine, func, select

from api.main import create_app
from broadcast.bulletins.models import Bulletin
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from tests.utils import UserFactory


def _committed_bulletins(engine: Engine) -> int:
    with engine.connect() as connection:  # its own connection: sees committed rows only
        return int(connection.execute(select(func.count()).select_from(Bulletin)).scalar_one())


def test_a_created_bulletin_is_committed_when_the_answer_starts(
    settings: Settings, engine: Engine, demo: dict[str, str], make_user: UserFactory
) -> None:
    app = create_app(settings, engine=engine)
    editor = make_user(Role.editor, "082")
    body = json.dumps(
        {"title": "Họp thôn", "translations": [{"language": "vi", "text": "Mời bà con họp."}]}
    ).encode()
    headers = [
        (b"host", b"loa.test"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", editor["Authorization"].encode()),
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/bulletins",
        "raw_path": b"/api/v1/bulletins",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("loa.test", 80),
    }
    answer: list[tuple[int, int]] = []  # (status, bulletins committed) when the answer starts

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.append((message["status"], _committed_bulletins(engine)))

    asyncio.run(app(scope, receive, send))
    assert answer == [(201, 1)]
