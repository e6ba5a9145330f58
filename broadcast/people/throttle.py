"""Throttling of password guesses: per account and per client address, in memory.

Failures are counted in a sliding window. Once an account (or an address) has failed
`max_failures` times within the window it is locked for `lockout_seconds`: every
attempt in that time is refused before the password is checked, so a locked account
costs no argon2 work and a correct guess during the lockout does not get in. A success
clears the account's failures (not the address's: one right password must not wash an
address that is guessing many accounts).

The counters live in the process that checks the passwords; `loa serve --workers N`
gives each worker its own, so the effective limit is at most N times the setting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from broadcast.core.settings import Settings

# Keys held at most; beyond this the oldest idle ones are forgotten (bounded memory
# under a spray of random usernames).
MAX_KEYS = 100_000


@dataclass(slots=True)
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether an attempt may go on, and if not, for how many seconds it is refused."""

    allowed: bool
    retry_after: int = 0
    key: str | None = None  # what is locked: "account:<name>" or "address:<ip>"


ALLOWED = Verdict(True)


class LoginThrottle:
    """Counts failed sign-ins per account and per address and locks either one out."""

    def __init__(
        self,
        *,
        max_failures: int,
        max_failures_per_address: int,
        window_seconds: float,
        lockout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window = window_seconds
        self.lockout = lockout_seconds
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        """The throttle configured by the LOA_LOGIN_* settings."""
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window_seconds=settings.login_window_seconds,
            lockout_seconds=settings.login_lockout_seconds,
        )

    def check(self, *, account: str, address: str | None) -> Verdict:
        """Refuse an attempt while its account or its address is locked out."""
        now = self.clock()
        with self._lock:
            for key in self._keys(account, address):
                record = self._records.get(key)
                if record is not None and record.locked_until > now:
                    return Verdict(False, math.ceil(record.locked_until - now), key)
        return ALLOWED

    def failed(self, *, account: str, address: str | None) -> Verdict:
        """Count a failure; the verdict says whether this one started a lockout."""
        now = self.clock()
        started: Verdict = ALLOWED
        with self._lock:
            if len(self._records) >= MAX_KEYS:
                self._forget_idle(now)
            for key in self._keys(account, address):
                limit = (
                    self.max_failures
                    if key.startswith("account:")
                    else (self.max_failures_per_address)
                )
                record = self._records.setdefault(key, _Record())
                record.failures.append(now)
                while record.failures and record.failures[0] <= now - self.window:
                    record.failures.popleft()
                if len(record.failures) >= limit and record.locked_until <= now:
                    record.locked_until = now + self.lockout
                    record.failures.clear()
                    started = Verdict(False, math.ceil(self.lockout), key)
        return started

    def succeeded(self, *, account: str) -> None:
        """A right password outside a lockout: the account starts afresh."""
        with self._lock:
            self._records.pop(f"account:{account.lower()}", None)

    @staticmethod
    def _keys(account: str, address: str | None) -> list[str]:
        keys = [f"account:{account.lower()}"]
        if address:
            keys.append(f"address:{address}")
        return keys

    def _forget_idle(self, now: float) -> None:
        idle = [
            key
            for key, record in self._records.items()
            if record.locked_until <= now
            and (not record.failures or record.failures[-1] <= now - self.window)
        ]
        for key in idle:
            del self._records[key]
        if len(self._records) >= MAX_KEYS:  # all busy: drop the oldest half
            for key in list(self._records)[: MAX_KEYS // 2]:
                del self._records[key]
