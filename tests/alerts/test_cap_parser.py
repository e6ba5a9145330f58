"""The CAP parser never crashes: any bytes give a parsed alert or a clear validation error."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from broadcast.alerts.cap import CapAlert, load_schema, parse_cap
from stations.errors import InvalidInputError
from tests.alerts.conftest import flood_alert

SCHEMA = load_schema()
VALID = flood_alert()
CODES = {
    "cap.empty",
    "cap.too_large",
    "cap.malformed",
    "cap.doctype",
    "cap.not_cap",
    "cap.invalid",
    "cap.bad_reference",
}


def _outcome(data: bytes) -> CapAlert | InvalidInputError:
    try:
        return parse_cap(data, schema=SCHEMA)
    except InvalidInputError as exc:
        assert exc.code in CODES and exc.message
        return exc


def test_the_sample_flood_warning_parses_with_both_languages() -> None:
    alert = parse_cap(VALID, schema=SCHEMA)
    assert [i.language for i in alert.infos] == ["vi-VN", "hmn"]
    assert alert.infos[0].areas[0].geocodes == (("ADMIN_CODE", "02680"), ("ADMIN_CODE", "02659"))
    assert alert.infos[0].expires is not None and alert.msg_type == "Alert"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_give_a_clear_error(data: bytes) -> None:
    _outcome(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_change_to_a_valid_alert_parses_or_gives_a_clear_error(data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(VALID)))
    end = data.draw(st.integers(start, min(len(VALID), start + 40)))
    insert = data.draw(st.binary(max_size=40) | st.sampled_from([b"<", b"&", b"]]>", b"\x00"]))
    outcome = _outcome(VALID[:start] + insert + VALID[end:])
    if isinstance(outcome, InvalidInputError) and outcome.code == "cap.invalid":
        assert "/alert" in outcome.message


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<&"),
        max_size=60,
    )
)
def test_any_text_in_an_element_parses_or_names_the_element(text: str) -> None:
    document = VALID.replace(b"Immediate", text.encode(), 1)
    outcome = _outcome(document)
    if isinstance(outcome, InvalidInputError):
        assert outcome.code in ("cap.invalid", "cap.malformed")
        if outcome.code == "cap.invalid":
            assert "/alert/info[1]/urgency" in outcome.message
