"""Signatures: what Loa signs, the documented snippet accepts; any change it refuses."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from broadcast.webhooks import signing
from tests.webhooks.hook_receiver import documented_verifier

verify_webhook = documented_verifier()
SECRET = signing.new_secret()
bodies = st.text(min_size=0, max_size=300)


@given(body=bodies, message_id=st.from_regex(r"evt_[0-9a-f]{32}", fullmatch=True))
def test_the_documented_snippet_accepts_every_signed_body(body: str, message_id: str) -> None:
    now = int(time.time())
    headers = signing.headers(SECRET, message_id, now, body)
    assert verify_webhook(SECRET, headers, body.encode())
    assert signing.verify(
        SECRET,
        message_id=message_id,
        timestamp=headers["webhook-timestamp"],
        signatures=headers["webhook-signature"],
        body=body,
        now=now,
    )


@given(body=bodies, other=bodies)
def test_another_body_id_timestamp_or_secret_is_refused(body: str, other: str) -> None:
    now = int(time.time())
    headers = signing.headers(SECRET, "evt_1", now, body)
    if other != body:
        assert not verify_webhook(SECRET, headers, other.encode())
    assert not verify_webhook(SECRET, {**headers, "webhook-id": "evt_2"}, body.encode())
    assert not verify_webhook(signing.new_secret(), headers, body.encode())
    stale = signing.headers(SECRET, "evt_1", now - 301, body)
    assert not verify_webhook(SECRET, stale, body.encode())  # a replay
    moved = {**headers, "webhook-timestamp": str(now - 1)}
    assert not verify_webhook(SECRET, moved, body.encode())
