"""The relay: due deliveries from the store's outbox onto the push queue (NATS JetStream).

An intent is committed before the exchange answers 202, marked while its deliveries
(one row per vendor to push to, ``pending``) are still to be written; the relay writes
them first (``Market.fan_out``, which splits the marked intents between processes), so
the marks and the ``deliveries`` table are the outbox. The relay of every process claims
due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (two
relays never take the same rows), publishes one message per row, waits for the stream's
acknowledgements while it still holds the rows, and only then marks them ``queued``. A
process that dies before its commit leaves them ``pending``: another relay publishes
them again under the same ``Nats-Msg-Id``, which the stream drops as a duplicate if the
first copy made it.

A row stays ``queued`` until a pusher records its outcome. One still ``queued`` after
``requeue_after`` (its message lost with the stream, say) is published again: a lost
message delays a push, never loses it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.from_thread
import anyio.to_thread
from sqlalchemy import Connection, Engine, select, update

from vrm.exchange.market import PENDING
from vrm.exchange.schema import deliveries
from vrm.exchange.worker import QUEUED
from vrm.transport.background import Rounds

if TYPE_CHECKING:
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)


def push_message(delivery: int, attempt: int) -> tuple[bytes, str]:
    """A delivery's message on the queue, and its id for the stream's de-duplication.

    The id is stable for one attempt: publishing the same attempt again is a duplicate.
    """
    return json.dumps({"delivery": delivery, "attempt": attempt}).encode(), f"{delivery}.{attempt}"


class Relay(Rounds):
    """Hands due deliveries to the push queue until cancelled.

    Args:
        engine: the exchange's database (PostgreSQL when several processes share it).
        jetstream: the NATS JetStream context.
        subject: where pushes are published; ``stream`` must take it.
        fan_out: writes the deliveries of the intents taken since (``Market.fan_out``).
        requeue_after: seconds after which a row still ``queued`` is published again;
            longer than the stream's duplicate window.
        poll_interval: seconds between looks when nothing woke the relay (retries
            coming due, rows a dead process left).
    """

    what = "relaying pushes to the queue"

    def __init__(
        self,
        engine: Engine,
        jetstream: JetStreamContext,
        *,
        subject: str,
        stream: str,
        fan_out: Callable[[Connection], int] | None = None,
        requeue_after: float = 600.0,
        batch: int = 500,
        poll_interval: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.engine = engine
        self.jetstream = jetstream
        self.subject = subject
        self.stream = stream
        self.fan_out = fan_out
        self.requeue_after = requeue_after
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """Queue the deliveries due now (a batch at most).

        Returns:
            How many intents it wrote deliveries for and deliveries it queued: 0 when
            there was nothing to do.
        """
        return await anyio.to_thread.run_sync(self._relay)

    def _relay(self) -> int:
        fanned = 0
        if self.fan_out is not None:
            with self.engine.begin() as connection:  # kept even if the queue is down
                fanned = self.fan_out(connection)
        return fanned + self._queue()

    def _queue(self) -> int:
        """Claim, publish and mark, in one transaction: the rows stay locked until marked."""
        with self.engine.begin() as connection:
            claimed = [
                (row.id, row.attempts)
                for row in connection.execute(
                    select(deliveries.c.id, deliveries.c.attempts)
                    .where(
                        deliveries.c.state.in_((PENDING, QUEUED)),
                        deliveries.c.next_attempt_at <= self.clock(),
                    )
                    .order_by(deliveries.c.next_attempt_at)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ]
            if not claimed:
                return 0
            published = anyio.from_thread.run(self._publish, claimed)
            if not published:
                raise ConnectionError("the push queue took none of the deliveries")
            connection.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(published))
                .values(state=QUEUED, next_attempt_at=self.clock() + self.requeue_after)
            )
        return len(published)

    async def _publish(self, claimed: Sequence[tuple[int, int]]) -> list[int]:
        """Publish one message per row; the ids of those the stream acknowledged."""

        async def one(delivery: int, attempt: int) -> None:
            payload, message_id = push_message(delivery, attempt)
            await self.jetstream.publish(
                self.subject, payload, stream=self.stream, headers={"Nats-Msg-Id": message_id}
            )

        acks = await asyncio.gather(
            *(one(delivery, attempt) for delivery, attempt in claimed), return_exceptions=True
        )
        failed = [ack for ack in acks if isinstance(ack, BaseException)]
        if failed:
            log.warning("%d of %d pushes not queued: %s", len(failed), len(acks), failed[0])
        return [delivery for (delivery, _), ack in zip(claimed, acks, strict=True) if ack is None]
