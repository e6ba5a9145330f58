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
