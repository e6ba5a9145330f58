"""Media downloads are scoped: receivers get what was sent to them, users what their area airs."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from broadcast.core.settings import Settings
from broadcast.delivery.dispatch import default_programme_builder, dispatch_due
from broadcast.people.models import Role
from stations.models import Area, Receiver, Station
from stations.timeutil import utcnow
from tests.bulletins.test_programmes_media import _approved
from tests.utils import UserFactory


def _basic(receiver_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{receiver_id}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_media_follow_deliveries_and_areas(
    client: TestClient,
    demo: dict[str, str],
    make_user: UserFactory,
    engine: Engine,
    settings: Settings,
    render: Callable[[], int],
    tone: Callable[..., Path],
) -> None:
    editor, approver = make_user(Role.editor, "082"), make_user(Role.approver, "082")
    bid = _approved(
        client,
        editor,
        approver,
        "082",
        {"title": "Tin huyện", "translations": [{"language": "vi", "text": "Xin chào bà con."}]},
        {"hmn": tone(1.0, name="hmn.mp3")},
        render,
    )
    bulletin = client.get(f"/api/v1/bulletins/{bid}", headers=editor).json()
    files = {t["language"]: t["audio_sha256"] for t in bulletin["translations"]}
    url = f"/media/{files['hmn']}.mp3"
    with Session(engine) as ses:
        rx_of = {
            code: sorted(
                r.id
                for r, _s, a in ses.exec(
                    select(Receiver, Station, Area)
                    .join(Station, col(Receiver.station_id) == col(Station.id))
                    .join(Area, col(Station.area_id) == col(Area.id))
                )
                if a.code == code
            )
            for code in ("02680", "02800")
        }
    y_ty, bac_ha = rx_of["02680"][0], rx_of["02800"][0]
    assert client.get(url, headers=_basic(y_ty, demo[y_ty])).status_code == 404

    starts = (utcnow() + timedelta(minutes=5)).isoformat()
    made = client.post(
        "/api/v1/broadcasts",
        json={"bulletin_ids": [bid], "area_codes": ["02680"], "starts_at": starts},
        headers=editor,
    )
    assert made.status_code == 201, made.text
    dispatch_due(engine=engine, settings=settings, builder=default_programme_builder, now=utcnow())

    assert client.get(url, headers=_basic(y_ty, demo[y_ty])).status_code == 200
    assert client.get(url, headers=_basic(bac_ha, demo[bac_ha])).status_code == 404
    # People: the district's own editor, the commune operator below it (a district
    # bulletin airs at the commune's station), not a commune of another district.
    assert client.get(url, headers=editor).status_code == 200
    assert client.get(url, headers=make_user(Role.operator, "02680")).status_code == 200
    assert client.get(url, headers=make_user(Role.operator, "02743")).status_code == 404
    assert client.get(url, headers=make_user(Role.editor, "083")).status_code == 404
    assert client.get(url, headers=make_user(Role.admin)).status_code == 200
