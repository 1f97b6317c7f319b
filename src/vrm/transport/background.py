"""Work that runs beside a service: tasks started with it, and loops of rounds.

:func:`running` starts coroutines as tasks for the length of an ``async with`` and
cancels them (waiting for each) on the way out. :class:`Rounds` is the loop every
worker runs — the agent's outbox, the vendor's jobs, the exchange's pushes and relay:
a round, another at once while a round finds work, otherwise a sleep until woken,
until something comes due, or until the poll interval passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import anyio

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def running(*work: Coroutine[Any, Any, object]) -> AsyncIterator[list[asyncio.Task[Any]]]:
    """Run ``work`` as tasks while the block runs; cancel them and wait for each after it."""
    tasks = [asyncio.create_task(coroutine) for coroutine in work]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Rounds(ABC):
    """A worker's loop: :meth:`run_once` again and again, sleeping while there is nothing.

    Subclasses give :meth:`run_once` (how many items a round took on) and may give
    :meth:`next_wait` (how long nothing will come due; the poll interval by default).
    """

    what = "a round of work"
    """Named in the log when a round fails."""

    def __init__(self, *, poll_interval: float) -> None:
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Start a round now (something was just written for this worker)."""
        self._wake.set()

    @abstractmethod
    async def run_once(self) -> int:
        """Do what is due now; return how many items it took on (0: nothing was due)."""

    async def next_wait(self) -> float:
        """Seconds to sleep when a round found nothing: until the next item comes due."""
        return self.poll_interval

    async def run(self) -> None:
        """Run rounds until cancelled; a failed round is logged and tried again later."""
        while True:
            self._wake.clear()  # a wake during the round calls for another one
            try:
                done = await self.run_once()
            except Exception:
                log.exception("%s failed; trying again shortly", self.what)
                done = 0
            if done:
                continue
            with anyio.move_on_after(await self.next_wait()):
                await self._wake.wait()
