"""Schemathesis against our own OpenAPI document: no operation answers with a server error.

Each operation of /openapi.json is one test on a fresh copy of a database that holds
the demo province (`seed_demo`, as the `demo` fixture seeds it), a global administrator
and an editor of the district Bát Xát. Schemathesis sends its deterministic boundary
cases (valid and invalid values at every bound the document gives) as the
administrator, who reaches every object, and a few generated requests as both callers;
every answer must be below 500. The seed is fixed and generation deterministic, so a run
is reproducible; nothing leaves the process (the app is called in process, speech is
offline).

Every route is exercised, the streaming media downloads included: a random sha256 or
language gives a 404 at once, which is all a fuzzer can reach there.

The database is SQLite, where an integer beyond 64 bits fails in the driver. One app
serves every operation (building it takes longer than a whole operation's requests);
each test gives it a fresh engine. LOA_TEST_FUZZ_EXAMPLES=100 (and another
LOA_TEST_FUZZ_SEED) explores much further, in minutes instead of seconds.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI

from api.main import create_app
from broadcast.core.db import make_engine, transaction
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo
from broadcast.people.models import Role
from broadcast.people.service import create_user, issue_access_token
from stations.areas import Scope
from tests.utils import TEST_PASSWORD, TEST_SECRET, Headers, free_port

SEED = int(os.environ.get("LOA_TEST_FUZZ_SEED", "20261201"))
MAX_EXAMPLES = int(os.environ.get("LOA_TEST_FUZZ_EXAMPLES", "5"))

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {
            "mode": "all",  # valid and invalid requests
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",  # nothing written under .hypothesis/, nothing replayed
        },
        "phases": {
            "examples": {"enabled": False},  # the document has no examples of its own
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "analysis": {"constants": {"enabled": False}},
        "cache": {"enabled": False},
    }
)

# The document only: this app is never called, and never opens its database.
schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(Settings(env="test", secret_key=TEST_SECRET, database_url="sqlite://")),
    config=CONFIG,
)

# /readyz answers 503 by design when the broker cannot be reached (no broker runs here).
EXPECTED_503 = {"GET /readyz"}


@dataclass
class World:
    """The app under test, the seeded database each test copies, and the callers."""

    app: FastAPI
    template: Path
    callers: dict[str, Headers]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> World:
    folder = tmp_path_factory.mktemp("fuzz")
    template = folder / "seeded.db"
    shutil.copyfile(sqlite_template, template)
    engine = make_engine(f"sqlite:///{template}")
    tokens: dict[str, Headers] = {}
    with transaction(engine) as ses:
        seed_demo(session=ses, admin_username="admin", admin_password=TEST_PASSWORD)
        for name, role, area in (
            ("fuzz.admin", Role.admin, None),
            ("fuzz.editor", Role.editor, "082"),
        ):
            user = create_user(
                session=ses,
                username=name,
                password=TEST_PASSWORD,
                role=role,
                area_code=area,
                scope=Scope.everything(),
            )
            ses.flush()
            token = issue_access_token(user=user, secret_key=TEST_SECRET, minutes=60)
            tokens[role.value] = {"Authorization": f"Bearer {token}"}
    engine.dispose()
    settings = Settings(
        env="test",
        secret_key=TEST_SECRET,
        database_url=f"sqlite:///{template}",
        media_dir=folder / "media",
        tts_online=False,
        mqtt_embedded_port=free_port(),
        demo_credentials_file=folder / "demo-admin.txt",
    )
    return World(app=create_app(settings), template=template, callers=tokens)


@pytest.fixture
def app(world: World, tmp_path: Path) -> Iterator[FastAPI]:
    """The app on a fresh copy of the seeded database."""
    path = tmp_path / "loa.db"
    shutil.copyfile(world.template, path)
    engine = make_engine(f"sqlite:///{path}")
    world.app.state.engine = engine
    yield world.app
    engine.dispose()


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    suppress_health_check=[
        hypothesis.HealthCheck.function_scoped_fixture,
        hypothesis.HealthCheck.too_slow,
        hypothesis.HealthCheck.filter_too_much,
        hypothesis.HealthCheck.data_too_large,
    ],
)
def test_no_operation_answers_with_a_server_error(
    case: schemathesis.Case, app: FastAPI, world: World
) -> None:
    label = f"{case.method.upper()} {case.operation.path}"
    coverage = case.meta is not None and case.meta.phase.name == "coverage"
    for role, headers in world.callers.items():
        if coverage and role != "admin":
            continue
        try:
            response = case.call(app=app, headers=headers)
        except Exception as exc:  # the app raised: a real client gets a 500
            raise AssertionError(
                f"{label} as {role} raised {exc!r}\n{case.as_curl_command(headers=headers)}"
            ) from exc
        if label in EXPECTED_503 and response.status_code == 503:
            continue
        assert response.status_code < 500, (
            f"{label} as {role} answered {response.status_code}: {response.text[:300]}\n"
            f"{case.as_curl_command(headers=headers)}"
        )
