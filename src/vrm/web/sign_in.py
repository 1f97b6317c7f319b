"""Sign-in attempts taken one at a time, slowly enough to make guessing pointless.

A service gives :class:`SignInGuard` its own check of the secret (the vendor's
console compares the API token). Attempts are taken one at a time, each wrong one
is followed by a pause, and after a few wrong ones in a row sign-in stops for a
while — for everyone, since an attacker may use many addresses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio.to_thread


@dataclass(frozen=True)
class SignInLimits:
    """How sign-in slows guessing down."""

    failure_delay: float = 1.0
    """Seconds every wrong secret waits before its answer (and before the next try)."""
    max_failures: int = 5
    """Wrong secrets in a row before sign-in stops for :attr:`lockout` seconds."""
    lockout: float = 60.0


class TooManyAttempts(Exception):
    """Sign-in is stopped for now after too many wrong secrets."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many wrong attempts: try again in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass
class SignInGuard:
    """Attempts at a secret, one at a time, with a pause after each wrong one.

    ``check`` is called off the event loop: it may be slow (a key derivation).
    """

    check: Callable[[str], bool]
    limits: SignInLimits = field(default_factory=SignInLimits)
    clock: Callable[[], float] = time.monotonic
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    _failures: int = 0
    _stopped_until: float = 0.0

    async def attempt(self, secret: str) -> bool:
        """True when ``secret`` passes the check.

        Raises:
            TooManyAttempts: sign-in is stopped for now; nothing was checked.
        """
        # One attempt at a time: guesses sent in parallel queue behind each pause.
        async with self._turn:
            now = self.clock()
            if now < self._stopped_until:
                raise TooManyAttempts(self._stopped_until - now)
            if await anyio.to_thread.run_sync(self.check, secret):
                self._failures = 0
                return True
            self._failures += 1
            if self._failures >= self.limits.max_failures:
                self._failures = 0
                self._stopped_until = now + self.limits.lockout
            await asyncio.sleep(self.limits.failure_delay)
            return False
