"""The vendor endpoint as one object: use it whole, or mount its inbox in your own app.

Whole (what ``vrm serve vendor`` runs)::

    endpoint = VendorEndpoint.open(settings, home=Path("/var/lib/vrm"))
    app = create_vendor_app(endpoint, api_token="…")   # discovery, /inbox, /api, /docs

In a vendor's own ASGI application::

    from vrm.transport import InboxEndpoint
    inbox = InboxEndpoint(endpoint.inbox)
    my_app.router.routes.append(Route("/vrm/inbox", inbox, methods=["POST"]))
    # run endpoint.worker.run() in your lifespan, and read endpoint.records from your code

Every message the inbox accepts goes through :class:`vrm.vendor.records.Records`
in one transaction with the jobs it causes; the :class:`JobWorker` delivers them.
Intents matched by exchanges (``intent.match``, ``intent.withdraw``) and people's
answers to offers (``offer.decline``, ``offer.accept``) go to
:class:`vrm.vendor.intents.Intents`; :class:`vrm.vendor.exchanges.Exchanges`
subscribes at the exchanges of the settings (run ``endpoint.exchanges.run()``
beside the worker) and posts offers. Health records customers present to the vendor
as their doctor (``health.presentation``, ``health.withdraw``) go to
:class:`vrm.vendor.health.HealthPresentations`; run ``endpoint.health.sweeper.run()``
beside the worker too: it deletes them when their grant ends. Reviews customers send
(``review``, ``review.withdraw``) go to :class:`vrm.vendor.reviews.Reviews`, which also
fetches people's public review feeds (``endpoint.reviews.fetch(url)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from sqlalchemy import Engine

from vrm.keyfile import load_or_create_identity
from vrm.protocol import (
    Discovery,
    Identity,
    Message,
    ReceiptSeller,
    Verifier,
    relationship_types,
)
from vrm.protocol.v1.health import (
    HEALTH_PRESENTATION,
    HEALTH_WITHDRAW,
    HealthPresentation,
    HealthWithdraw,
)
from vrm.protocol.v1.intents import (
    INTENT_MATCH,
    INTENT_WITHDRAW,
    OFFER_ACCEPT,
    OFFER_DECLINE,
    IntentMatch,
    IntentWithdraw,
    OfferAccept,
    OfferDecline,
)
from vrm.protocol.v1.payments import PAYMENT_NOTICE, PaymentNotice
from vrm.protocol.v1.reviews import REVIEW, REVIEW_WITHDRAW, ReviewMessage, ReviewWithdraw
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.client import AiohttpTransport, Transport
from vrm.transport.delivery import Sender
from vrm.transport.inbox import Inbox
from vrm.transport.seen_ids import PersistentSeenIds, open_seen_ids
from vrm.vendor.adapters.base import Adapter
from vrm.vendor.checkout import SEEN_FILE, Checkout, SeenProofs
from vrm.vendor.config import VendorSettings, build_adapter
from vrm.vendor.exchanges import Exchanges
from vrm.vendor.health import HealthPresentations
from vrm.vendor.intents import Intents
from vrm.vendor.memberships import MembershipDesk
from vrm.vendor.payments import PaymentsReceived
from vrm.vendor.receipts import ReceiptPolicy
from vrm.vendor.records import Records
from vrm.vendor.reviews import Reviews
from vrm.vendor.worker import JobWorker

MIGRATIONS = Path(__file__).parent / "migrations"
DATABASE_FILE = "vendor.db"
SEEN_IDS_FILE = "seen-ids.db"
IDLE_POLL_SECONDS = 30.0
INBOX_PATH = "/inbox"
"""Where ``create_vendor_app`` serves the inbox: exchanges push to ``public_url`` + this."""
_FROM_EXCHANGES_AND_PSEUDONYMS = (INTENT_MATCH, INTENT_WITHDRAW, OFFER_DECLINE, OFFER_ACCEPT)


@dataclass
class VendorEndpoint:
    """A vendor's protocol party: identity, inbox, records and job worker."""

    settings: VendorSettings
    identity: Identity
    engine: Engine
    seen_ids: PersistentSeenIds
    records: Records
    inbox: Inbox
    worker: JobWorker
    adapters: Mapping[str, Adapter]
    intents: Intents
    exchanges: Exchanges
    payments: PaymentsReceived
    health: HealthPresentations
    reviews: Reviews
    memberships: MembershipDesk
    checkout: Checkout

    @classmethod
    def open(
        cls,
        settings: VendorSettings,
        *,
        home: Path,
        adapters: list[Adapter] | None = None,
        transport: Transport | None = None,
        identity: Identity | None = None,
    ) -> VendorEndpoint:
        """Open (creating on first use) the endpoint whose key and store live in ``home``.

        ``adapters`` replaces the adapters of the settings (for a vendor's own code).
        """
        home.mkdir(parents=True, exist_ok=True)
        identity = identity or load_or_create_identity(home)
        engine = database_engine(settings.database or home / DATABASE_FILE)
        migrate_to_newest(engine, MIGRATIONS)
        seen_ids = open_seen_ids(
            settings.database
            if settings.database and settings.database.startswith("postgresql")
            else str(home / SEEN_IDS_FILE)
        )
        chosen = adapters if adapters is not None else [build_adapter(a) for a in settings.adapters]
        by_name = {adapter.name: adapter for adapter in chosen}
        receipt_policy = ReceiptPolicy(
            seller=ReceiptSeller(name=settings.name, url=settings.public_url),
            on_offer_accept=settings.receipts.on_offer_accept,
        )
        records = Records(
            engine,
            identity=identity,
            policy=settings.policy.policy(),
            adapters=list(by_name),
            max_age=settings.delivery_max_age,
            terms_policy=settings.terms.policy(),
            receipt_policy=receipt_policy,
        )
        policy = AddressPolicy(
            allow_loopback=settings.allow_loopback, allow_private=settings.allow_private
        )
        sender = Sender(transport or AiohttpTransport(policy=policy))
        # Every job is written by this process, which wakes the worker; the poll only
        # catches retries coming due, so it can be slow and cost nothing when idle.
        worker = JobWorker(
            engine, sender, by_name, poll_interval=IDLE_POLL_SECONDS, identity=identity
        )
        intents = Intents(
            engine,
            identity=identity,
            name=settings.name,
            public_url=settings.public_url,
            terms_policy=lambda: records.terms_policy,
            receipt_policy=receipt_policy,
            max_age=settings.delivery_max_age,
        )
        public_url = settings.public_url.rstrip("/") if settings.public_url else None
        exchanges = Exchanges(
            engine,
            identity=identity,
            intents=intents,
            sender=sender,
            settings=settings.exchanges,
            name=settings.name,
            inbox_url=public_url + INBOX_PATH if public_url else None,
        )
        types = relationship_types()
        # Of intentcasting, the inbox takes only what comes to a vendor: matches,
        # withdrawals, and the person's answers to its offers.
        types.add(INTENT_MATCH, IntentMatch)
        types.add(OFFER_DECLINE, OfferDecline)
        types.add(OFFER_ACCEPT, OfferAccept)
        types.add(INTENT_WITHDRAW, IntentWithdraw)
        # Anyone may pay: a payment notice needs no relationship (EmanciPay).
        types.add(PAYMENT_NOTICE, PaymentNotice)
        # Health records a customer presents to the vendor as their doctor, and withdraws.
        types.add(HEALTH_PRESENTATION, HealthPresentation)
        types.add(HEALTH_WITHDRAW, HealthWithdraw)
        # Reviews a customer sends, with their licence, and withdraws.
        types.add(REVIEW, ReviewMessage)
        types.add(REVIEW_WITHDRAW, ReviewWithdraw)
        verifier = Verifier(receiver=identity.did, types=types, seen_ids=seen_ids)
        endpoint = cls(
            settings=settings,
            identity=identity,
            engine=engine,
            seen_ids=seen_ids,
            records=records,
            inbox=Inbox(identity=identity, verifier=verifier, handler=_unset_handler),
            worker=worker,
            adapters=by_name,
            intents=intents,
            exchanges=exchanges,
            payments=PaymentsReceived(engine, outgoing=records.outgoing, payee=settings.name),
            health=HealthPresentations(engine, outgoing=records.outgoing, on_queued=worker.wake),
            reviews=Reviews(engine, transport=sender.transport),
            memberships=MembershipDesk(
                engine,
                identity=identity,
                outgoing=lambda: records.outgoing,
                program=f"{settings.name} membership",
            ),
            checkout=Checkout(engine, vendor=identity.did, seen=SeenProofs(home / SEEN_FILE)),
        )
        endpoint.inbox.handler = endpoint.handle
        records.accept_newly_allowed()
        return endpoint

    def discovery(self, inbox_url: str) -> Discovery:
        """The discovery document (``/.well-known/vrm``) with the terms this vendor accepts."""
        terms = self.records.terms_policy
        return Discovery(
            did=self.identity.did,
            name=self.settings.name,
            inbox=inbox_url,
            message_types=list(self.inbox.verifier.types),
            accepted_terms=sorted(terms.accepts),
            accepted_additional_terms=sorted(terms.accepts_additional),
            alternative_terms=terms.alternative,
        )

    async def handle(self, message: Message) -> None:
        """Apply a verified message (off the event loop) and let the worker send what it caused.

        The worker is woken only when the message queued jobs: a round that finds
        nothing due costs two transactions, more than applying the message does.
        """
        if message.type == PAYMENT_NOTICE:
            queued = await anyio.to_thread.run_sync(self.payments.receive, message)
        elif message.type in _FROM_EXCHANGES_AND_PSEUDONYMS:
            queued = await anyio.to_thread.run_sync(self.intents.receive, message)
        elif message.type in (HEALTH_PRESENTATION, HEALTH_WITHDRAW):
            queued = await self.health.handle(message)
        elif message.type in (REVIEW, REVIEW_WITHDRAW):
            queued = await anyio.to_thread.run_sync(self.reviews.receive, message)
        else:
            queued = await anyio.to_thread.run_sync(self.records.receive, message)
        if queued:
            self.worker.wake()

    async def aclose(self) -> None:
        """Close connections, adapters and stores."""
        await self.worker.sender.transport.aclose()
        for adapter in self.adapters.values():
            await adapter.aclose()
        self.seen_ids.close()
        self.checkout.close()
        self.engine.dispose()


async def _unset_handler(_message: Message) -> None:  # replaced in VendorEndpoint.open
    raise RuntimeError("the endpoint's handler is not set")
