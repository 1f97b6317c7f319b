"""Checking the passphrase at sign-in, slowly enough to make guessing pointless.

The passphrase is checked the way ``vrm up`` unlocks the agent: it must open the
vault (Argon2id). Attempts are taken one at a time, each wrong one is followed by
a pause, and after a few wrong ones in a row sign-in stops for a while — for
everyone, since the agent has one person and an attacker may use many addresses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio.to_thread
from sqlalchemy import Engine

from vrm.agent.keystore import unlock
from vrm.vault import WrongPassphrase


@dataclass(frozen=True)
class SignInLimits:
    """How sign-in slows guessing down."""

    failure_delay: float = 1.0
    """Seconds every wrong passphrase waits before its answer (and before the next try)."""
    max_failures: int = 5
    """Wrong passphrases in a row before sign-in stops for :attr:`lockout` seconds."""
    lockout: float = 60.0


class TooManyAttempts(Exception):
    """Sign-in is stopped for now after too many wrong passphrases."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many wrong passphrases: try again in {retry_after:.0f} s")
        self.retry_after = retry_after


def passphrase_opens(engine: Engine) -> Callable[[str], bool]:
    """A check that is True when a passphrase unlocks the agent stored in ``engine``."""

    def check(passphrase: str) -> bool:
        if not passphrase:
            return False
        try:
            unlock(engine, passphrase)
        except WrongPassphrase:
            return False
        return True

    return check


@dataclass
class SignInGuard:
    """Passphrase attempts, one at a time, with a pause after each wrong one."""

    check: Callable[[str], bool]
    limits: SignInLimits = field(default_factory=SignInLimits)
    clock: Callable[[], float] = time.monotonic
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    _failures: int = 0
    _stopped_until: float = 0.0

    async def attempt(self, passphrase: str) -> bool:
        """True when ``passphrase`` is the person's.

        Raises:
            TooManyAttempts: sign-in is stopped for now; nothing was checked.
        """
        # One attempt at a time: guesses sent in parallel queue behind each pause.
        async with self._turn:
            now = self.clock()
            if now < self._stopped_until:
                raise TooManyAttempts(self._stopped_until - now)
            # Argon2id takes a third of a second: off the event loop.
            if await anyio.to_thread.run_sync(self.check, passphrase):
                self._failures = 0
                return True
            self._failures += 1
            if self._failures >= self.limits.max_failures:
                self._failures = 0
                self._stopped_until = now + self.limits.lockout
            await asyncio.sleep(self.limits.failure_delay)
            return False
