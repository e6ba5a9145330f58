"""Fixtures of the webhook tests: a subscriber's endpoint over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webhooks.hook_receiver import HookReceiver, hook_receiver


@pytest.fixture
def endpoint() -> Iterator[HookReceiver]:
    """A webhook endpoint on a free local port."""
    with hook_receiver() as receiver:
        yield receiver
