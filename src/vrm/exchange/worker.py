"""Pushes matched intents to the vendors that subscribed with an inbox.

Each delivery becomes an ``intent.match`` signed by the exchange, carrying the
person's signed intent and where offers go (or an ``intent.withdraw`` once an
intent pushed before is gone); it is retried with backoff until the vendor takes
it or the delivery's maximum age passes.

:class:`Pusher` signs and posts one push and :func:`due_pushes` / :func:`record_pushes`
read and write the deliveries: the :class:`MatchWorker` here (one process, the
default) and the pushers of :mod:`vrm.exchange.nats_bus` (several processes) share them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio
import anyio.to_thread
from sqlalchemy import ColumnElement, Connection, Engine, insert, select, update

from vrm.exchange.market import DELIVERED, FAILED, LIVE, MAX_PUSH_AGE, PENDING, WITHDRAWN
from vrm.exchange.schema import deliveries, intents, pools, vendors
from vrm.protocol import Identity, new_envelope, sign_message
from vrm.protocol.v1.intents import INTENT_MATCH, INTENT_WITHDRAW, IntentMatch, IntentWithdraw
from vrm.transport.background import Rounds
from vrm.transport.backoff import Backoff
from vrm.transport.delivery import DeliveryError, Sender

log = logging.getLogger(__name__)

QUEUED = "queued"
"""A delivery handed to the push queue (NATS JetStream); the queue's pushers make it."""


@dataclass(frozen=True, slots=True)
class Due:
    """A delivery to push now, with what its message needs."""

    id: int
    vendor: str
    inbox: str | None
    token: str
    attempts: int
    give_up_at: float
    pool_id: int | None
    pool_size: int | None
    kind: str
    intent_id: str
    intent: int
    """The intent's number in the store."""


def due_pushes(connection: Connection, where: ColumnElement[bool], *, limit: int) -> list[Due]:
    """The deliveries that ``where`` selects, oldest first, with their intent and vendor.

    A delivery whose vendor has gone (it unsubscribed) comes with ``inbox`` None.
    """
    rows = connection.execute(
        select(
            deliveries.c.id,
            deliveries.c.vendor,
            vendors.c.inbox,
            intents.c.token,
            deliveries.c.attempts,
            deliveries.c.give_up_at,
            intents.c.pool_id,
            pools.c.size,
            deliveries.c.kind,
            intents.c.message_id,
            deliveries.c.intent,
        )
        .outerjoin(vendors, vendors.c.did == deliveries.c.vendor)
        .join(intents, intents.c.id == deliveries.c.intent)
        .outerjoin(pools, pools.c.id == intents.c.pool_id)
        .where(where)
        .order_by(deliveries.c.id)
        .limit(limit)
    ).all()
    return [Due(*tuple(row)) for row in rows]


def record_pushes(
    connection: Connection,
    outcomes: Sequence[tuple[Due, DeliveryError | None]],
    *,
    backoff: Backoff,
    now: float,
) -> None:
    """Write each push's outcome: delivered, failed, or pending again after a backoff.

    Only a delivery still at the attempt that was pushed changes: one pushed again
    meanwhile (a redelivery from the queue) or closed (its intent withdrawn) is left
    as it is. A match that reached the vendor while its intent was being closed (the
    delivery is gone) gets a withdrawal notice, as a match pushed before would have.
    """
    for item, error in outcomes:
        values: dict[str, object]
        if error is None:
            values = {"state": DELIVERED, "delivered_at": now}
        elif not error.retryable or now >= item.give_up_at:
            values = {"state": FAILED, "last_error": str(error)}
        else:
            wait = backoff.delay(item.attempts + 1, error.retry_after)
            values = {"state": PENDING, "next_attempt_at": now + wait, "last_error": str(error)}
        changed = connection.execute(
            update(deliveries)
            .where(
                deliveries.c.id == item.id,
                deliveries.c.attempts == item.attempts,
                deliveries.c.state.in_((PENDING, QUEUED)),
            )
            .values(attempts=item.attempts + 1, **values)
        ).rowcount
        if not changed and error is None and item.kind != WITHDRAWN:
            _told_if_closed_meanwhile(connection, item, now)


def _told_if_closed_meanwhile(connection: Connection, item: Due, now: float) -> None:
    """Queue the withdrawal of a match pushed while its intent was closed."""
    if connection.execute(select(deliveries.c.id).where(deliveries.c.id == item.id)).first():
        return  # still there: recorded by another pusher, nothing was missed
    live = connection.execute(select(intents.c.state).where(intents.c.id == item.intent)).scalar()
    if live == LIVE:
        return
    connection.execute(
        insert(deliveries).values(
            intent=item.intent,
            vendor=item.vendor,
            kind=WITHDRAWN,
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            give_up_at=now + MAX_PUSH_AGE,
        )
    )


class Pusher:
    """Signs a delivery as the exchange and posts it to the vendor's inbox.

    Args:
        identity: the exchange's identity (it signs each push).
        sender: posts to vendors' inboxes.
        mailbox_url: where vendors post offers (set again once the server listens).
        concurrency: pushes in flight at most.
    """

    def __init__(
        self, identity: Identity, sender: Sender, *, mailbox_url: str, concurrency: int = 256
    ) -> None:
        self.identity = identity
        self.sender = sender
        self.mailbox_url = mailbox_url
        self._gate = asyncio.Semaphore(concurrency)

    def sign(self, item: Due) -> str:
        """The push as a compact JWS; the same id on every attempt, so a repeat is a replay."""
        if item.kind == WITHDRAWN:
            envelope = new_envelope(
                type=INTENT_WITHDRAW,
                sender=self.identity.did,
                to=item.vendor,
                message_id=f"withdrawn-{item.id}",
                body=IntentWithdraw(intent=item.intent_id),
            )
        else:
            envelope = new_envelope(
                type=INTENT_MATCH,
                sender=self.identity.did,
                to=item.vendor,
                message_id=f"match-{item.id}",
                body=IntentMatch(
                    intent=item.token,
                    mailbox=self.mailbox_url,
                    pool=item.pool_size or 1,
                    pool_id=None if item.pool_id is None else f"pool-{item.pool_id}",
                ),
            )
        return sign_message(envelope, self.identity)

    async def push(self, item: Due) -> DeliveryError | None:
        """Push one delivery; None when the vendor has it (now or from an earlier attempt)."""
        if item.inbox is None:
            return DeliveryError("the vendor no longer takes pushes", retryable=False)
        token = self.sign(item)
        async with self._gate:
            try:
                await self.sender.deliver(item.inbox, token)
            except DeliveryError as exc:
                return exc
        return None

    async def aclose(self) -> None:
        """Close the connections to vendors."""
        await self.sender.transport.aclose()


class MatchWorker(Rounds):
    """Runs due pushes concurrently until cancelled: the exchange in one process.

    Args:
        engine: the exchange's database.
        pusher: signs and posts each push.
        fan_out: writes the deliveries of the intents taken since (``Market.fan_out``).
    """

    what = "a round of pushes"

    def __init__(
        self,
        engine: Engine,
        pusher: Pusher,
        *,
        fan_out: Callable[[Connection], int] | None = None,
        backoff: Backoff | None = None,
        batch: int = 2000,
        poll_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(poll_interval=poll_interval)
        self.engine = engine
        self.pusher = pusher
        self.fan_out = fan_out
        self.backoff = backoff or Backoff()
        self.batch = batch
        self.clock = clock

    async def run_once(self) -> int:
        """Push everything due now; return how many were tried."""
        due = await anyio.to_thread.run_sync(self._due)
        if not due:
            return 0
        outcomes = await asyncio.gather(*(self.pusher.push(item) for item in due))
        await anyio.to_thread.run_sync(self._record, list(zip(due, outcomes, strict=True)))
        return len(due)

    def _due(self) -> list[Due]:
        with self.engine.begin() as connection:
            if self.fan_out is not None:
                self.fan_out(connection)
            # A vendor gone, or fetching now, keeps its pending deliveries (it may push again).
            return due_pushes(
                connection,
                (deliveries.c.state == PENDING)
                & (deliveries.c.next_attempt_at <= self.clock())
                & vendors.c.inbox.is_not(None),
                limit=self.batch,
            )

    def _record(self, outcomes: list[tuple[Due, DeliveryError | None]]) -> None:
        with self.engine.begin() as connection:
            record_pushes(connection, outcomes, backoff=self.backoff, now=self.clock())
