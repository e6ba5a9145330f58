"""Domain errors shared by the data packages; `api/` turns them into HTTP answers."""


class LoaError(Exception):
    """Base of every domain error raised by Loa's data packages."""


class NotFoundError(LoaError):
    """The object does not exist, or lies outside the caller's area."""


class ConflictError(LoaError):
    """The change clashes with what is stored (duplicate code, object in use)."""


class InvalidInputError(LoaError):
    """The request is well-formed but its content cannot be accepted."""


class PermissionDeniedError(LoaError):
    """The caller's role does not allow this action."""


class TooLargeError(InvalidInputError):
    """The content is larger than the service accepts (an upload over the size limit)."""


class TooManyAttemptsError(LoaError):
    """Too many failed sign-ins for an account or from an address: locked for a while."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
