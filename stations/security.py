"""Hashing of passwords and device secrets (argon2id)."""

import base64
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Module-level so tests can swap in cheap parameters; production keeps argon2's defaults.
HASHER = PasswordHasher()


def hash_secret(secret: str) -> str:
    """Hash a password or device secret with argon2id."""
    return HASHER.hash(secret)


def verify_secret(secret: str, hashed: str) -> bool:
    """True when `secret` matches the argon2 hash `hashed`."""
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
