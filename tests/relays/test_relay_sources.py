"""Relay sources over REST: scoped to the caller's area, written by editors; relay
broadcasts scheduled like any broadcast, with their own checks."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from broadcast.people.models import AuditEvent, Role
from broadcast.schedule.models import Occurrence
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.utils import UserFactory

SOURCES = "/api/v1/relay-sources"
VOV1 = {"area_code": "10", "name": "VOV1", "url": "https://stream.vov.vn/vov1.aac"}


def test_editors_keep_the_relay_sources_of_their_area_and_everyone_below_reads_them(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    province = make_user(Role.editor, "10")
    district = make_user(Role.editor, "082")
    other_district = make_user(Role.editor, "083")
    operator = make_user(Role.operator, "02680")

    assert client.post(SOURCES, json=VOV1, headers=operator).status_code == 403
    assert client.post(SOURCES, json=VOV1, headers=district).status_code == 404  # above it
    created = client.post(SOURCES, json=VOV1, headers=province)
    assert created.status_code == 201, created.text
    vov1 = created.json()
    assert (vov1["name"], vov1["area_code"], vov1["area_name"]) == ("VOV1", "10", "Tỉnh Lào Cai")
    local = client.post(
        SOURCES,
        json={"area_code": "082", "name": "Đài huyện Bát Xát", "url": "http://bx.example/live"},
        headers=district,
    ).json()

    # A commune's operator sees the province's and its district's sources; the other
    # district sees only the province's.
    listed = client.get(SOURCES, headers=operator).json()
    assert [s["name"] for s in listed] == ["VOV1", "Đài huyện Bát Xát"]
    assert [s["name"] for s in client.get(SOURCES, headers=other_district).json()] == ["VOV1"]
    assert client.get(f"{SOURCES}/{local['id']}", headers=other_district).status_code == 404

    # Only the owner area's editors change or remove a source.
    renamed = {"name": "VOV1 - Thời sự"}
    assert (
        client.patch(f"{SOURCES}/{vov1['id']}", json=renamed, headers=district).status_code == 404
    )
    changed = client.patch(f"{SOURCES}/{vov1['id']}", json=renamed, headers=province)
    assert changed.status_code == 200 and changed.json()["name"] == "VOV1 - Thời sự"

    twice = client.post(SOURCES, json=VOV1 | {"name": "VOV1 - Thời sự"}, headers=province)
    assert twice.status_code == 409 and twice.json()["reason"] == "relay.name_taken"
    bad = client.post(SOURCES, json=VOV1 | {"url": "rtsp://vov.vn/x"}, headers=province)
    assert bad.status_code == 422 and bad.json()["reason"] == "relay.bad_url"

    assert client.delete(f"{SOURCES}/{local['id']}", headers=district).status_code == 204
    assert client.get(f"{SOURCES}/{local['id']}", headers=district).status_code == 404
    with Session(engine) as ses:
        actions = ses.exec(
            select(AuditEvent.action).where(AuditEvent.object_type == "relay_source")
        ).all()
    assert actions == ["relay_source.create", "relay_source.create", "relay_source.update"] + [
        "relay_source.delete"
    ]


def test_a_relay_is_a_broadcast_of_its_own_kind(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    province = make_user(Role.editor, "10")
    commune = make_user(Role.editor, "02680")
    source = client.post(SOURCES, json=VOV1, headers=province).json()
    body = {
        "area_codes": ["02680"],
        "title": "Tiếp âm thời sự VOV1",
        "starts_at": "2031-03-01T18:00:00+07:00",
        "rrule": "FREQ=DAILY;COUNT=3",
        "relay_source_id": source["id"],
        "duration_seconds": 1800,
    }
    created = client.post("/api/v1/broadcasts", json=body, headers=commune)
    assert created.status_code == 201, created.text
    relay = created.json()
    assert relay["kind"] == "relay" and relay["bulletin_ids"] == []
    assert (relay["relay_source_id"], relay["duration_seconds"]) == (source["id"], 1800)
    assert relay["occurrence_count"] == 3
    with Session(engine) as ses:
        airings = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == relay["id"])).all()
    # Each airing expires when its window ends: a receiver that gets it late airs the rest.
    assert {(o.expires_at - o.air_at).total_seconds() for o in airings} == {1800}
    # In use: the source stays.
    kept = client.delete(f"{SOURCES}/{source['id']}", headers=province)
    assert kept.status_code == 409 and kept.json()["reason"] == "relay.source_in_use"

    def refused(change: dict[str, object]) -> str:
        answer = client.post("/api/v1/broadcasts", json=body | change, headers=commune)
        assert answer.status_code in (404, 422), answer.text
        return str(answer.json()["reason"])

    assert refused({"duration_seconds": None}) == "relay.incomplete"
    assert refused({"bulletin_ids": [1]}) == "relay.with_bulletins"
    assert refused({"duration_seconds": 0}) == "request.invalid"
    assert refused({"priority": "emergency"}) == "relay.emergency"
    assert refused({"relay_source_id": 99999}) == "relay.source_not_found"
    # A bulletin broadcast still needs bulletins.
    plain = {"area_codes": ["02680"], "starts_at": "2031-03-01T18:00:00+07:00"}
    assert refused(plain | {"relay_source_id": None, "duration_seconds": None}) == (
        "broadcast.no_bulletin"
    )


def test_a_relays_length_is_edited_over_rest(
    client: TestClient, engine: Engine, make_user: UserFactory, demo: dict[str, str]
) -> None:
    province = make_user(Role.editor, "10")
    commune = make_user(Role.editor, "02680")
    source = client.post(SOURCES, json=VOV1, headers=province).json()
    relay = client.post(
        "/api/v1/broadcasts",
        json={
            "area_codes": ["02680"],
            "starts_at": "2031-03-01T06:00:00+07:00",
            "rrule": "FREQ=DAILY;COUNT=3",
            "relay_source_id": source["id"],
            "duration_seconds": 1800,
        },
        headers=commune,
    ).json()
    edited = client.patch(
        f"/api/v1/broadcasts/{relay['id']}",
        json={"scope": "following", "seq": 2, "duration_seconds": 2700},
        headers=commune,
    )
    assert edited.status_code == 200, edited.text
    new = edited.json()
    assert (new["kind"], new["relay_source_id"], new["duration_seconds"]) == (
        "relay",
        source["id"],
        2700,
    )
    assert new["replaced_airings"] == [2, 3]
    with Session(engine) as ses:
        airings = ses.exec(select(Occurrence).where(Occurrence.broadcast_id == new["id"])).all()
    assert {(o.expires_at - o.air_at).total_seconds() for o in airings} == {2700}

    # A broadcast of bulletins has no length to change.
    approved = approved_bulletin(engine, "02680", "Lịch tiêm phòng")
    plain = client.post(
        "/api/v1/broadcasts",
        json={
            "area_codes": ["02680"],
            "starts_at": "2031-03-01T06:00:00+07:00",
            "bulletin_ids": [approved],
        },
        headers=commune,
    ).json()
    refused = client.patch(
        f"/api/v1/broadcasts/{plain['id']}", json={"duration_seconds": 60}, headers=commune
    )
    assert refused.status_code == 422 and refused.json()["reason"] == "relay.with_bulletins"
