"""Domain errors carry a code; the console says every code in Vietnamese from one catalogue.

The first tests read the source of every package for the domain errors it raises: each
raise must name a code, each code must have a Vietnamese text in api/console/messages.py,
and the text may only use fields that every raise of the code gives. The others take
real errors end to end, through the console's forms, and look for the Vietnamese text.
"""

from __future__ import annotations

import ast
import html
import logging
import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from api.console import messages
from api.console.messages import CATALOGUE, FORM_FIELDS, FORMAT_SPECS, say, text_for
from broadcast.bulletins.models import Bulletin, BulletinStatus
from broadcast.bulletins.rendering import render_pending
from broadcast.core.db import transaction
from broadcast.core.settings import Settings
from broadcast.people.models import User
from stations.errors import InvalidInputError, LoaError, NotFoundError
from stations.models import Area, Station
from tests.audio import tone_recording
from tests.broadcasts.test_broadcast_scope import approved_bulletin
from tests.console.conftest import Login, csrf_of
from tests.utils import Headers
from tts.errors import TTSError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "broadcast", "playlists", "stations", "tts")
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


# --- every code raised has a Vietnamese text ------------------------------------------------


def _subclasses(base: type[Exception]) -> set[type[Exception]]:
    found = {base}
    for sub in base.__subclasses__():
        found |= _subclasses(sub)
    return found


BASES = _subclasses(LoaError) | _subclasses(TTSError)


def _domain_error_names(trees: dict[Path, ast.Module]) -> set[str]:
    """The names of the domain error classes, with any the packages derive from them."""
    names = {cls.__name__ for cls in BASES}
    grown = True
    while grown:
        grown = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                        for b in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grown = True
    return names


@dataclass(frozen=True)
class Raise:
    """One construction of a domain error in the source."""

    where: str
    code: str | None  # None: forwards another error's code (`code=exc.code`)
    fields: frozenset[str] | None  # None: the fields are forwarded too (`**exc.fields`)


def _raises() -> list[Raise]:
    trees = {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    names = _domain_error_names(trees)
    found: list[Raise] = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in names:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            keywords = {k.arg: k.value for k in node.keywords}
            code = keywords.get("code")
            assert code is not None, f"{where}: {name}(...) names no code="
            fields: set[str] | None = {k for k in keywords if k not in (None, "code")}
            if None in keywords:
                fields = None
            elif name == "TooManyAttemptsError":
                fields = (fields or set()) | {"retry_after"}
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.append(
                    Raise(where, code.value, frozenset(fields) if fields is not None else None)
                )
            else:
                # Only a wrapper may pass a code on: the code of the error it wraps.
                assert isinstance(code, ast.Attribute) and code.attr == "code", (
                    f"{where}: code= must be a string literal (or a wrapped error's .code)"
                )
                found.append(Raise(where, None, None))
    return found


RAISES = _raises()
CODES = {r.code for r in RAISES if r.code is not None}
DEFAULT_CODES = {str(cls.default_code) for cls in BASES}  # type: ignore[attr-defined]

DOTTED = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
VIETNAMESE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.IGNORECASE
)
ENGLISH = {
    "already", "and", "area", "audio", "broadcast", "bulletin", "cannot", "cause", "day",
    "error", "exists", "failed", "file", "for", "found", "from", "has", "have", "invalid",
    "is", "language", "missing", "must", "needs", "not", "of", "only", "please", "probable",
    "receiver", "recording", "station", "text", "the", "this", "time", "unknown", "user",
    "was", "with",
}  # fmt: skip


def _placeholders(template: str) -> list[tuple[str, str]]:
    return [
        (name, spec or "")
        for _text, name, spec, _conv in string.Formatter().parse(template)
        if name is not None
    ]


def test_the_source_raises_domain_errors_with_codes() -> None:
    assert len(RAISES) > 100  # the scan sees the packages' raises
    assert {"bulletin.self_approval", "schedule.unknown_words", "recording.too_long"} <= CODES
    assert all(DOTTED.match(code) for code in CODES | DEFAULT_CODES), sorted(CODES)


def test_every_code_raised_has_a_vietnamese_text_with_its_fields() -> None:
    missing = sorted((CODES | DEFAULT_CODES) - CATALOGUE.keys())
    assert not missing, f"codes without a Vietnamese text in api/console/messages.py: {missing}"
    for raised in RAISES:
        if raised.code is None or raised.fields is None:
            continue
        needed = {name for name, _spec in _placeholders(CATALOGUE[raised.code].template)}
        assert needed <= raised.fields, (
            f"{raised.where}: the text of {raised.code} needs {sorted(needed - raised.fields)}"
        )


def _answered_codes() -> set[str]:
    """Codes the source hands back without raising (a resend's skipped receivers, the
    NUL guard): dotted string literals outside the catalogue itself."""
    catalogue = ROOT / "api" / "console" / "messages.py"
    found: set[str] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == catalogue:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and DOTTED.match(node.value)
                ):
                    found.add(node.value)
    return found


def test_the_catalogue_holds_only_codes_in_use() -> None:
    unused = sorted(CATALOGUE.keys() - CODES - DEFAULT_CODES - _answered_codes())
    assert not unused, f"texts for codes nothing raises: {unused}"


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_every_text_is_vietnamese_and_can_be_filled(code: str) -> None:
    entry = CATALOGUE[code]
    assert entry.field is None or entry.field in FORM_FIELDS, (code, entry.field)
    fields: dict[str, object] = {}
    for name, spec in _placeholders(entry.template):
        assert spec in FORMAT_SPECS, (code, name, spec)
        fields[name] = {"time": datetime(2030, 12, 1, tzinfo=UTC), "date": "2030-12-01"}.get(
            spec, "x"
        )
    shown = text_for(code, fields)
    assert shown is not None, code
    words = set(re.findall(r"\w+", re.sub(r"\{[^}]*\}", "", entry.template).lower()))
    assert VIETNAMESE.search(shown), (code, shown)
    assert not words & ENGLISH, (code, sorted(words & ENGLISH))


def test_an_unknown_code_or_missing_fields_fall_back_to_vietnamese_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger=messages.__name__):
        unknown = say(NotFoundError("Gadget 3 not found", code="gadget.not_found", gadget=3))
        unfilled = say(NotFoundError("Bulletin 3 not found", code="bulletin.not_found"))
        bare = say(ValueError("Something broke"))
    assert unknown == unfilled == text_for("error.not_found")
    assert bare == messages.FALLBACK
    assert "gadget.not_found" in caplog.text and "bulletin.not_found" in caplog.text
    for shown in (unknown, unfilled, bare):
        assert "not found" not in shown and "broke" not in shown


def test_a_form_error_goes_next_to_its_own_input() -> None:
    inputs = {"area": "area_codes", "until": "until"}
    until = InvalidInputError("A repeated broadcast needs…", code="schedule.until_missing")
    area = NotFoundError("Area 'x' not found", code="area.not_found", area_code="x")
    words = InvalidInputError("Words…", code="schedule.unknown_words", words="'trừ'")
    assert messages.form_error(until, inputs, "when") == ("until", "Lịch lặp lại cần ngày kết thúc")
    assert messages.form_error(area, inputs, "when") == ("area_codes", "Không tìm thấy địa bàn 'x'")
    assert messages.form_error(words, inputs, "when")[0] == "when"  # "when" is not in `inputs`


# --- the REST answer names the code as `reason` ------------------------------------------------


def test_the_rest_error_body_gives_the_dotted_code_as_reason(
    client: TestClient, admin_headers: Headers
) -> None:
    answer = client.get("/api/v1/bulletins/424242", headers=admin_headers)
    assert answer.status_code == 404
    assert answer.json() == {
        "detail": "Bulletin 424242 not found",
        "code": "not_found",
        "reason": "bulletin.not_found",
        "errors": [],
    }
    invalid = client.post("/api/v1/bulletins", json={"title": 1}, headers=admin_headers)
    assert invalid.status_code == 422
    assert (invalid.json()["code"], invalid.json()["reason"]) == ("invalid", "request.invalid")


# --- real errors, end to end through the console -------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Offline speech only (eSpeak NG speaks no H'Mông) and a 2-second recording limit."""
    return settings.model_copy(update={"tts_online": False, "max_recording_seconds": 2.0})


def _page(answer: object) -> str:
    text = html.unescape(answer.text)  # type: ignore[attr-defined]
    assert "Probable cause" not in text and "Không thực hiện được" not in text
    return text


def _new_bulletin(client: TestClient) -> int:
    csrf = csrf_of(client.get("/bulletins/new").text)
    answer = client.post(
        "/bulletins/new",
        data={"title": "Phòng chống cháy rừng", "priority": "normal", "text": "Không đốt nương.",
              "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text[:500]
    return int(answer.headers["location"].split("/")[2].split("?")[0])


def test_an_approver_is_told_in_vietnamese_they_cannot_approve_their_own_bulletin(
    login: Login, engine: Engine
) -> None:
    with transaction(engine) as ses:
        approver = ses.exec(select(User).where(User.username == "duyet.batxat")).one()
        area = ses.exec(select(Area).where(Area.code == "082")).one()
        row = Bulletin(
            title="Lịch tiêm chủng",
            status=BulletinStatus.submitted,
            author_id=approver.id or 0,
            area_id=area.id or 0,
        )
        ses.add(row)
        ses.flush()
        bulletin_id = row.id
    client = login("duyet.batxat")
    csrf = csrf_of(client.get(f"/bulletins/{bulletin_id}").text)
    answer = client.post(f"/bulletins/{bulletin_id}/approve", data={"csrf_token": csrf})
    assert answer.status_code == 422
    page = _page(answer)
    assert f"Bạn là tác giả của bản tin {bulletin_id}: cần một người duyệt khác" in page
    assert "You wrote" not in page


def test_an_unknown_recurrence_word_is_told_in_vietnamese_next_to_the_times(
    login: Login, engine: Engine
) -> None:
    bulletin = approved_bulletin(engine, "082", "Lịch tiêm chủng")
    client = login("bientap.batxat")
    csrf = csrf_of(client.get("/schedule/new").text)
    monday = datetime.now(ZONE).date() + timedelta(days=7)
    answer = client.post(
        "/schedule/new",
        data={"bulletin_ids": [str(bulletin)], "area_codes": ["02680"],
              "first_day": monday.isoformat(), "until": (monday + timedelta(days=3)).isoformat(),
              "when": "hằng ngày lúc 6:00 trừ chủ nhật", "priority": "normal",
              "csrf_token": csrf},
    )  # fmt: skip
    assert answer.status_code == 422
    page = _page(answer)
    assert re.search(r'id="e-when"[^>]*>[^<]*Không hiểu: \'trừ\'', page), page[:3000]
    assert "Words not understood" not in page


def test_a_recording_too_long_is_told_in_vietnamese_next_to_the_upload(
    login: Login, tmp_path: Path
) -> None:
    client = login("bientap.batxat")
    bulletin_id = _new_bulletin(client)
    csrf = csrf_of(client.get(f"/bulletins/{bulletin_id}?lang=hmn").text)
    long = tone_recording(tmp_path / "dai.mp3", 4000)
    with long.open("rb") as handle:
        answer = client.post(
            f"/bulletins/{bulletin_id}/recording/hmn",
            data={"csrf_token": csrf},
            files={"recording": ("dai.mp3", handle, "audio/mpeg")},
        )
    assert answer.status_code == 422
    page = _page(answer)
    assert "Bản ghi âm dài quá 2 giây" in page
    assert "longer than" not in page


def test_a_language_no_engine_speaks_is_told_in_vietnamese_on_the_bulletin(
    login: Login, engine: Engine, settings: Settings
) -> None:
    client = login("bientap.batxat")
    bulletin_id = _new_bulletin(client)
    csrf = csrf_of(client.get(f"/bulletins/{bulletin_id}?lang=hmn").text)
    saved = client.post(
        f"/bulletins/{bulletin_id}/text/hmn",
        data={"text": "Tsis txhob hlawv hav zoov.", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text[:500]
    render_pending(engine=engine, settings=settings, limit=10)
    page = _page(client.get(f"/bulletins/{bulletin_id}?lang=hmn"))
    assert "Chưa có bộ đọc nào đọc được tiếng H'Mông (hmn) trên hệ thống này" in page
    assert "No engine speaks" not in page
    # The approver, refused for the failed audio, is told which version needs a recording.
    approver = login("duyet.batxat")
    with transaction(engine) as ses:
        ses.get(Bulletin, bulletin_id).status = BulletinStatus.submitted  # type: ignore[union-attr]
    csrf = csrf_of(approver.get(f"/bulletins/{bulletin_id}").text)
    refused = approver.post(f"/bulletins/{bulletin_id}/approve", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert f"Chưa duyệt được bản tin {bulletin_id}: không tạo được âm thanh cho bản hmn" in _page(
        refused
    )


def test_confirming_a_legacy_airing_in_the_future_is_told_in_vietnamese(
    login: Login, engine: Engine, admin_headers: Headers
) -> None:
    bulletin = approved_bulletin(engine, "083", "Phòng chống cháy rừng")
    client = login("vanhanh.phalong")
    answer = client.post(
        "/api/v1/broadcasts",
        json={"bulletin_ids": [bulletin], "area_codes": ["02743"],
              "starts_at": "2030-12-01T06:00:00+07:00"},
        headers=admin_headers,
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    with transaction(engine) as ses:
        station = ses.exec(select(Station).join(Area).where(Area.code == "02743")).one()
    now = datetime(2030, 12, 1, 9, 0, tzinfo=ZONE)
    client.app.state.clock = lambda: now.astimezone(UTC)  # type: ignore[attr-defined]
    csrf = csrf_of(client.get("/operator").text)
    refused = client.post(
        "/operator/confirm",
        data={"broadcast_id": str(answer.json()["id"]), "station_id": str(station.id),
              "aired_time": "10:30", "csrf_token": csrf},
    )  # fmt: skip
    assert refused.status_code == 422
    page = _page(refused)
    assert (
        "Giờ đã phát 10:30 01/12/2030 chưa tới (bây giờ là 09:00 01/12/2030): chỉ xác nhận "
        "sau khi đã phát" in page
    )
    assert "in the future" not in page
