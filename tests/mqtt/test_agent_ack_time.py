"""The receiver agent's acks carry its clock as RFC 3339 text; numbers are still refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from stations.protocol import Ack, AckState, ProtocolError, decode_ack, encode


def test_an_ack_built_from_the_agents_clock_is_sent_as_rfc3339_text() -> None:
    at = datetime(2031, 3, 1, 6, 0, 5, tzinfo=UTC)
    payload = encode(Ack(broadcast_id="42.1", state=AckState.received, at=at))
    assert json.loads(payload)["at"] == "2031-03-01T06:00:05Z"
    assert decode_ack(payload).at == at


def test_a_number_for_the_time_is_still_refused() -> None:
    with pytest.raises(ProtocolError, match="RFC 3339"):
        decode_ack(b'{"broadcast_id": "42.1", "state": "received", "at": 1900000000}')
