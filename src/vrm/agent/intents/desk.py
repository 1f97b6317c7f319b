"""The person's intents desk: publish, fetch offers, compare, accept one, decline the rest.

Every action goes through the agent's transactions; the ones that reach the
network (the exchange's discovery and mailbox, a seller's site) are async, and run
their database work in a worker thread: a SQLite transaction may wait seconds for
the write lock, which must not stop the event loop (the inbox, the delivery worker,
the pages) meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from vrm.agent.agreements import service as agreements
from vrm.agent.agreements.choice import TermsChoice
from vrm.agent.errors import Conflict, VendorUnreachable
from vrm.agent.grants.service import add_grants
from vrm.agent.intents import service as intents
from vrm.agent.intents.service import IntentRecord, OfferRecord
from vrm.agent.outbox.store import enqueue
from vrm.agent.relationships.service import (
    Relationship,
    add_relationship,
    identity_of,
    list_relationships,
)
from vrm.protocol import Discovery, Identity, PartyState, compose
from vrm.protocol.v1.intents import (
    MAILBOX_FETCH,
    OFFER_ACCEPT,
    OFFER_DECLINE,
    Fetch,
    Intent,
    OfferAccept,
    OfferDecline,
)
from vrm.terms import Terms

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from vrm.agent.personal_agent import PersonalAgent
    from vrm.transport import HttpReply, Transport
    from vrm.vault import Sealer

JWS = "application/vrm+jws"


@dataclass(frozen=True)
class OfferComparison:
    """One offer next to the intent: what it costs in all, whether it takes the terms."""

    offer: OfferRecord
    total: float
    accepts_all_terms: bool
    missing_terms: list[str]
    known_vendor: Relationship | None
    """The person's relationship with this seller already, if any."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            **self.offer.as_json(),
            "total": self.total,
            "accepts_all_terms": self.accepts_all_terms,
            "missing_terms": self.missing_terms,
            "known_vendor": None if self.known_vendor is None else self.known_vendor.id,
        }


SORTS = {
    "total": lambda c: (c.total, c.offer.id),
    "price": lambda c: (c.offer.body.offer.price, c.offer.id),
    "delivery": lambda c: (c.offer.body.offer.availabilityStarts or "9999", c.total),
    "received": lambda c: c.offer.id,
}


@dataclass(frozen=True)
class Declined:
    """An offer the person declined, and whether its seller will be told."""

    offer: OfferRecord
    seller_told: bool
    """False when the seller's site could not be reached (or names another DID)."""


class IntentDesk:
    """Intents and offers for one unlocked agent."""

    def __init__(self, agent: PersonalAgent, *, transport: Transport | None = None) -> None:
        self.agent = agent
        self._transport = transport

    async def _network(self) -> tuple[Transport, bool]:
        if self._transport is not None:
            return self._transport, False
        from vrm.transport import AiohttpTransport

        policy = await anyio.to_thread.run_sync(self.agent.address_policy)
        return AiohttpTransport(policy=policy), True

    async def _discover(self, url: str) -> Discovery:
        from vrm.transport import DeliveryError, fetch_discovery

        transport, own = await self._network()
        try:
            return await fetch_discovery(transport, url)
        except DeliveryError as exc:
            raise VendorUnreachable(str(exc)) from exc
        finally:
            if own:
                await transport.aclose()

    # intents

    async def publish(self, exchange_url: str, intent: Intent) -> IntentRecord:
        """Publish ``intent`` at the exchange under a new pseudonym."""
        exchange = await self._discover(exchange_url)

        def write() -> IntentRecord:
            with self.agent._transaction() as (connection, queued, now, max_age):
                record = intents.publish(
                    connection,
                    self.agent.sealer,
                    exchange_url=exchange_url,
                    exchange=exchange,
                    intent=intent,
                    max_age=max_age,
                    now=now,
                )
                queued.append(record.message_id)
                return record

        return await anyio.to_thread.run_sync(write)

    def withdraw(self, intent_id: int) -> IntentRecord:
        """Withdraw an intent everywhere (the exchange tells the vendors)."""
        with self.agent._transaction() as (connection, queued, now, max_age):
            record = intents.get_intent(connection, self.agent.sealer, intent_id)
            sent = intents.withdraw(connection, self.agent.sealer, record, max_age=max_age, now=now)
            queued += [sent] if sent else []
            return intents.get_intent(connection, self.agent.sealer, intent_id)

    def intents(self) -> list[IntentRecord]:
        """Every intent, oldest first."""
        with self.agent.engine.begin() as connection:
            return intents.intents(connection, self.agent.sealer)

    def intent(self, intent_id: int) -> IntentRecord:
        """One intent."""
        with self.agent.engine.begin() as connection:
            return intents.get_intent(connection, self.agent.sealer, intent_id)

    # offers

    async def fetch_offers(self, intent_id: int, *, wait: float = 0) -> list[OfferRecord]:
        """Drain the intent's mailbox at the exchange; return the offers that are new.

        Raises:
            NotFound: there is no such intent.
            VendorUnreachable: the exchange cannot be reached, refuses, or answers
                with something other than a mailbox.
        """

        def read() -> tuple[IntentRecord, Identity | None]:
            with self.agent.engine.begin() as connection:
                record = intents.get_intent(connection, self.agent.sealer, intent_id)
                if record.state != intents.LIVE:
                    return record, None
                return record, intents.pseudonym_of(connection, self.agent.sealer, record)

        record, pseudonym = await anyio.to_thread.run_sync(read)
        if pseudonym is None:
            return []
        _, token = compose(
            pseudonym,
            type=MAILBOX_FETCH,
            to=record.exchange["did"],
            body=Fetch(after=record.mailbox_cursor),
        )
        url = record.exchange["url"].rstrip("/") + f"/mailbox/fetch?wait={wait:g}"
        from vrm.transport import TransportError

        transport, own = await self._network()
        try:
            reply = await transport.request("POST", url, content=token.encode(), content_type=JWS)
        except TransportError as exc:
            raise VendorUnreachable(f"cannot reach the exchange: {exc}") from exc
        finally:
            if own:
                await transport.aclose()
        if reply.status != 200:
            raise VendorUnreachable(f"the exchange answered {reply.status}: {reply.body[:200]!r}")
        fetched = _mailbox(reply)

        def keep() -> list[OfferRecord]:
            with self.agent._transaction() as (connection, _queued, now, _max_age):
                return intents.take_offers(connection, self.agent.sealer, record, fetched, now=now)

        return await anyio.to_thread.run_sync(keep)

    def compare(self, intent_id: int, *, sort: str = "total") -> list[OfferComparison]:
        """The intent's offers side by side, sorted (total, price, delivery or received)."""
        if sort not in SORTS:
            raise ValueError(f"sort by {', '.join(SORTS)}")
        with self.agent.engine.begin() as connection:
            record = intents.get_intent(connection, self.agent.sealer, intent_id)
            offers = intents.offers_of(connection, self.agent.sealer, intent_id)
            known = {
                r.vendor.did: r
                for r in list_relationships(connection, self.agent.sealer)
                if r.person_state != PartyState.ENDED
            }
        wanted = {term.casefold() for term in record.intent.terms}
        rows = []
        for offer in offers:
            taken = {term.casefold() for term in offer.body.accepts_terms}
            missing = [t for t in record.intent.terms if t.casefold() not in taken]
            rows.append(
                OfferComparison(
                    offer=offer,
                    total=offer.total,
                    accepts_all_terms=wanted <= taken,
                    missing_terms=missing,
                    known_vendor=known.get(offer.body.seller.did),
                )
            )
        return sorted(rows, key=SORTS[sort])

    async def accept(self, offer_id: int) -> Relationship:
        """Take an offer: relate with the seller on the intent's terms, grant what it needs.

        The seller is told which offer the relationship takes (``offer.accept``, from
        the intent's pseudonym), the other offers are declined and the intent is
        withdrawn at the exchange.

        Raises:
            NotFound: there is no such offer.
            Conflict: the offer was answered already or has expired, its intent is
                closed, or the seller's site names another DID than the offer's signer.
            VendorUnreachable: the seller's site cannot be reached.
        """
        sealer = self.agent.sealer

        def read() -> tuple[OfferRecord, IntentRecord, list[OfferRecord]]:
            with self.agent.engine.begin() as connection:
                offer = intents.get_offer(connection, sealer, offer_id)
                record = intents.get_intent(connection, sealer, offer.intent_id)
                return offer, record, _open_besides(connection, sealer, offer)

        offer, record, others = await anyio.to_thread.run_sync(read)
        _still_open(offer, record)
        if offer.body.offer.validThrough <= self.agent.clock():
            raise Conflict(f"offer {offer.id} has expired: ask the seller for a new one")
        seller = await self._discover(offer.body.seller.url)
        if seller.did != offer.body.seller.did or seller.did != offer.sender:
            raise Conflict("the seller's site names another DID than the one that signed the offer")
        inboxes = {o.id: await self._inbox_of(o) for o in others}
        return await anyio.to_thread.run_sync(self._take, offer_id, seller, inboxes)

    def _take(
        self, offer_id: int, seller: Discovery, inboxes: dict[int, str | None]
    ) -> Relationship:
        """The transaction of :meth:`accept`, once the sellers' sites were asked."""
        sealer = self.agent.sealer
        reply_to = self.agent.reply_url()
        with self.agent._transaction() as (connection, queued, now, max_age):
            # Read again inside the transaction: while the network was awaited another
            # accept or a decline may have answered the offer or closed its intent.
            offer = intents.get_offer(connection, sealer, offer_id)
            record = intents.get_intent(connection, sealer, offer.intent_id)
            _still_open(offer, record)
            relationship = self._relate(
                connection, seller, offer, terms_of(record.intent), reply_to, max_age, now
            )
            queued.append(relationship.request_id)
            if offer.body.needs:
                add_grants(
                    connection,
                    sealer,
                    relationship=relationship,
                    paths=list(offer.body.needs),
                    purpose=f"offer {offer.id}: {offer.body.offer.name}"[:1024],
                    now=now,
                )
            intents.set_offer_state(
                connection, sealer, offer, intents.ACCEPTED, vendor_id=relationship.id, now=now
            )
            pseudonym = intents.pseudonym_of(connection, sealer, record)
            queued.append(
                enqueue(
                    connection,
                    sealer,
                    sender=pseudonym,
                    to=offer.sender,
                    inbox=seller.inbox,
                    type=OFFER_ACCEPT,
                    body=OfferAccept(offer=offer.message_id, relationship=relationship.our_did),
                    vendor_id=None,
                    max_age=max_age,
                    now=now,
                )
            )
            for other in _open_besides(connection, sealer, offer):
                # An offer that arrived while the sites were asked has no inbox yet: it
                # is declined all the same, and lapses at its validThrough for the seller.
                inbox = inboxes.get(other.id)
                if inbox is not None:
                    queued.append(
                        enqueue(
                            connection,
                            sealer,
                            sender=pseudonym,
                            to=other.sender,
                            inbox=inbox,
                            type=OFFER_DECLINE,
                            body=OfferDecline(offer=other.message_id, reason="another offer taken"),
                            vendor_id=None,
                            max_age=max_age,
                            now=now,
                        )
                    )
                intents.set_offer_state(connection, sealer, other, intents.DECLINED, now=now)
            sent = intents.withdraw(
                connection, sealer, record, state=intents.ACCEPTED, max_age=max_age, now=now
            )
            queued += [sent] if sent else []
            return relationship

    async def decline(self, offer_id: int, *, reason: str = "declined") -> Declined:
        """Decline the offer ``offer_id``: an ``offer.decline`` to its seller, the offer closed.

        The offer is declined even when the seller's site cannot be reached, as when
        another offer is taken: an unanswered offer lapses at its ``validThrough`` anyway.

        Raises:
            NotFound: there is no such offer.
            Conflict: the offer was answered already.
        """
        offer = await anyio.to_thread.run_sync(self._offer, offer_id)
        if offer.state != intents.RECEIVED:
            raise Conflict(f"offer {offer.id} is {offer.state} already")
        inbox = await self._inbox_of(offer)
        return await anyio.to_thread.run_sync(self._decline, offer_id, inbox, reason)

    def _offer(self, offer_id: int) -> OfferRecord:
        with self.agent.engine.begin() as connection:
            return intents.get_offer(connection, self.agent.sealer, offer_id)

    def _decline(self, offer_id: int, inbox: str | None, reason: str) -> Declined:
        """The transaction of :meth:`decline`, once the seller's site was asked."""
        agent = self.agent
        with agent._transaction() as (connection, queued, now, max_age):
            # Read again inside the transaction: the offer may have been answered meanwhile.
            offer = intents.get_offer(connection, agent.sealer, offer_id)
            if offer.state != intents.RECEIVED:
                raise Conflict(f"offer {offer.id} is {offer.state} already")
            if inbox is not None:
                record = intents.get_intent(connection, agent.sealer, offer.intent_id)
                queued.append(
                    enqueue(
                        connection,
                        agent.sealer,
                        sender=intents.pseudonym_of(connection, agent.sealer, record),
                        to=offer.sender,
                        inbox=inbox,
                        type=OFFER_DECLINE,
                        body=OfferDecline(offer=offer.message_id, reason=reason),
                        vendor_id=None,
                        max_age=max_age,
                        now=now,
                    )
                )
            intents.set_offer_state(connection, agent.sealer, offer, intents.DECLINED, now=now)
            return Declined(
                intents.get_offer(connection, agent.sealer, offer_id), inbox is not None
            )

    async def _inbox_of(self, offer: OfferRecord) -> str | None:
        try:
            found = await self._discover(offer.body.seller.url)
        except VendorUnreachable:
            return None  # declined all the same; it is told when it can be reached
        return found.inbox if found.did == offer.sender else None

    def _relate(
        self,
        connection: Any,
        seller: Discovery,
        offer: OfferRecord,
        terms: Terms,
        reply_to: str,
        max_age: float,
        now: float,
    ) -> Relationship:
        """A new relationship with the seller, or the open one the person already has."""
        sealer = self.agent.sealer
        for existing in list_relationships(connection, sealer):
            if existing.vendor.did == seller.did and existing.person_state != PartyState.ENDED:
                return existing
        relationship, proffered = add_relationship(
            connection,
            sealer,
            discovery=seller,
            url=offer.body.seller.url,
            reply_to=reply_to,
            terms=terms,
            max_age=max_age,
            now=now,
        )
        agreements.make_proffer(
            connection,
            sealer,
            relationship=relationship,
            identity=identity_of(connection, sealer, relationship),
            terms=terms,
            message_id=relationship.request_id,
            now=now,
            signed=proffered,
        )
        return relationship


def terms_of(intent: Intent) -> Terms:
    """The terms an intent asks for: its first id names the agreement, the rest add to it."""
    first, *rest = intent.terms
    return TermsChoice(first, tuple(rest)).terms()


def _still_open(offer: OfferRecord, record: IntentRecord) -> None:
    """Raise Conflict unless the offer waits for an answer and its intent is live."""
    if offer.state != intents.RECEIVED or record.state != intents.LIVE:
        raise Conflict(f"offer {offer.id} is {offer.state}, its intent {record.state}")


def _open_besides(connection: Connection, sealer: Sealer, offer: OfferRecord) -> list[OfferRecord]:
    """The other offers for the same intent still waiting for an answer."""
    return [
        o
        for o in intents.offers_of(connection, sealer, offer.intent_id)
        if o.id != offer.id and o.state == intents.RECEIVED
    ]


def _mailbox(reply: HttpReply) -> list[dict[str, Any]]:
    """The messages in the exchange's answer to a mailbox fetch.

    Raises:
        VendorUnreachable: the answer is not a JSON object with a list of messages.
    """
    try:
        answered = reply.json()
    except ValueError as exc:  # not JSON, or not UTF-8
        raise VendorUnreachable(f"the exchange answered with no JSON: {exc}") from exc
    messages = answered.get("messages", []) if isinstance(answered, dict) else None
    if not isinstance(messages, list) or not all(
        isinstance(m, dict) and isinstance(m.get("id"), int) and isinstance(m.get("message"), str)
        for m in messages
    ):
        raise VendorUnreachable(f"the exchange answered with no mailbox: {reply.body[:200]!r}")
    return messages
