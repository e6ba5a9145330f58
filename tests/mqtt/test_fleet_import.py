"""A province's receivers registered from one CSV file log in to the brokers with the
credentials handed back; a file with any bad line writes nothing and names each line."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app as cli_app
from api.main import create_app
from broadcast.broker.mosquitto import sync_files
from broadcast.core.settings import Settings
from broadcast.people.models import Role
from stations.models import Receiver, Station
from stations.mqtt import BrokerAddress
from stations.security import DEVICE_HASH_PREFIX, hash_secret, verify_secret
from tests.mqtt.conftest import Mosquitto, World
from tests.mqtt.test_broker_security import Device, connect
from tests.utils import UserFactory

HEADER = "area_code,station_name,station_kind,languages,receiver_name,location,latitude,longitude"
COMMUNES = ("02680", "02659", "02800")


def fleet_csv(per_commune: int, *, station: str = "Đài mới") -> str:
    lines = [HEADER]
    for code in COMMUNES:
        for n in range(1, per_commune + 1):
            lines.append(f"{code},{station} {code},ip,vi hmn,Cụm loa {n},Thôn {n},22.5,103.9")
    return "\n".join(lines) + "\n"


def credentials(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def api(mqtt_settings: Settings, engine: Engine, world: World) -> Iterator[TestClient]:
    with TestClient(create_app(mqtt_settings, engine=engine)) as client:
        yield client


@pytest.fixture
def devices() -> Iterator[list[Device]]:
    opened: list[Device] = []
    yield opened
    for device in opened:
        device.close()


def post_csv(client: TestClient, headers: dict[str, str], text: str, **extra: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/receivers/bulk",
        content=text.encode(),
        headers={**headers, "Content-Type": "text/csv", **extra},
    )


def receiver_count(engine: Engine) -> int:
    with Session(engine) as ses:
        return int(ses.exec(select(func.count()).select_from(Receiver)).one())


def test_bulk_receivers_log_in_to_the_embedded_broker(
    api: TestClient,
    engine: Engine,
    embedded_broker: BrokerAddress,
    make_user: UserFactory,
    devices: list[Device],
) -> None:
    admin = make_user(Role.admin, "10")
    before = receiver_count(engine)
    answer = post_csv(api, admin, fleet_csv(10))
    assert answer.status_code == 201, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["stations_created"] == 3 and body["receivers_created"] == 30
    logins = credentials(body["credentials_csv"])
    assert len(logins) == 30 and receiver_count(engine) == before + 30
    assert {row["area_code"] for row in logins} == set(COMMUNES)
    # The new stations show in the listing with their receivers.
    listed = api.get(
        "/api/v1/receivers", params={"area_code": "02659", "limit": 100}, headers=admin
    )
    names = {r["name"] for r in listed.json()["items"]}
    assert {f"Cụm loa {n}" for n in range(1, 11)} <= names
    # Passwords are kept hashed only.
    with Session(engine) as ses:
        stored = ses.get(Receiver, logins[0]["receiver_id"])
        assert stored is not None
        assert logins[0]["mqtt_password"] not in stored.secret_hash
        assert verify_secret(logins[0]["mqtt_password"], stored.secret_hash)
    # Each receiver logs in with its own credentials; a wrong password is refused.
    for row in logins[:5]:
        device = connect(
            embedded_broker,
            row["mqtt_username"],
            row["mqtt_password"],
            client_id=row["receiver_id"],
        )
        devices.append(device)
        assert device.accepted, row["receiver_id"]
    wrong = connect(
        embedded_broker,
        logins[5]["mqtt_username"],
        logins[6]["mqtt_password"],
        client_id=logins[5]["receiver_id"],
        reconnect=False,
    )
    devices.append(wrong)
    assert not wrong.accepted


def test_bulk_receivers_log_in_to_mosquitto_after_sync(
    api: TestClient,
    engine: Engine,
    mqtt_settings: Settings,
    mosquitto: Mosquitto,
    make_user: UserFactory,
    devices: list[Device],
) -> None:
    answer = post_csv(api, make_user(Role.admin), fleet_csv(4), Accept="text/csv")
    assert answer.status_code == 201
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["x-loa-receivers-created"] == "12"
    logins = credentials(answer.text)
    report = sync_files(engine=engine, settings=mqtt_settings, directory=mosquitto.directory)
    assert report.receivers == receiver_count(engine)
    # The password file holds the hashes stored at registration: nothing is hashed again.
    lines = set((mosquitto.directory / "passwords").read_text().splitlines())
    with Session(engine) as ses:
        for row in logins:
            stored = ses.get(Receiver, row["receiver_id"])
            assert stored is not None and stored.mqtt_hash is not None
            assert stored.mqtt_hash.startswith("$7$")
            assert f"{row['receiver_id']}:{stored.mqtt_hash}" in lines
    mosquitto.restart()
    device = connect(
        mosquitto.address,
        logins[0]["mqtt_username"],
        logins[0]["mqtt_password"],
        client_id=logins[0]["receiver_id"],
    )
    devices.append(device)
    assert device.accepted


def test_every_bad_line_is_reported_and_nothing_is_written(
    api: TestClient, engine: Engine, make_user: UserFactory
) -> None:
    text = "\n".join(
        [
            HEADER,
            "02680,Đài mới,ip,vi,Cụm loa 1,,22.5,103.9",  # line 2: fine
            "99999,Đài lạ,ip,vi,Cụm loa 1,,,",  # line 3: no such area
            "02680,Đài mới,radio,vi,Cụm loa 2,,,",  # line 4: bad kind
            "02680,Đài mới,ip,vi,Cụm loa 3,,95,103",  # line 5: bad latitude
            "02680,Đài mới,ip,vi xx,Cụm loa 4,,,",  # line 6: unknown language
            "02680,Đài mới,ip,vi,Cụm loa 1,,,",  # line 7: same receiver twice
            "082,Đài huyện,ip,vi,Cụm loa 1,,,",  # line 8: a district
            ",Đài mới,ip,vi,Cụm loa 5,,,",  # line 9: no area
        ]
    )
    before = receiver_count(engine)
    answer = post_csv(api, make_user(Role.admin), text)
    assert answer.status_code == 422
    body = answer.json()
    assert body["reason"] == "fleet_import.invalid"
    found = {(e["line"], e["column"]) for e in body["errors"]}
    assert found == {
        (3, "area_code"),
        (4, "station_kind"),
        (5, "latitude"),
        (6, "languages"),
        (7, "receiver_name"),
        (8, "area_code"),
        (9, "area_code"),
    }
    assert "line 3" in body["detail"]
    assert receiver_count(engine) == before
    with Session(engine) as ses:
        assert ses.exec(select(Station).where(Station.name == "Đài mới")).first() is None


def test_bad_header_and_non_utf8_are_refused(api: TestClient, make_user: UserFactory) -> None:
    admin = make_user(Role.admin)
    answer = post_csv(api, admin, "area,station\n02680,Đài\n")
    assert answer.status_code == 422
    assert answer.json()["reason"] == "fleet_import.bad_header"
    assert "station_name" in answer.json()["detail"]
    latin1 = api.post(
        "/api/v1/receivers/bulk",
        content=f"{HEADER}\n02680,Đài\n".encode("utf-16"),
        headers={**admin, "Content-Type": "text/csv"},
    )
    assert latin1.status_code == 422 and latin1.json()["reason"] == "fleet_import.not_text"


def test_areas_outside_the_callers_scope_are_refused(
    api: TestClient, engine: Engine, make_user: UserFactory
) -> None:
    # An admin of district Bát Xát may register in Y Tý, not in Bắc Hà (under the province).
    district = make_user(Role.admin, "082")
    before = receiver_count(engine)
    text = f"{HEADER}\n02680,Đài mới,ip,vi,Cụm loa 1,,,\n02800,Đài mới,ip,vi,Cụm loa 1,,,\n"
    answer = post_csv(api, district, text)
    assert answer.status_code == 422
    assert [(e["line"], e["column"]) for e in answer.json()["errors"]] == [(3, "area_code")]
    assert "02800" in answer.json()["errors"][0]["message"]
    assert receiver_count(engine) == before
    # Within its scope it works; an editor may not register receivers at all.
    ok = post_csv(api, district, f"{HEADER}\n02680,Đài mới,ip,vi,Cụm loa 1,,,\n")
    assert ok.status_code == 201 and ok.json()["receivers_created"] == 1
    editor = post_csv(api, make_user(Role.editor, "10"), text)
    assert editor.status_code == 403
    assert api.post("/api/v1/receivers/bulk", content=text.encode()).status_code == 401


def test_importing_the_same_file_twice_is_refused(
    api: TestClient, engine: Engine, make_user: UserFactory
) -> None:
    admin = make_user(Role.admin)
    text = fleet_csv(3)
    assert post_csv(api, admin, text).status_code == 201
    count = receiver_count(engine)
    again = post_csv(api, admin, text)
    assert again.status_code == 422
    errors = again.json()["errors"]
    assert len(errors) == 9 and {e["column"] for e in errors} == {"receiver_name"}
    assert "already" in errors[0]["message"]
    assert receiver_count(engine) == count
    # More receivers for a station that exists: its stored kind is kept, new names only.
    more = post_csv(api, admin, f"{HEADER}\n02680,Đài mới 02680,,,Cụm loa 9,,,\n")
    assert more.status_code == 201
    assert more.json()["stations_created"] == 0 and more.json()["stations_reused"] == 1
    clash = post_csv(api, admin, f"{HEADER}\n02680,Đài mới 02680,legacy,,Cụm loa 10,,,\n")
    assert clash.status_code == 422
    assert clash.json()["errors"][0]["column"] == "station_kind"


def test_given_receiver_ids_must_be_new(
    api: TestClient, engine: Engine, make_user: UserFactory, world: World
) -> None:
    admin = make_user(Role.admin)
    taken = next(iter(world.receivers))
    text = (
        "area_code,station_name,receiver_name,receiver_id\n"
        f"02680,Đài mới,Cụm 1,{taken}\n"
        "02680,Đài mới,Cụm 2,rx-cum-2\n"
        "02680,Đài mới,Cụm 3,rx-cum-2\n"
        "02680,Đài mới,Cụm 4,loa-server\n"
    )
    answer = post_csv(api, admin, text)
    assert answer.status_code == 422
    assert [(e["line"], e["column"]) for e in answer.json()["errors"]] == [
        (2, "receiver_id"),
        (4, "receiver_id"),
        (5, "receiver_id"),
    ]


def test_old_argon2_receiver_hashes_still_verify() -> None:
    secret = "a-receiver-secret-registered-before-the-change"
    old = hash_secret(secret)
    assert old.startswith("$argon2")
    assert verify_secret(secret, old) and not verify_secret(secret + "x", old)
    assert not verify_secret(secret, DEVICE_HASH_PREFIX + "garbage")


def test_cli_import_writes_credentials_once(
    engine: Engine,
    mqtt_settings: Settings,
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOA_DATABASE_URL", mqtt_settings.database_url)
    monkeypatch.setenv("LOA_ENV", "development")
    runner = CliRunner()
    source = tmp_path / "tinh.csv"
    source.write_text(fleet_csv(5), encoding="utf-8")
    out = tmp_path / "logins.csv"
    result = runner.invoke(cli_app, ["stations", "import", str(source), "--credentials", str(out)])
    assert result.exit_code == 0, result.output
    assert "15 receivers created" in result.output
    logins = credentials(out.read_text())
    assert len(logins) == 15 and oct(out.stat().st_mode & 0o777) == "0o600"
    # The same file again: every line refused, by line, and the credentials file is kept.
    again = runner.invoke(
        cli_app, ["stations", "import", str(source), "--credentials", str(tmp_path / "b.csv")]
    )
    assert again.exit_code == 1
    assert f"{source}:2, receiver_name:" in again.output
    assert "15 problem(s), nothing was imported" in again.output
    assert not (tmp_path / "b.csv").exists()
    # To standard output when no file is named.
    extra = tmp_path / "them.csv"
    extra.write_text(f"{HEADER}\n02800,Đài khác,ip,vi tyz,Cụm loa chợ mới,,,\n", encoding="utf-8")
    shown = runner.invoke(cli_app, ["stations", "import", str(extra)])
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("receiver_id,mqtt_username,mqtt_password")
