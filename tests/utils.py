"""Shared test constants, types and helpers (fixtures live in conftest.py)."""

import socket
from collections.abc import Callable

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_PASSWORD = "mat-khau-thu-nghiem"

Headers = dict[str, str]
UserFactory = Callable[..., Headers]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SwallowedCallbackErrors:
    """Collects the MQTT callbacks that raised (logged by stations.mqtt, never propagated)."""

    def __init__(self) -> None:
        import logging

        from stations.mqtt import CALLBACK_FAILED

        self.errors: list[str] = []
        self._marker = CALLBACK_FAILED
        self._handler = logging.Handler()
        self._handler.emit = self._emit  # type: ignore[method-assign]
        self._logger = logging.getLogger("stations.mqtt")

    def _emit(self, record: object) -> None:
        if getattr(record, self._marker, False):
            self.errors.append(getattr(record, "getMessage", lambda: str(record))())

    def __enter__(self) -> "SwallowedCallbackErrors":
        self._logger.addHandler(self._handler)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._logger.removeHandler(self._handler)
