"""Pushers on the shared push queue (NATS JetStream): each message pushed by one process.

Every process pulls from one durable consumer of a work-queue stream, so a message
goes to one pusher at a time. A pusher reads the delivery from the store (the store,
not the message, says what to push and whether it is still to be pushed), signs and
posts it as :class:`~vrm.exchange.worker.Pusher` does for one process, records the
outcome, and only then acknowledges the message.

A process killed mid-push leaves its messages unacknowledged; the stream hands them to
another pusher once ``ack_wait`` has passed. Pushing again is harmless: the push keeps
its message id (``match-N``), so a vendor that had it answers ``409 replay``, which
counts as delivered. While a batch is being pushed its messages are marked in progress,
so a slow vendor does not make the stream hand them out again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from sqlalchemy import Engine

from vrm.exchange.market import PENDING
from vrm.exchange.schema import deliveries
from vrm.exchange.worker import QUEUED, Due, Pusher, due_pushes, record_pushes
from vrm.transport.background import running
from vrm.transport.backoff import Backoff
from vrm.transport.delivery import DeliveryError

if TYPE_CHECKING:
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)


class QueuePushers:
    """Pulls pushes from the queue and makes them until cancelled.

    Args:
        engine: the exchange's database.
        pusher: signs and posts each push.
        subscribe: binds a new pull subscription to the shared consumer (one per lane).
        ack_wait: the consumer's acknowledgement wait; batches in flight are marked in
            progress twice within it.
        lanes: batches pulled and pushed at once in this process.
        batch: messages pulled at a time by a lane.
    """

    def __init__(
        self,
        engine: Engine,
        pusher: Pusher,
        subscribe: Callable[[], Awaitable[JetStreamContext.PullSubscription]],
        *,
        ack_wait: float,
        backoff: Backoff | None = None,
        lanes: int = 4,
        batch: int = 64,
        fetch_wait: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.pusher = pusher
        self.subscribe = subscribe
        self.ack_wait = ack_wait
        self.backoff = backoff or Backoff()
        self.lanes = lanes
        self.batch = batch
        self.fetch_wait = fetch_wait
        self.clock = clock

    async def run(self) -> None:
        """Push from the queue until cancelled."""
        async with anyio.create_task_group() as lanes:
            for _ in range(self.lanes):
                lanes.start_soon(self._lane)

    async def _lane(self) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        while True:
            try:
                if subscription is None:
                    subscription = await self.subscribe()
                messages = await self._pull(subscription)
            except TimeoutError:
                continue  # nothing to push
            except Exception:
                log.exception("pulling pushes from the queue failed; trying again shortly")
                await asyncio.sleep(1.0)
                continue
            try:
                await self.handle(messages)
            except Exception:
                log.exception(
                    "a batch of %d pushes failed; the queue hands it out again", len(messages)
                )

    async def _pull(self, subscription: JetStreamContext.PullSubscription) -> list[Msg]:
        """The next messages: waits for one, then takes what else is there without waiting.

        (Asked for a whole batch at once, the client would wait for the batch to fill.)
        """
        messages = await subscription.fetch(1, timeout=self.fetch_wait)
        if self.batch > 1:
            with contextlib.suppress(TimeoutError):
                messages += await subscription.fetch(self.batch - 1, timeout=0.1)
        return messages

    async def handle(self, messages: Sequence[Msg]) -> None:
        """Push what ``messages`` ask for, record the outcomes, then acknowledge them."""
        wanted: dict[int, set[int]] = {}  # delivery → the attempts its messages were for
        for message in messages:
            try:
                body = json.loads(message.data)
                wanted.setdefault(int(body["delivery"]), set()).add(int(body["attempt"]))
            except (ValueError, KeyError, TypeError):
                log.warning("dropping a malformed message from the push queue")
        if wanted:
            async with self._in_progress(messages):
                due = await anyio.to_thread.run_sync(self._load, list(wanted))
                # A delivery made or retried meanwhile is at another attempt: a stale message.
                current = [item for item in due if item.attempts in wanted[item.id]]
                outcomes = await asyncio.gather(*(self.pusher.push(item) for item in current))
                pushed = list(zip(current, outcomes, strict=True))
                try:
                    await anyio.to_thread.run_sync(self._record, pushed)
                except Exception:
                    for message in messages:
                        with contextlib.suppress(Exception):
                            await message.nak(delay=self.ack_wait)
                    raise
        for message in messages:
            await message.ack()

    @contextlib.asynccontextmanager
    async def _in_progress(self, messages: Sequence[Msg]) -> AsyncIterator[None]:
        """Tell the stream the batch is being worked on, so it is not handed out again."""

        async def keep() -> None:
            while True:
                await asyncio.sleep(self.ack_wait / 2)
                for message in messages:
                    with contextlib.suppress(Exception):
                        await message.in_progress()

        async with running(keep()):
            yield

    def _load(self, ids: list[int]) -> list[Due]:
        with self.engine.begin() as connection:
            return due_pushes(
                connection,
                deliveries.c.id.in_(ids) & deliveries.c.state.in_((PENDING, QUEUED)),
                limit=len(ids),
            )

    def _record(self, outcomes: list[tuple[Due, DeliveryError | None]]) -> None:
        with self.engine.begin() as connection:
            record_pushes(connection, outcomes, backoff=self.backoff, now=self.clock())
