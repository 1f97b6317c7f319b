"""Intents that exchanges matched to this vendor, and the vendor's offers for them.

An exchange sends ``intent.match`` (pushed to the inbox, or fetched by the
endpoint: :mod:`vrm.vendor.exchanges`) carrying the person's signed intent. The
endpoint checks that signature itself — the person signed the intent to that
exchange, from a DID made for this intent alone — and keeps the intent once per
(pseudonym, intent id), however often and by whichever way it comes. An offer is
signed by the vendor and encrypted to the pseudonym: the exchange relays it
unread. A person who takes an offer asks for a relationship from a new pairwise
DID, and the pseudonym tells the vendor which offer that DID takes
(``offer.accept``): the offer then names its customer. The two messages come
separately, in either order, and nothing here waits for the other; the person
stays pseudonymous to everyone else. When the relationship is accepted already, the
acceptance sends the offer's receipt in its transaction (:mod:`vrm.vendor.receipts`).

Each method of :class:`Intents` is one transaction; none of them calls the network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vrm.protocol import (
    Identity,
    Message,
    MessageTypes,
    ProtocolError,
    RefusalCode,
    Verifier,
)
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.v1.intents import (
    Demand,
    Intent,
    IntentMatch,
    IntentWithdraw,
    OfferAccept,
    OfferDecline,
    Seller,
    intent_types,
)
from vrm.terms import VendorTermsPolicy
from vrm.vendor import receipts
from vrm.vendor.errors import IntentClosed, InvalidRequest, UnknownIntent
from vrm.vendor.jobs import DEFAULT_MAX_AGE
from vrm.vendor.offers import (
    MatchedIntent,
    OfferRequest,
    PreparedOffer,
    accepted_terms,
    sign_offer,
)
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.receipts import ReceiptPolicy
from vrm.vendor.schema import exchanges, matched_intents, offers

OPEN, OFFERED, WITHDRAWN, EXPIRED = "open", "offered", "withdrawn", "expired"
ACCEPTED = "accepted"
"""Of an intent: one of the offers made for it was taken, which closes it for good."""
INTENT_STATES = (OPEN, OFFERED, ACCEPTED, WITHDRAWN, EXPIRED)
SENT, DECLINED = "sent", "declined"
OFFER_STATES = (SENT, DECLINED, ACCEPTED)


class Intents:
    """The intents matched to one vendor endpoint, and its offers.

    Args:
        engine: the endpoint's database.
        identity: the vendor's identity (it signs offers).
        name: the vendor's name, as offers name the seller.
        public_url: the endpoint's base URL, where a person starts a relationship.
        terms_policy: the ``[terms]`` policy in force (read at each offer).
        clock: the time now, in Unix seconds.
        receipt_policy: the seller receipts name, and whether an accepted offer gets
            one (default: none).
        max_age: how long the worker retries the receipts sent.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        identity: Identity,
        name: str,
        public_url: str | None,
        terms_policy: Callable[[], VendorTermsPolicy],
        clock: Callable[[], float] = time.time,
        receipt_policy: ReceiptPolicy | None = None,
        max_age: float = DEFAULT_MAX_AGE,
    ) -> None:
        self.engine = engine
        self.identity = identity
        self.name = name
        self.public_url = public_url
        self.terms_policy = terms_policy
        self.clock = clock
        self.receipt_policy = receipt_policy
        self.max_age = max_age

    # messages from exchanges and people

    def receive(self, message: Message) -> bool:
        """Apply a verified message of intentcasting; True if it queued a message.

        ``intent.match`` and ``intent.withdraw`` come from an exchange, ``offer.decline``
        and ``offer.accept`` from the pseudonym an offer went to; an acceptance may
        queue the offer's receipt.
        """
        body = message.body
        with self.engine.begin() as connection:
            if isinstance(body, IntentMatch):
                if not _subscribed_at(connection, message.sender):
                    raise ProtocolError(
                        RefusalCode.WRONG_RECIPIENT,
                        "this endpoint is not subscribed at the exchange that sent the match",
                    )
                keep_intent(
                    connection,
                    exchange=message.sender,
                    mailbox=body.mailbox,
                    token=body.intent,
                    pool=body.pool,
                    pool_id=body.pool_id,
                    now=self.clock(),
                )
            elif isinstance(body, IntentWithdraw):
                if not _subscribed_at(connection, message.sender):
                    raise ProtocolError(
                        RefusalCode.WRONG_RECIPIENT,
                        "only an exchange this endpoint subscribed at tells it of withdrawals",
                    )
                connection.execute(
                    update(matched_intents)
                    .where(
                        matched_intents.c.exchange == message.sender,
                        matched_intents.c.intent_id == body.intent,
                        # an intent whose offer was taken stays accepted
                        matched_intents.c.state.in_([OPEN, OFFERED]),
                    )
                    .values(state=WITHDRAWN)
                )
            elif isinstance(body, OfferDecline):
                _declined(connection, message.sender, body, now=self.clock())
            elif isinstance(body, OfferAccept):
                _accepted(
                    connection,
                    message.sender,
                    body,
                    accepted_at=message.envelope.created_time,
                    now=self.clock(),
                )
                return self._receipts_for(connection, body.relationship)
        return False

    def _receipts_for(self, connection: Connection, customer: str) -> bool:
        """Send the receipts due for the offers ``customer`` accepted, if the policy says so."""
        policy = self.receipt_policy
        if policy is None or not policy.on_offer_accept:
            return False
        outgoing = Outgoing(self.identity, self.max_age, self.clock)
        return receipts.send_for_accepted_offers(
            connection, customer, seller=policy.seller, outgoing=outgoing
        )

    # reading

    def intents(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """The matched intents (or those in ``state``), oldest first, demand in clear."""
        with self.engine.begin() as connection:
            _expire(connection, self.clock())
            query = select(matched_intents).order_by(matched_intents.c.id)
            if state is not None:
                query = query.where(matched_intents.c.state == state)
            rows = connection.execute(query).all()
        policy = self.terms_policy()
        return [_intent_json(row, policy) for row in rows]

    def intent(self, intent_id: int) -> dict[str, Any]:
        """One matched intent, with the schema.org demand, the signed intent and its offers."""
        with self.engine.begin() as connection:
            _expire(connection, self.clock())
            row = _known(connection, intent_id)
            made = _offer_rows(connection, intent=intent_id)
        document = _intent_json(row, self.terms_policy())
        document["demand"] = json.loads(row.demand)
        document["token"] = row.token
        document["offers"] = [_offer_json(offer) for offer in made]
        return document

    def offers(
        self, *, state: str | None = None, intent: int | None = None
    ) -> list[dict[str, Any]]:
        """The offers made (or those in ``state``, or for ``intent``), oldest first."""
        with self.engine.begin() as connection:
            rows = _offer_rows(connection, state=state, intent=intent)
        return [_offer_json(row) for row in rows]

    # offers

    def prepare_offer(self, intent_id: int, request: OfferRequest) -> PreparedOffer:
        """Sign the offer and encrypt it to the intent's pseudonym; nothing is kept yet.

        Raises:
            UnknownIntent: no matched intent has this number.
            IntentClosed: it was withdrawn or has expired.
            InvalidRequest: the offer does not fit the intent, or there is no public URL.
        """
        now = self.clock()
        with self.engine.begin() as connection:
            _expire(connection, now)
            row = _known(connection, intent_id)
        if row.state in (ACCEPTED, WITHDRAWN, EXPIRED):
            raise IntentClosed(f"intent {intent_id} is {row.state}: it takes no offers")
        if self.public_url is None:
            raise InvalidRequest("set public_url: an offer names the vendor's address")
        seller = Seller(name=self.name, url=self.public_url, did=self.identity.did)
        return sign_offer(
            request,
            identity=self.identity,
            seller=seller,
            intent=MatchedIntent(
                id=row.id,
                intent_id=row.intent_id,
                pseudonym=row.pseudonym,
                mailbox=row.mailbox,
                terms=json.loads(row.terms),
                expires_at=row.expires_at,
            ),
            policy=self.terms_policy(),
            now=now,
        )

    def record_offer(self, prepared: PreparedOffer) -> dict[str, Any]:
        """Keep an offer the exchange took; its intent is now ``offered``."""
        now = self.clock()
        with self.engine.begin() as connection:
            offer_id = connection.execute(
                insert(offers)
                .values(
                    intent=prepared.intent,
                    message_id=prepared.message_id,
                    body=json.dumps(prepared.body.model_dump(mode="json", exclude_none=True)),
                    state=SENT,
                    sent_at=now,
                )
                .returning(offers.c.id)
            ).scalar_one()
            connection.execute(
                update(matched_intents)
                .where(matched_intents.c.id == prepared.intent, matched_intents.c.state == OPEN)
                .values(state=OFFERED)
            )
            row = connection.execute(select(offers).where(offers.c.id == offer_id)).one()
        return _offer_json(row)

    def closed_at_exchange(self, intent_id: int) -> str:
        """The exchange has no live intent any more: mark it expired or withdrawn; return which."""
        now = self.clock()
        with self.engine.begin() as connection:
            row = _known(connection, intent_id)
            state = EXPIRED if row.expires_at <= now else WITHDRAWN
            connection.execute(
                update(matched_intents)
                .where(
                    matched_intents.c.id == intent_id,
                    matched_intents.c.state.in_([OPEN, OFFERED]),
                )
                .values(state=state)
            )
        return state


def verify_intent(token: str, *, exchange: str, now: float) -> Message:
    """The person's signed intent, checked as the exchange it was addressed to checked it.

    The envelope of an intent may expire before the intent does (the person's agent
    signs it for as long as it retries sending it; the intent lasts until its
    ``validThrough``), so it is checked as of now, or as of the envelope's last valid
    second once that has passed.

    Raises:
        ProtocolError: ``invalid_body``: it does not verify, or is not an ``intent``.
    """
    try:
        expires = json.loads(b64url_decode(token.split(".")[1]))["expires_time"]
    except (ProtocolError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ProtocolError(RefusalCode.INVALID_BODY, "the intent is not a signed message") from exc
    if not isinstance(expires, int):
        raise ProtocolError(RefusalCode.INVALID_BODY, "the intent's expires_time is not a number")
    verifier = Verifier(
        receiver=exchange, types=_types(), seen_ids=None, clock=lambda: min(now, expires - 1)
    )
    try:
        message = verifier.verify(token)
    except ProtocolError as exc:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, f"the intent does not verify: {exc.code}: {exc.detail}"
        ) from exc
    if not isinstance(message.body, Intent):
        raise ProtocolError(RefusalCode.INVALID_BODY, f"{message.type} is not an intent")
    return message


def keep_intent(
    connection: Connection,
    *,
    exchange: str,
    mailbox: str,
    token: str,
    pool: int = 1,
    pool_id: str | None = None,
    now: float,
) -> bool:
    """Verify the person's intent and keep it once; True if it was new.

    A match of an intent already kept changes only its pool (more buyers may have joined).

    Raises:
        ProtocolError: ``invalid_body``: it does not verify, or has expired.
    """
    message = verify_intent(token, exchange=exchange, now=now)
    body = message.body
    assert isinstance(body, Intent)  # noqa: S101 - verify_intent checked it
    demand = body.demand
    if demand.validThrough <= now:
        raise ProtocolError(RefusalCode.INVALID_BODY, "the intent has expired")
    values = {
        "exchange": exchange,
        "mailbox": mailbox,
        "pseudonym": message.sender,
        "intent_id": message.id,
        "category": demand.category,
        "token": token,
        "demand": demand.model_dump_json(exclude_none=True),
        "terms": json.dumps(list(body.terms)),
        "pool": pool,
        "pool_id": pool_id,
        "state": OPEN,
        "received_at": now,
        "expires_at": float(demand.validThrough),
    }
    if connection.execute(_insert_once(connection), values).scalar() is not None:
        return True
    if pool_id is not None:
        connection.execute(
            update(matched_intents)
            .where(
                matched_intents.c.pseudonym == message.sender,
                matched_intents.c.intent_id == message.id,
            )
            .values(pool=pool, pool_id=pool_id)
        )
    return False


# helpers


@cache
def _types() -> MessageTypes:
    return intent_types()


def _insert_once(connection: Connection) -> Any:
    """An insert into matched_intents that skips an intent already kept.

    It returns the new row's id, or nothing when skipped: the row count cannot tell
    (PostgreSQL drivers answer -1 for an insert with RETURNING).
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(matched_intents).on_conflict_do_nothing().returning(matched_intents.c.id)


def _subscribed_at(connection: Connection, did: str) -> bool:
    """Whether ``did`` is an exchange this endpoint reached to subscribe."""
    found = connection.execute(select(exchanges.c.url).where(exchanges.c.did == did)).first()
    return found is not None


def _declined(connection: Connection, pseudonym: str, body: OfferDecline, *, now: float) -> None:
    row = connection.execute(
        select(offers.c.id, offers.c.state)
        .join(matched_intents, matched_intents.c.id == offers.c.intent)
        .where(offers.c.message_id == body.offer, matched_intents.c.pseudonym == pseudonym)
    ).one_or_none()
    if row is None:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this vendor made the sender no offer with that id"
        )
    if row.state == SENT:
        connection.execute(
            update(offers)
            .where(offers.c.id == row.id)
            .values(state=DECLINED, answered_at=now, reason=body.reason)
        )


def _accepted(
    connection: Connection, pseudonym: str, body: OfferAccept, *, accepted_at: int, now: float
) -> None:
    """Mark the offer accepted by the customer ``body.relationship``, and its intent taken.

    The same acceptance again changes nothing; an acceptance of an offer declined,
    already accepted by another DID, or made (``accepted_at``, the signed creation
    time) after the offer's ``validThrough`` is refused. A late delivery of an
    acceptance made in time is taken.
    """
    row = connection.execute(
        select(offers.c.id, offers.c.intent, offers.c.state, offers.c.customer, offers.c.body)
        .join(matched_intents, matched_intents.c.id == offers.c.intent)
        .where(offers.c.message_id == body.offer, matched_intents.c.pseudonym == pseudonym)
    ).one_or_none()
    if row is None:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this vendor made the sender no offer with that id"
        )
    if row.state == DECLINED:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, f"offer {body.offer} was declined: it cannot be accepted"
        )
    if accepted_at > json.loads(row.body)["offer"]["validThrough"]:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, f"offer {body.offer} had expired when it was accepted"
        )
    if row.state == ACCEPTED:
        if row.customer != body.relationship:
            raise ProtocolError(
                RefusalCode.INVALID_BODY,
                f"offer {body.offer} was accepted already, for another relationship",
            )
        return
    connection.execute(
        update(offers)
        .where(offers.c.id == row.id, offers.c.state == SENT)
        .values(state=ACCEPTED, answered_at=now, customer=body.relationship)
    )
    # Taken, the intent is closed whatever the exchange said of it before or says after.
    connection.execute(
        update(matched_intents).where(matched_intents.c.id == row.intent).values(state=ACCEPTED)
    )


def _expire(connection: Connection, now: float) -> None:
    connection.execute(
        update(matched_intents)
        .where(
            matched_intents.c.state.in_([OPEN, OFFERED]),
            matched_intents.c.expires_at <= now,
        )
        .values(state=EXPIRED)
    )


def _known(connection: Connection, intent_id: int) -> Any:
    row = connection.execute(
        select(matched_intents).where(matched_intents.c.id == intent_id)
    ).one_or_none()
    if row is None:
        raise UnknownIntent(f"no matched intent {intent_id}")
    return row


def _offer_rows(
    connection: Connection, *, state: str | None = None, intent: int | None = None
) -> list[Any]:
    query = select(offers).order_by(offers.c.id)
    if state is not None:
        query = query.where(offers.c.state == state)
    if intent is not None:
        query = query.where(offers.c.intent == intent)
    return list(connection.execute(query).all())


def _intent_json(row: Any, policy: VendorTermsPolicy) -> dict[str, Any]:
    demand = Demand.model_validate_json(row.demand)
    price = demand.priceSpecification
    asked: list[str] = json.loads(row.terms)
    return {
        "id": row.id,
        "state": row.state,
        "category": demand.category,
        "description": demand.description,
        "item": {
            "name": demand.itemOffered.name,
            "properties": {p.name: p.value for p in demand.itemOffered.additionalProperty},
        },
        "quantity": demand.eligibleQuantity.value,
        "price": {"min": price.minPrice, "max": price.maxPrice, "currency": price.priceCurrency},
        "place": demand.areaServed.model_dump(exclude_none=True),
        "needed_by": demand.availabilityEnds,
        "expires_at": row.expires_at,
        "terms": asked,
        "terms_accepted": accepted_terms(asked, policy),
        "pool": row.pool,
        "pool_id": row.pool_id,
        "exchange": row.exchange,
        "pseudonym": row.pseudonym,
        "intent_id": row.intent_id,
        "received_at": row.received_at,
    }


def _offer_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "intent": row.intent,
        "message_id": row.message_id,
        "state": row.state,
        "sent_at": row.sent_at,
        "answered_at": row.answered_at,
        "reason": row.reason,
        "customer": row.customer,
        "offer": json.loads(row.body),
    }
