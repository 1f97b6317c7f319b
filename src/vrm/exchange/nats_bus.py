"""The bus over NATS: several exchange processes, on several machines, serve one market.

Everything durable is in the shared database (PostgreSQL); NATS carries work and news:

- ``<prefix>.push`` on the JetStream stream ``<PREFIX>`` (work-queue retention): one
  message per push to make. Every process relays due deliveries onto it
  (:class:`~vrm.exchange.relay.Relay`) and pushes from it through one shared durable
  consumer (:class:`~vrm.exchange.pushers.QueuePushers`), so each push is made by one
  process; one killed mid-push has its messages handed to another after ``ack_wait``.
- ``<prefix>.mailbox`` (core NATS): an offer was kept for the pseudonym in the payload;
  every process wakes its long-polls on it. A wake-up lost on the way only makes a
  long-poll answer at its timeout, from the store, as it always reads.
- ``<prefix>.subscriptions`` (core NATS): a vendor's subscriptions changed; every other
  process rebuilds its subscription index from the store. A notice lost on the way is
  made up for by a reload every ``reload_interval`` and after each reconnection.

The prefix names one market: processes of one market share it, and nothing else does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import nats
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, ServiceUnavailableError
from sqlalchemy import Engine

from vrm.exchange.bus import DEFAULT_PREFIX, Arrivals, check_prefix
from vrm.exchange.market import Market
from vrm.exchange.pushers import QueuePushers
from vrm.exchange.relay import Relay
from vrm.exchange.worker import Pusher
from vrm.transport.background import running

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext

log = logging.getLogger(__name__)

CONSUMER = "pushers"
"""The durable consumer every process pulls pushes from."""
CONNECT_SECONDS = 10.0
"""How long a process waits for NATS as it starts before it gives up."""
DUPLICATE_WINDOW = 120.0
"""Seconds in which the stream drops a message published again under the same id."""
_STREAM_CONFIG_CHANGED = 10058  # JetStream: "stream name already in use with a different config"


class NatsBus:
    """Pushes, offer wake-ups and subscription notices shared over NATS.

    Args:
        url: the NATS server(s), e.g. ``nats://127.0.0.1:4222`` (comma-separated for several).
        engine: the shared database.
        market: this process's market (its subscription index is reloaded on notice).
        pusher: signs and posts pushes.
        arrivals: this process's long-polls.
        prefix: the market's subjects (``<prefix>.push`` …) and, upper-cased with
            ``_`` for ``.``, its stream.
        ack_wait: seconds a pulled push may stay unacknowledged before the stream hands
            it to another process (a process that died). Give every process the same.
        requeue_after: seconds a queued delivery waits before it is published again.
        reload_interval: seconds between reloads of the subscription index.
    """

    def __init__(
        self,
        url: str,
        *,
        engine: Engine,
        market: Market,
        pusher: Pusher,
        arrivals: Arrivals,
        prefix: str = DEFAULT_PREFIX,
        ack_wait: float = 30.0,
        requeue_after: float = 600.0,
        reload_interval: float = 60.0,
    ) -> None:
        if requeue_after <= DUPLICATE_WINDOW:
            raise ValueError("requeue_after must be longer than the stream's duplicate window")
        self.url = url
        self.engine = engine
        self.market = market
        self.pusher = pusher
        self.arrivals = arrivals
        self.prefix = check_prefix(prefix)
        self.stream = prefix.replace(".", "_").upper()
        self.ack_wait = ack_wait
        self.requeue_after = requeue_after
        self.reload_interval = reload_interval
        self.origin = secrets.token_hex(8).encode()
        """Who this process is in its own notices (it ignores them)."""
        self._connection: Client | None = None
        self._relay: Relay | None = None
        self._reload = asyncio.Event()

    @property
    def push_subject(self) -> str:
        """Where pushes are queued."""
        return f"{self.prefix}.push"

    @property
    def mailbox_subject(self) -> str:
        """Where offer wake-ups go."""
        return f"{self.prefix}.mailbox"

    @property
    def subscriptions_subject(self) -> str:
        """Where subscription notices go."""
        return f"{self.prefix}.subscriptions"

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Connect, declare the stream and consumer, listen and push, while the block lasts.

        Raises:
            ConnectionError: NATS cannot be reached, or has no JetStream.
        """
        try:
            connection = await asyncio.wait_for(
                nats.connect(
                    self.url,
                    name=f"vrm exchange {self.origin.decode()}",
                    connect_timeout=CONNECT_SECONDS,
                    max_reconnect_attempts=-1,  # once up, a NATS restart must not end the exchange
                    reconnect_time_wait=1,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                ),
                CONNECT_SECONDS,
            )
        except Exception as exc:
            log.error("cannot reach NATS at %s: %s", self.url, str(exc) or "no answer")
            raise ConnectionError(f"cannot reach NATS at {self.url}") from exc
        self._connection = connection
        try:
            jetstream = connection.jetstream()
            await self.declare(jetstream)
            await connection.subscribe(self.mailbox_subject, cb=self._offer_arrived)
            await connection.subscribe(self.subscriptions_subject, cb=self._notice)
            self._reload.set()  # what was subscribed before the notices reached this process
            self._relay = Relay(
                self.engine,
                jetstream,
                subject=self.push_subject,
                stream=self.stream,
                fan_out=self.market.fan_out,
                requeue_after=self.requeue_after,
            )
            pushers = QueuePushers(
                self.engine,
                self.pusher,
                lambda: jetstream.pull_subscribe_bind(durable=CONSUMER, stream=self.stream),
                ack_wait=self.ack_wait,
            )
            async with running(self._relay.run(), pushers.run(), self._reload_subscriptions()):
                yield
        finally:
            self._relay = None
            self._connection = None
            with contextlib.suppress(Exception):
                await connection.flush(timeout=2)  # the last acknowledgements
            await connection.close()

    async def declare(self, jetstream: JetStreamContext) -> None:
        """Create the stream and the shared consumer, or bring them to this configuration.

        Raises:
            ConnectionError: the server has no JetStream.
        """
        stream = StreamConfig(
            name=self.stream,
            subjects=[self.push_subject],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.FILE,
            duplicate_window=DUPLICATE_WINDOW,
        )
        try:
            await jetstream.add_stream(stream)
        except BadRequestError as exc:
            if exc.err_code != _STREAM_CONFIG_CHANGED:
                raise
            await jetstream.update_stream(stream)
        except ServiceUnavailableError as exc:
            raise ConnectionError(f"NATS at {self.url} has no JetStream (run it with -js)") from exc
        await jetstream.add_consumer(  # the same name again updates it (ack_wait)
            self.stream,
            ConsumerConfig(
                name=CONSUMER,
                durable_name=CONSUMER,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_deliver=-1,  # the store decides when a delivery is given up
                max_ack_pending=20_000,
                filter_subject=self.push_subject,
            ),
        )

    def queued(self) -> None:
        """Wake this process's relay: it publishes what was queued."""
        if self._relay is not None:
            self._relay.wake()

    async def offer_kept(self, pseudonym: str) -> None:
        """Wake the long-polls on ``pseudonym`` here and in every other process."""
        self.arrivals.arrived(pseudonym)
        await self._announce(self.mailbox_subject, pseudonym.encode())

    async def subscriptions_changed(self) -> None:
        """Tell every other process to reload its subscription index."""
        await self._announce(self.subscriptions_subject, self.origin)

    async def _announce(self, subject: str, payload: bytes) -> None:
        if self._connection is None:
            return
        try:
            await self._connection.publish(subject, payload)
        except Exception as exc:  # a lost notice delays; the periodic reload and timeouts cover it
            log.warning("could not announce on %s: %s", subject, exc)

    async def _offer_arrived(self, message: Msg) -> None:
        self.arrivals.arrived(message.data.decode("ascii", "replace"))

    async def _notice(self, message: Msg) -> None:
        if message.data != self.origin:
            self._reload.set()

    async def _error(self, error: Exception) -> None:
        log.warning("NATS: %s", str(error) or type(error).__name__)

    async def _reconnected(self) -> None:
        self._reload.set()  # notices sent while disconnected were lost

    async def _reload_subscriptions(self) -> None:
        """Reload on notice (many notices at once: one reload) and every reload_interval."""
        while True:
            with anyio.move_on_after(self.reload_interval):
                await self._reload.wait()
            self._reload.clear()
            try:
                await anyio.to_thread.run_sync(self.market.reload_subscriptions)
            except Exception:
                log.exception("reloading the subscriptions failed; trying again later")
