"""Hashing of passwords and device secrets (argon2id)."""

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_secret(secret: str) -> str:
    """Hash a password or device secret with argon2id."""
    return _hasher.hash(secret)


def verify_secret(secret: str, hashed: str) -> bool:
    """True when `secret` matches the argon2 hash `hashed`."""
    try:
        return _hasher.verify(hashed, secret)
    except (VerificationError, InvalidHashError):
        return False


def new_secret(nbytes: int = 24) -> str:
    """A random URL-safe secret for a device or an API token."""
    return secrets.token_urlsafe(nbytes)
