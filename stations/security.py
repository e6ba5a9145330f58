"""Hashing of passwords (argon2id) and of machine-generated device secrets (salted SHA-256).

People choose passwords that can be guessed, so theirs go through argon2id, a slow,
memory-hard KDF. A device secret minted by `new_secret` is 192 random bits: no guess
list reaches it, so a slow KDF adds nothing but cost (0.7 s per receiver on a small
server, an hour for a province). Those are stored as `$loa-sha256$<salt>$<digest>`;
`verify_secret` reads both formats, so every stored argon2 hash keeps verifying.
"""

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Module-level so tests can swap in cheap parameters; production keeps argon2's defaults.
HASHER = PasswordHasher()


def hash_secret(secret: str) -> str:
    """Hash a password or device secret with argon2id."""
    return HASHER.hash(secret)


# The versioned format of a machine-generated secret's hash.
DEVICE_HASH_PREFIX = "$loa-sha256$"
# Shortest secret `hash_device_secret` accepts: 128 bits of a random token_urlsafe.
MIN_DEVICE_SECRET = 22


def hash_device_secret(secret: str, *, salt: bytes | None = None) -> str:
    """Hash a machine-generated, high-entropy secret (from `new_secret`) with salted SHA-256.

    Never for a secret a person chose: those need `hash_secret`.
    """
    if len(secret) < MIN_DEVICE_SECRET:
        raise ValueError("a device secret hashed this way must be a long random token")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.sha256(salt + secret.encode()).digest()
    b64 = base64.b64encode
    return f"{DEVICE_HASH_PREFIX}{b64(salt).decode()}${b64(digest).decode()}"


def _verify_device(secret: str, hashed: str) -> bool:
    try:
        salt_b64, digest_b64 = hashed[len(DEVICE_HASH_PREFIX) :].split("$")
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(hashlib.sha256(salt + secret.encode()).digest(), expected)


def verify_secret(secret: str, hashed: str) -> bool:
    """True when `secret` matches `hashed` (argon2, or a device secret's salted SHA-256)."""
    if hashed.startswith(DEVICE_HASH_PREFIX):
        return _verify_device(secret, hashed)
    try:
        return HASHER.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(nbytes: int = 24) -> str:
    """A random URL-safe secret for a device or an API token."""
    return secrets.token_urlsafe(nbytes)


# mosquitto 2.x password-file format: $7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>.
MOSQUITTO_ITERATIONS = 101


def mosquitto_hash(secret: str, *, salt: bytes | None = None) -> str:
    """Hash a device secret the way `mosquitto_passwd` does, for mosquitto's password file."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, MOSQUITTO_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${MOSQUITTO_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"
