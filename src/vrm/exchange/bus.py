"""What one exchange process tells the others, and itself: the bus.

Three things that happen in one process matter beyond the request that caused them:

- deliveries were queued (an intent matched, withdrawn or expired): push them;
- an offer was kept for a pseudonym: wake the long-polls waiting on its mailbox;
- a vendor's subscriptions changed: rebuild the in-memory subscription index.

A :class:`Bus` carries them. :class:`LocalBus` is the exchange as one process (the
default, with no NATS): its :class:`~vrm.exchange.worker.MatchWorker` pushes, and the
other two never leave the process. :class:`vrm.exchange.nats_bus.NatsBus` carries them
over NATS, so that several processes, on several machines, serve one market
(docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from vrm.exchange.worker import MatchWorker
from vrm.transport.background import running

DEFAULT_PREFIX = "vrm.exchange"
_PREFIX = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")


class Bus(Protocol):
    """How an exchange process hands on what happened (see the module's docstring)."""

    def running(self) -> AbstractAsyncContextManager[None]:
        """Run the bus's work (pushes, listeners) for as long as the block lasts."""
        ...

    def queued(self) -> None:
        """Deliveries were queued in the store: push them soon."""
        ...

    async def offer_kept(self, pseudonym: str) -> None:
        """An offer for ``pseudonym`` is in the store: wake whoever waits for it."""
        ...

    async def subscriptions_changed(self) -> None:
        """This process stored a vendor's subscriptions: every other must reload them."""
        ...


class Arrivals:
    """Wakes the long-polls waiting on a pseudonym's mailbox when an offer arrives.

    A wake-up only says "look again": the long-poll reads the store after it, so
    one that is lost, or comes twice, changes nothing but when the answer comes.
    """

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def arrived(self, pseudonym: str) -> None:
        """Wake the long-polls of ``pseudonym``, if there are any."""
        event = self._events.pop(pseudonym, None)
        if event is not None:
            event.set()

    async def wait(self, pseudonym: str, seconds: float) -> None:
        """Wait until an offer for ``pseudonym`` arrives, or ``seconds`` pass."""
        event = self._events[pseudonym]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        if self._events.get(pseudonym) is event and not event.is_set():
            del self._events[pseudonym]


class LocalBus:
    """The exchange in one process: its own worker pushes; nothing leaves the process."""

    def __init__(self, worker: MatchWorker, arrivals: Arrivals) -> None:
        self.worker = worker
        self.arrivals = arrivals

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the push worker for as long as the block lasts."""
        async with running(self.worker.run()):
            yield

    def queued(self) -> None:
        """Wake the push worker."""
        self.worker.wake()

    async def offer_kept(self, pseudonym: str) -> None:
        """Wake this process's long-polls on ``pseudonym``."""
        self.arrivals.arrived(pseudonym)

    async def subscriptions_changed(self) -> None:
        """Nothing to do: the market that stored them has reloaded its index."""


def check_prefix(prefix: str) -> str:
    """``prefix`` if it can name NATS subjects (``vrm.exchange``); else ValueError."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError("a NATS prefix is dot-separated words of letters, digits, _ and -")
    return prefix
