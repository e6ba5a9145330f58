"""Shared fixtures: a migrated database per test, settings, the app client, users by role.

Set LOA_TEST_DATABASE_URL=postgresql+psycopg://... to run the database tests against
PostgreSQL as well (`.ci/run` starts a throwaway cluster and does so).
"""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlmodel import Session

from broadcast.core.db import make_engine, transaction, upgrade
from broadcast.core.settings import Settings
from broadcast.demo import seed_demo
from broadcast.people.models import Role
from broadcast.people.service import create_user, issue_access_token
from stations.areas import Scope
from tts import Synthesizer

warnings.filterwarnings("ignore", message=".*httpx2.*")

from fastapi.testclient import TestClient  # noqa: E402 - after the warning filter

from api.main import create_app  # noqa: E402
from tests.utils import TEST_PASSWORD, TEST_SECRET, Headers, UserFactory, free_port  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with minimal cost: the tests create hundreds of users and receivers."""
    from argon2 import PasswordHasher

    from stations import security

    saved = security.HASHER
    security.HASHER = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    security.HASHER = saved


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str | None]:
    """A PostgreSQL database migrated once and used as a template, when configured."""
    url = os.environ.get("LOA_TEST_DATABASE_URL")
    if not url:
        yield None
        return
    admin = make_engine(url)
    name = f"loa_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    template_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    upgrade(template_url)
    yield name
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(
    tmp_path: Path, sqlite_template: Path, postgres_template: str | None
) -> Iterator[str]:
    """A fresh, migrated database for one test (SQLite, or PostgreSQL when configured)."""
    if postgres_template is None:
        path = tmp_path / "loa.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    base = os.environ["LOA_TEST_DATABASE_URL"]
    admin = make_engine(base)
    name = f"loa_t_{uuid.uuid4().hex[:10]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Test settings: a real secret, a temporary media folder, a free broker port."""
    return Settings(
        env="test",
        secret_key=TEST_SECRET,
        database_url=database_url,
        media_dir=tmp_path / "media",
        mqtt_embedded_port=free_port(),
        demo_credentials_file=tmp_path / "demo-admin.txt",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The engine of this test's database."""
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on this test's database (commit explicitly to make data visible)."""
    with Session(engine, expire_on_commit=False) as ses:
        yield ses


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The whole application, in process."""
    with TestClient(create_app(settings, engine=engine)) as test_client:
        yield test_client


@pytest.fixture
def demo(engine: Engine) -> dict[str, str]:
    """The demo province (areas, stations, receivers, users); returns receiver passwords."""
    with transaction(engine) as ses:
        result = seed_demo(session=ses, admin_username="admin", admin_password=TEST_PASSWORD)
    return result.receivers


@pytest.fixture
def make_user(engine: Engine, settings: Settings) -> UserFactory:
    """Create a user with `role` in `area_code` and return their Authorization header."""
    counter = iter(range(1, 10_000))

    def _make(
        role: Role | str, area_code: str | None = None, username: str | None = None
    ) -> Headers:
        name = username or f"{Role(role).value}-{area_code or 'all'}-{next(counter)}"
        with transaction(engine) as ses:
            user = create_user(
                session=ses,
                username=name,
                password=TEST_PASSWORD,
                role=Role(role),
                area_code=area_code,
                scope=Scope.everything(),
            )
        token = issue_access_token(user=user, secret_key=settings.secret_key, minutes=60)
        return {"Authorization": f"Bearer {token}"}

    return _make


@pytest.fixture
def admin_headers(make_user: UserFactory) -> Headers:
    """A global administrator."""
    return make_user(Role.admin)


@pytest.fixture(scope="session")
def offline_speech(tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    """The service's synthesizer, offline engines only (eSpeak NG), one cache for the run."""
    from tests.audio import offline_synthesizer

    return offline_synthesizer(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def bulletin_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second recording (an mp3 tone made by ffmpeg), as an editor would upload it."""
    from tests.audio import tone_recording

    return tone_recording(tmp_path_factory.mktemp("recording") / "ban-tin.mp3")
