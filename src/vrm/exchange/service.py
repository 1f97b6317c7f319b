"""The exchange as one object: identity, store, market, inbox, pushes and bus.

``vrm serve exchange`` opens it and serves :func:`vrm.exchange.api.create_exchange_app`.
Alone it is one process (:class:`~vrm.exchange.bus.LocalBus`); given a NATS URL, it is
one of several processes serving one market (:class:`~vrm.exchange.nats_bus.NatsBus`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from sqlalchemy import Engine

from vrm.exchange.batching import IntentBatcher
from vrm.exchange.bus import DEFAULT_PREFIX, Arrivals, Bus, LocalBus
from vrm.exchange.market import Market
from vrm.exchange.worker import MatchWorker, Pusher
from vrm.keyfile import load_or_create_identity
from vrm.protocol import (
    PING,
    PING_RESPONSE,
    PROBLEM_REPORT,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
)
from vrm.protocol.v1.intents import (
    EXCHANGE_SUBSCRIBE,
    INTENT,
    INTENT_WITHDRAW,
    intent_types,
)
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.client import AiohttpTransport
from vrm.transport.delivery import Sender
from vrm.transport.inbox import Inbox
from vrm.transport.seen_ids import PersistentSeenIds, open_seen_ids

MIGRATIONS = Path(__file__).parent / "migrations"
DATABASE_FILE = "exchange.db"
SEEN_IDS_FILE = "seen-ids.db"


@dataclass(frozen=True)
class ExchangeSettings:
    """Where the exchange keeps things and whom it may call."""

    name: str = "vrm intent exchange"
    public_url: str | None = None
    database: str | None = None
    allow_loopback: bool = False
    allow_private: bool = False
    nats: str | None = None
    """A NATS server with JetStream: this process is one of several serving the market."""
    nats_prefix: str = DEFAULT_PREFIX
    """The market's NATS subjects and stream (one prefix per market)."""
    ack_wait: float = 30.0
    """Seconds before a push a dead process held is handed to another (with NATS)."""


@dataclass
class Exchange:
    """An intent exchange: its identity, market, inbox, verifier, pushes and bus."""

    settings: ExchangeSettings
    identity: Identity
    engine: Engine
    market: Market
    seen_ids: PersistentSeenIds
    verifier: Verifier
    inbox: Inbox
    pusher: Pusher
    arrivals: Arrivals
    bus: Bus

    def __post_init__(self) -> None:
        self.batcher = IntentBatcher(self.market, on_matched=self.bus.queued)

    @classmethod
    def open(cls, settings: ExchangeSettings, *, home: Path, public_url: str) -> Exchange:
        """Open (creating on first use) the exchange whose key and store live in ``home``."""
        home.mkdir(parents=True, exist_ok=True)
        identity = load_or_create_identity(home)
        engine = database_engine(settings.database or home / DATABASE_FILE)
        migrate_to_newest(engine, MIGRATIONS)
        seen_ids = open_seen_ids(
            settings.database
            if settings.database and settings.database.startswith("postgresql")
            else str(home / SEEN_IDS_FILE)
        )
        # An intent's row is its replay record (one pseudonym, one intent), written in
        # the transaction that takes it: intents skip the seen-ids store.
        verifier = Verifier(
            receiver=identity.did,
            types=intent_types(),
            seen_ids=seen_ids,
            replays_kept_by_handler={INTENT},
        )
        market = Market(engine)
        policy = AddressPolicy(
            allow_loopback=settings.allow_loopback, allow_private=settings.allow_private
        )
        pusher = Pusher(
            identity,
            Sender(AiohttpTransport(policy=policy)),
            mailbox_url=public_url.rstrip("/") + "/mailbox",
        )
        arrivals = Arrivals()
        bus: Bus
        if settings.nats:
            from vrm.exchange.nats_bus import NatsBus  # NATS's client only when it is used

            bus = NatsBus(
                settings.nats,
                engine=engine,
                market=market,
                pusher=pusher,
                arrivals=arrivals,
                prefix=settings.nats_prefix,
                ack_wait=settings.ack_wait,
            )
        else:
            bus = LocalBus(MatchWorker(engine, pusher, fan_out=market.fan_out), arrivals)
        exchange = cls(
            settings=settings,
            identity=identity,
            engine=engine,
            market=market,
            seen_ids=seen_ids,
            verifier=verifier,
            inbox=Inbox(identity=identity, verifier=verifier, handler=_unset),
            pusher=pusher,
            arrivals=arrivals,
            bus=bus,
        )
        exchange.inbox.handler = exchange.handle
        return exchange

    async def handle(self, message: Message) -> None:
        """Apply a verified message from a person or a vendor (off the event loop)."""
        if message.type == INTENT:
            if not (await self.batcher.publish(message)).new:
                raise ProtocolError(RefusalCode.REPLAY, f"intent {message.id} was already taken")
        elif message.type == INTENT_WITHDRAW:
            if await anyio.to_thread.run_sync(self.market.withdraw, message):
                self.bus.queued()  # vendors it was pushed to are told
        elif message.type == EXCHANGE_SUBSCRIBE:
            await anyio.to_thread.run_sync(self.market.subscribe, message)
            await self.bus.subscriptions_changed()
        elif message.type in (PING, PING_RESPONSE, PROBLEM_REPORT):
            return  # understood; nothing to keep
        else:
            raise ProtocolError(
                RefusalCode.UNKNOWN_TYPE, f"the exchange's inbox does not take {message.type}"
            )

    async def aclose(self) -> None:
        """Close connections and stores."""
        await self.pusher.aclose()
        self.seen_ids.close()
        self.engine.dispose()


async def _unset(_message: Message) -> None:  # replaced in Exchange.open
    raise RuntimeError("the exchange's handler is not set")
