"""A callback that raises is logged and seen by the tests' check, and the loop goes on."""

from __future__ import annotations

from stations import mqtt
from tests.utils import SwallowedCallbackErrors


def test_a_failing_callback_is_logged_and_caught_by_the_check() -> None:
    seen: list[str] = []

    def bad(_message: object) -> None:
        raise RuntimeError("boom")

    with SwallowedCallbackErrors() as swallowed:
        mqtt._safely(bad, "m")
        mqtt._safely(seen.append, "after")
    assert len(swallowed.errors) == 1 and "failed" in swallowed.errors[0]
    assert seen == ["after"]
    with SwallowedCallbackErrors() as quiet:
        mqtt._safely(seen.append, "ok")
    assert quiet.errors == []
