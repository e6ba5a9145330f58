"""Decoding bounds: whatever bytes arrive, an ack is either refused or safe to store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadcast.schedule.service import parse_occurrence_ref
from stations.protocol import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_DETAIL_CHARS,
    MAX_REF_NUMBER,
    Ack,
    ProtocolError,
    decode_ack,
    decode_command,
    decode_state,
)

GOOD = {"broadcast_id": "42.1", "state": "completed", "at": "2026-12-01T06:01:02+07:00"}


def payload(**changes: Any) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def within_bounds(ack: Ack) -> None:
    """What the ingestor relies on once an ack is decoded."""
    assert ack.at.tzinfo is not None
    assert EARLIEST_TIME <= ack.at.astimezone(UTC) < LATEST_TIME
    ref = parse_occurrence_ref(ack.broadcast_id)
    if ref is not None:
        assert 0 <= ref[0] <= MAX_REF_NUMBER and 0 <= ref[1] <= MAX_REF_NUMBER
    assert ack.detail is None or (len(ack.detail) <= MAX_DETAIL_CHARS and "\x00" not in ack.detail)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"broadcast_id": "1.99999999999999999999"}, "broadcast_id"),
        ({"broadcast_id": "99999999999999999999.1"}, "broadcast_id"),
        ({"broadcast_id": f"{MAX_REF_NUMBER + 1}.1"}, "broadcast_id"),
        ({"at": "0001-01-01T00:00:00+05:00"}, "at"),
        ({"at": "9999-12-31T23:59:59-05:00"}, "at"),
        ({"at": "1969-12-31T23:59:59Z"}, "at"),
        ({"at": "1970-01-01T03:00:00+05:00"}, "at"),  # 1969 in UTC
        ({"at": "2100-01-01T00:00:00Z"}, "at"),
        ({"at": 0}, "at"),
        ({"detail": "kẹt\x00loa"}, "detail"),
    ],
)
def test_out_of_bounds_ack_is_a_protocol_error(changes: dict[str, Any], where: str) -> None:
    with pytest.raises(ProtocolError, match=where):
        decode_ack(payload(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"broadcast_id": f"{MAX_REF_NUMBER}.{MAX_REF_NUMBER}"},
        {"broadcast_id": "not-an-airing"},  # not ours: unknown later, not malformed
        {"at": "1970-01-01T00:00:00Z"},
        {"at": "2099-12-31T23:59:59.999999Z"},
        {"at": "2099-12-31T23:00:00-00:59"},
        {"detail": "Hỏng loa\tthôn 3\n"},
    ],
)
def test_acks_at_the_bounds_are_accepted(changes: dict[str, Any]) -> None:
    within_bounds(decode_ack(payload(**changes)))


def test_state_and_command_times_are_bounded() -> None:
    assert decode_state(b'{"online": true, "at": "2026-12-01T05:59:00+07:00"}').online
    with pytest.raises(ProtocolError, match="at"):
        decode_state(b'{"online": true, "at": "0001-01-01T00:00:00+05:00"}')
    command = {
        "type": "programme",
        "broadcast_id": "42.1",
        "air_at": "2026-12-01T06:00:00+07:00",
        "expires_at": "2026-12-01T06:15:00+07:00",
        "version": "v1",
        "items": [],
    }
    assert decode_command(json.dumps(command).encode()).broadcast_id == "42.1"
    with pytest.raises(ProtocolError, match="expires_at"):
        decode_command(json.dumps({**command, "expires_at": "9999-12-31T23:59:59-05:00"}).encode())


@pytest.mark.parametrize(
    "ref", ["1.99999999999999999999", "99999999999999999999.1", "1.²", "١.1", "1.", ".1", "1.2.3"]
)
def test_parse_occurrence_ref_refuses_what_cannot_be_stored(ref: str) -> None:
    assert parse_occurrence_ref(ref) is None


def test_parse_occurrence_ref_reads_a_ref() -> None:
    assert parse_occurrence_ref("42.1") == (42, 1)
    assert parse_occurrence_ref(f"{MAX_REF_NUMBER}.0") == (MAX_REF_NUMBER, 0)


# --- any input -----------------------------------------------------------------

offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
any_time = st.one_of(
    st.datetimes(timezones=offsets).map(lambda t: t.isoformat()),
    st.datetimes().map(lambda t: t.isoformat()),  # naive
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
any_ref = st.one_of(
    st.tuples(st.integers(min_value=0, max_value=10**30), st.integers(0, 10**30)).map(
        lambda pair: f"{pair[0]}.{pair[1]}"
    ),
    st.from_regex(r"\A[0-9]{1,40}\.[0-9]{1,40}\Z"),
    st.text(max_size=70),
    st.integers(),
)
any_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
ack_like = st.fixed_dictionaries(
    {
        "broadcast_id": any_ref,
        "state": st.sampled_from(["completed", "started", "x"]),
        "at": any_time,
    },
    optional={
        "detail": st.one_of(st.none(), st.text(max_size=600), any_json),
        "receiver_id": st.one_of(st.none(), st.text(max_size=70)),
        "extra": any_json,
    },
).map(lambda body: json.dumps(body).encode())
any_payload = st.one_of(
    st.binary(max_size=5000), ack_like, any_json.map(lambda v: json.dumps(v).encode())
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_payload)
def test_any_bytes_give_a_protocol_error_or_an_ack_within_bounds(data: bytes) -> None:
    try:
        ack = decode_ack(data)
    except ProtocolError:
        return
    within_bounds(ack)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=5000),
        st.fixed_dictionaries({"online": st.booleans(), "at": any_time}).map(
            lambda body: json.dumps(body).encode()
        ),
    )
)
def test_any_bytes_give_a_protocol_error_or_a_state_within_bounds(data: bytes) -> None:
    try:
        status = decode_state(data)
    except ProtocolError:
        return
    if status.at is not None:
        at = status.at if status.at.tzinfo is not None else status.at.replace(tzinfo=UTC)
        assert EARLIEST_TIME <= at.astimezone(UTC) < LATEST_TIME


def test_bounds_are_the_documented_ones() -> None:
    assert MAX_REF_NUMBER == 2**31 - 1
    assert datetime(1970, 1, 1, tzinfo=UTC) == EARLIEST_TIME
    assert datetime(2100, 1, 1, tzinfo=UTC) == LATEST_TIME


@pytest.mark.parametrize(
    "codecs",
    [["opus" * 5], ["mp3"] * 9, "opus", [3], {"opus": True}],
)
def test_a_state_with_codecs_out_of_shape_is_a_protocol_error(codecs: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_state(json.dumps({"online": True, "codecs": codecs}).encode())


def test_a_state_declares_its_codecs() -> None:
    assert decode_state(b'{"online": true, "codecs": ["mp3", "opus"]}').codecs == ["mp3", "opus"]
    assert decode_state(b'{"online": true}').codecs is None  # an old receiver: MP3 only
