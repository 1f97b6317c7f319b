"""How long to wait before trying a delivery again."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between attempts.

    The n-th retry waits ``min(cap, base * factor ** (n - 1))``, of which the upper
    half is random (so many agents retrying one vendor spread out), and never less
    than the receiver's ``Retry-After``.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 3600.0
    random: Callable[[], float] = field(default=random.random, repr=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed attempt."""
        ceiling = min(self.cap, self.base * self.factor ** max(0, attempts - 1))
        wait = ceiling / 2 + self.random() * ceiling / 2
        return max(wait, retry_after or 0.0)
