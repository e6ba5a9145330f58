"""Shared test constants and types (fixtures live in conftest.py)."""

from collections.abc import Callable

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_PASSWORD = "mat-khau-thu-nghiem"

Headers = dict[str, str]
UserFactory = Callable[..., Headers]
