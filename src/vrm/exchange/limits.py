"""Rate limits per DID (a pseudonym, a vendor) or per mailbox: token buckets, in memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


class RateLimited(Exception):
    """Too many requests; ``retry_after`` says when one more would be taken."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many requests: retry in {retry_after:.1f} s")
        self.retry_after = retry_after


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimit:
    """``rate`` requests a second per key on average, bursts up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> None:
        """Take one request for ``key``.

        Raises:
            RateLimited: the key's bucket is empty.
        """
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens < 1:
            raise RateLimited((1 - bucket.tokens) / self.rate)
        bucket.tokens -= 1

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they hold nothing worth keeping."""
        full = [
            key
            for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]
