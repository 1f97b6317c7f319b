"""Pushes matched intents to the vendors that subscribed with an inbox.

Each delivery becomes an ``intent.match`` signed by the exchange, carrying the
person's signed intent and where offers go; it is retried with backoff until the
vendor takes it or the delivery's maximum age passes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import anyio.to_thread
from sqlalchemy import Engine, select, update

from vrm.exchange.market import DELIVERED, FAILED, PENDING, WITHDRAWN
from vrm.exchange.schema import deliveries, intents, pools, vendors
from vrm.protocol import Identity, new_envelope, sign_message
from vrm.protocol.v1.intents import INTENT_MATCH, INTENT_WITHDRAW, IntentMatch, IntentWithdraw
from vrm.transport.backoff import Backoff
from vrm.transport.delivery import DeliveryError, Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Due:
    id: int
    vendor: str
    inbox: str
    token: str
    attempts: int
    give_up_at: float
    pool_id: int | None
    pool_size: int | None
    kind: str
    intent_id: str


class MatchWorker:
    """Runs due pushes concurrently until cancelled.

    Args:
        engine: the exchange's database.
        identity: the exchange's identity (it signs each ``intent.match``).
        sender: posts to vendors' inboxes.
        mailbox_url: where vendors post offers.
    """

    def __init__(
        self,
        engine: Engine,
        identity: Identity,
        sender: Sender,
        *,
        mailbox_url: str,
        backoff: Backoff | None = None,
        concurrency: int = 256,
        batch: int = 2000,
        poll_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.identity = identity
        self.sender = sender
        self.mailbox_url = mailbox_url
        self.backoff = backoff or Backoff()
        self.batch = batch
        self.poll_interval = poll_interval
        self.clock = clock
        self._gate = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for pushes now."""
        self._wake.set()

    async def run_once(self) -> int:
        """Push everything due now; return how many were tried."""
        due = await anyio.to_thread.run_sync(self._due)
        if not due:
            return 0
        outcomes = await asyncio.gather(*(self._push(item) for item in due))
        await anyio.to_thread.run_sync(self._record, list(zip(due, outcomes, strict=True)))
        return len(due)

    async def run(self) -> None:
        """Push until cancelled."""
        while True:
            try:
                tried = await self.run_once()
            except Exception:
                log.exception("a round of pushes failed; trying again shortly")
                tried = 0
            if tried:
                continue
            self._wake.clear()
            with anyio.move_on_after(self.poll_interval):
                await self._wake.wait()

    async def _push(self, item: _Due) -> DeliveryError | None:
        if item.kind == WITHDRAWN:
            envelope = new_envelope(
                type=INTENT_WITHDRAW,
                sender=self.identity.did,
                to=item.vendor,
                message_id=f"withdrawn-{item.id}",
                body=IntentWithdraw(intent=item.intent_id),
            )
            return await self._send(item, sign_message(envelope, self.identity))
        envelope = new_envelope(
            type=INTENT_MATCH,
            sender=self.identity.did,
            to=item.vendor,
            message_id=f"match-{item.id}",  # the same id on every attempt: a repeat is a replay
            body=IntentMatch(
                intent=item.token,
                mailbox=self.mailbox_url,
                pool=item.pool_size or 1,
                pool_id=None if item.pool_id is None else f"pool-{item.pool_id}",
            ),
        )
        return await self._send(item, sign_message(envelope, self.identity))

    async def _send(self, item: _Due, token: str) -> DeliveryError | None:
        async with self._gate:
            try:
                await self.sender.deliver(item.inbox, token)
            except DeliveryError as exc:
                return exc
        return None

    def _due(self) -> list[_Due]:
        with self.engine.begin() as connection:
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
                )
                .join(vendors, vendors.c.did == deliveries.c.vendor)
                .join(intents, intents.c.id == deliveries.c.intent)
                .outerjoin(pools, pools.c.id == intents.c.pool_id)
                .where(deliveries.c.state == PENDING, deliveries.c.next_attempt_at <= self.clock())
                .order_by(deliveries.c.id)
                .limit(self.batch)
            ).all()
        return [_Due(*tuple(row)) for row in rows if row.inbox]

    def _record(self, outcomes: list[tuple[_Due, DeliveryError | None]]) -> None:
        now = self.clock()
        with self.engine.begin() as connection:
            for item, error in outcomes:
                values: dict[str, object]
                if error is None:
                    values = {"state": DELIVERED, "delivered_at": now}
                elif not error.retryable or now >= item.give_up_at:
                    values = {"state": FAILED, "last_error": str(error)}
                else:
                    wait = self.backoff.delay(item.attempts + 1, error.retry_after)
                    values = {"next_attempt_at": now + wait, "last_error": str(error)}
                connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id == item.id)
                    .values(attempts=item.attempts + 1, **values)
                )
