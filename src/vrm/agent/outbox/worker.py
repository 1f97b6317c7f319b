"""The delivery worker: sends what the outbox holds, concurrently, until it is delivered.

Each round takes the due messages (the oldest pending one of each vendor),
sends them all at once over one connection pool, and writes every outcome in one
transaction. A message refused for good (a vendor's 4xx, an address the policy
forbids) fails at once; others are retried with backoff until their maximum age.
A ``409 replay`` means the vendor already has the message: delivered.

Database work runs in a thread, so the event loop only ever waits on the network.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

import anyio.to_thread
from sqlalchemy import Engine

from vrm.agent.outbox import store
from vrm.agent.outbox.store import Outcome, OutgoingMessage
from vrm.transport import DeliveryError, Sender
from vrm.transport.background import Rounds
from vrm.transport.backoff import Backoff
from vrm.vault import Sealer

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 256
DEFAULT_BATCH = 2000
DEFAULT_POLL_INTERVAL = 1.0


class DeliveryWorker(Rounds):
    """Delivers the outbox of one agent (:meth:`run` until cancelled).

    Args:
        engine: the agent's database.
        sealer: opens the sealed messages.
        sender: posts them.
        backoff: how long to wait between attempts.
        concurrency: messages in flight at once.
        batch: the most messages taken in one round.
        poll_interval: how often to look for messages written by another process
            (a ``vrm`` command run while the agent serves); in-process writers
            call :meth:`wake` instead.
    """

    what = "a delivery round"

    def __init__(
        self,
        engine: Engine,
        sealer: Sealer,
        sender: Sender,
        *,
        backoff: Backoff | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        batch: int = DEFAULT_BATCH,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.engine = engine
        self.sealer = sealer
        self.sender = sender
        self.backoff = backoff or Backoff()
        self.batch = batch
        self.clock = clock
        self._gate = asyncio.Semaphore(concurrency)

    async def run_once(self) -> int:
        """Send every message due now; return how many were tried."""
        due = await anyio.to_thread.run_sync(self._due)
        if not due:
            return 0
        outcomes = await asyncio.gather(*(self._send(message) for message in due))
        await anyio.to_thread.run_sync(self._record, outcomes)
        return len(due)

    async def drain(self, only: Sequence[str], *, timeout: float) -> None:
        """Send what is due until none of ``only`` is left due, for at most ``timeout`` s.

        Used by commands that write messages and want them sent before they return
        (older messages to the same vendors go first, as always); whatever must
        wait stays in the outbox for the running agent.
        """
        remaining = list(only)
        with anyio.move_on_after(timeout):
            while remaining and await self.run_once():
                remaining = await anyio.to_thread.run_sync(self._still_due, remaining)

    async def next_wait(self) -> float:
        """Until the next retry comes due, or the poll interval."""
        next_at = await anyio.to_thread.run_sync(self._next_due_at)
        if next_at is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, next_at - self.clock()))

    async def _send(self, message: OutgoingMessage) -> Outcome:
        async with self._gate:
            try:
                await self.sender.deliver(message.inbox, message.token, encrypted=message.encrypted)
            except DeliveryError as exc:
                log.info("delivery of %s failed: %s", message.message_id, exc)
                return Outcome(
                    message.row_id,
                    delivered=False,
                    retryable=exc.retryable,
                    status=exc.status,
                    code=exc.code,
                    error=str(exc),
                    retry_after=exc.retry_after,
                )
            return Outcome(message.row_id, delivered=True, status=202)

    def _due(self) -> list[OutgoingMessage]:
        with self.engine.begin() as connection:
            return store.due(connection, self.sealer, now=self.clock(), limit=self.batch)

    def _record(self, outcomes: list[Outcome]) -> None:
        with self.engine.begin() as connection:
            store.record(connection, self.sealer, outcomes, backoff=self.backoff, now=self.clock())

    def _next_due_at(self) -> float | None:
        with self.engine.begin() as connection:
            return store.next_due_at(connection)

    def _still_due(self, only: list[str]) -> list[str]:
        with self.engine.begin() as connection:
            return store.pending_due(connection, only, now=self.clock())
