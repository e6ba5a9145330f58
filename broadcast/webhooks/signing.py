"""Standard Webhooks signatures: HMAC-SHA256 of "{id}.{timestamp}.{body}" with the secret.

The secret is "whsec_" followed by the base64 of 32 random bytes; the key is those bytes.
A receiver checks the signature with `verify` (or the snippet in docs/api.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
# A receiver refuses messages whose timestamp is further than this from its clock.
DEFAULT_TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` value: "v1," + base64 HMAC-SHA256 of id.timestamp.body."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def headers(
    secret: str | Sequence[str], message_id: str, timestamp: int, body: str
) -> dict[str, str]:
    """The headers of one signed request: one signature per secret, space-separated
    (the current secret first; the one it replaced too, while a rotation overlaps)."""
    keys = [secret] if isinstance(secret, str) else list(secret)
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(k, message_id, timestamp, body) for k in keys),
    }


def verify(
    secret: str,
    *,
    message_id: str,
    timestamp: str,
    signatures: str,
    body: str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether a request carries a valid signature (any of the space-separated ones)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = signature(secret, message_id, sent, body)
    return any(hmac.compare_digest(expected, given) for given in signatures.split())
