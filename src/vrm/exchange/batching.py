"""Group commit for intents: one transaction for all that arrived meanwhile.

Every intent that arrives while a transaction is being written goes into the next
one. Each inbox request waits for the transaction holding its intent, so it is answered
202 only once the intent is durable; under load one commit serves many requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import anyio.to_thread

from vrm.exchange.market import Market, Published
from vrm.protocol import Message, ProtocolError

log = logging.getLogger(__name__)

MAX_BATCH = 512


class IntentBatcher:
    """Collects intents and publishes them in batches, one transaction each."""

    def __init__(self, market: Market, *, on_matched: Callable[[], None]) -> None:
        self.market = market
        self.on_matched = on_matched
        self._pending: list[tuple[Message, asyncio.Future[Published]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def publish(self, message: Message) -> Published:
        """Publish ``message`` in the next batch; return its outcome once it is durable.

        Raises:
            ProtocolError: the intent is refused (see :meth:`Market.publish`).
        """
        done: asyncio.Future[Published] = asyncio.get_running_loop().create_future()
        self._pending.append((message, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())
        return await done

    async def _write(self) -> None:
        """Write batches until nothing is pending."""
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            messages = [message for message, _ in batch]
            try:
                outcomes = await anyio.to_thread.run_sync(self.market.publish_many, messages)
            except Exception as exc:  # the whole transaction failed: every request fails
                log.exception("a batch of %d intents could not be written", len(batch))
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            pushed = False
            for (_, done), outcome in zip(batch, outcomes, strict=True):
                if done.done():
                    continue
                if isinstance(outcome, ProtocolError):
                    done.set_exception(outcome)
                else:
                    pushed = pushed or outcome.pushed
                    done.set_result(outcome)
            if pushed:
                self.on_matched()  # there are deliveries to write and push
