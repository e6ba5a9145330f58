"""Domain errors shared by the data packages; `api/` turns them into HTTP answers.

An error carries three things:

- an English message, for logs and for the REST answer's `detail`;
- a stable dotted `code` naming what went wrong (`bulletin.self_approval`): it does not
  change when the message is reworded, and the REST answer gives it as `reason`;
- the structured `fields` the message was made from (`bulletin_id=3`, `limit=20`).

The console shows neither the message nor the code: it looks the code up in its
Vietnamese catalogue (api/console/messages.py) and fills the template with the fields.
"""

from __future__ import annotations

from typing import Any


class LoaError(Exception):
    """Base of every domain error raised by Loa's data packages."""

    # The code of a raise that names none (every raise in Loa names one; see
    # tests/console/test_error_catalogue.py); each has a generic Vietnamese text.
    default_code = "error.failed"

    def __init__(self, message: str, *, code: str | None = None, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields: dict[str, Any] = fields


class NotFoundError(LoaError):
    """The object does not exist, or lies outside the caller's area."""

    default_code = "error.not_found"


class ConflictError(LoaError):
    """The change clashes with what is stored (duplicate code, object in use)."""

    default_code = "error.conflict"


class InvalidInputError(LoaError):
    """The request is well-formed but its content cannot be accepted."""

    default_code = "error.invalid"


class PermissionDeniedError(LoaError):
    """The caller's role does not allow this action."""

    default_code = "error.forbidden"


class TooLargeError(InvalidInputError):
    """The content is larger than the service accepts (an upload over the size limit)."""

    default_code = "error.too_large"


class TooManyAttemptsError(LoaError):
    """Too many failed sign-ins for an account or from an address: locked for a while."""

    default_code = "error.too_many_attempts"

    def __init__(
        self, message: str, retry_after: int, *, code: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message, code=code, retry_after=retry_after, **fields)
        self.retry_after = retry_after
