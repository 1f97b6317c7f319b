"""Intents: what the person wants, published under a pseudonym used for nothing else.

Publishing makes a new identity (purpose ``intent``) and queues the signed
``intent`` for the exchange in the outbox. Offers arrive as JWEs in the
exchange's mailbox for that pseudonym; each is decrypted with the pseudonym's key,
verified (the vendor signed it, for this intent) and kept sealed as it arrived.
Everything about an intent and its offers is sealed at rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.identities.service import Purpose, create_identity, load_identity
from vrm.agent.outbox.store import DEFAULT_MAX_AGE, cancel_pending, enqueue
from vrm.protocol import Discovery, Identity, Message, ProtocolError, Verifier, decrypt
from vrm.protocol.kept import verify_kept
from vrm.protocol.v1.intents import (
    INTENT,
    INTENT_WITHDRAW,
    Intent,
    IntentWithdraw,
    OfferBody,
    intent_types,
)
from vrm.vault import Sealer

LIVE, WITHDRAWN, ACCEPTED = "live", "withdrawn", "accepted"
RECEIVED, DECLINED = "received", "declined"


@dataclass(frozen=True)
class IntentRecord:
    """One intent the person published, with where it went."""

    id: int
    pseudonym: str
    message_id: str
    intent: Intent
    exchange: dict[str, str]
    """The exchange's url, did and inbox."""
    state: str
    mailbox_cursor: int
    created_at: float
    expires_at: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "pseudonym": self.pseudonym,
            "message_id": self.message_id,
            "state": self.state,
            "exchange": self.exchange["url"],
            "intent": self.intent.model_dump(mode="json", exclude_none=True),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True)
class OfferRecord:
    """One offer a vendor sent for an intent, as it arrived (verified again when read)."""

    id: int
    intent_id: int
    message_id: str
    sender: str
    body: OfferBody
    state: str
    received_at: float
    vendor_id: int | None

    @property
    def total(self) -> float:
        """What the offer costs in all: its price and its delivery."""
        return self.body.offer.price + self.body.offer.deliveryCost

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "intent_id": self.intent_id,
            "message_id": self.message_id,
            "seller": self.body.seller.model_dump(mode="json"),
            "offer": self.body.offer.model_dump(mode="json", exclude_none=True),
            "total": self.total,
            "accepts_terms": self.body.accepts_terms,
            "needs": self.body.needs,
            "state": self.state,
            "received_at": self.received_at,
            "vendor_id": self.vendor_id,
        }


def publish(
    connection: Connection,
    sealer: Sealer,
    *,
    exchange_url: str,
    exchange: Discovery,
    intent: Intent,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> IntentRecord:
    """Make a pseudonym for the intent and queue it, signed, for the exchange."""
    pseudonym = create_identity(connection, sealer, purpose=Purpose.INTENT, now=now)
    message_id = enqueue(
        connection,
        sealer,
        sender=pseudonym,
        to=exchange.did,
        inbox=exchange.inbox,
        type=INTENT,
        body=intent,
        vendor_id=None,
        max_age=max_age,
        now=now,
    )
    where = {"url": exchange_url, "did": exchange.did, "inbox": exchange.inbox}
    sealed = sealer.seal_text(
        json.dumps({"intent": intent.model_dump(mode="json"), "exchange": where}),
        _place(pseudonym.did),
    )
    intent_id = connection.execute(
        text(
            "INSERT INTO intents (pseudonym, message_id, sealed_intent, state, created_at,"
            " expires_at) VALUES (:did, :message, :sealed, 'live', :now, :expires) RETURNING id"
        ),
        {
            "did": pseudonym.did,
            "message": message_id,
            "sealed": sealed,
            "now": now,
            "expires": float(intent.demand.validThrough),
        },
    ).scalar_one()
    audit.append(
        connection,
        sealer,
        kind="intent.published",
        details={
            "intent": intent_id,
            "category": intent.demand.category,
            "exchange": exchange_url,
            "message": message_id,
        },
        now=now,
    )
    return get_intent(connection, sealer, intent_id)


def withdraw(
    connection: Connection,
    sealer: Sealer,
    record: IntentRecord,
    *,
    state: str = WITHDRAWN,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> str | None:
    """Withdraw a live intent at the exchange; return the id of the message queued, if any.

    An intent still waiting in the outbox is simply not sent: nothing is withdrawn
    then (a withdrawal queued beside it could reach the exchange first).

    Raises:
        Conflict: it is no longer live.
    """
    if record.state != LIVE:
        raise Conflict(f"intent {record.id} is {record.state}")
    if cancel_pending(connection, record.message_id):
        message_id = None
    else:
        message_id = enqueue(
            connection,
            sealer,
            sender=pseudonym_of(connection, sealer, record),
            to=record.exchange["did"],
            inbox=record.exchange["inbox"],
            type=INTENT_WITHDRAW,
            body=IntentWithdraw(intent=record.message_id),
            vendor_id=None,
            max_age=max_age,
            now=now,
        )
    connection.execute(
        text("UPDATE intents SET state = :state WHERE id = :id"), {"state": state, "id": record.id}
    )
    audit.append(
        connection,
        sealer,
        kind=f"intent.{state}",
        details={"intent": record.id, "message": message_id},
        now=now,
    )
    return message_id


def take_offers(
    connection: Connection,
    sealer: Sealer,
    record: IntentRecord,
    fetched: list[dict[str, Any]],
    *,
    now: float,
) -> list[OfferRecord]:
    """Keep the offers fetched from the mailbox; ones that do not verify are dropped.

    Returns the offers that are new.
    """
    pseudonym = pseudonym_of(connection, sealer, record)
    verifier = Verifier(receiver=pseudonym.did, types=intent_types(), seen_ids=None)
    new: list[OfferRecord] = []
    cursor = record.mailbox_cursor
    for item in fetched:
        cursor = max(cursor, int(item["id"]))
        message = _opened(str(item["message"]), pseudonym, verifier)
        if message is None or not _for(message, record):
            continue
        kept = connection.execute(
            text(
                "INSERT INTO offers (intent_id, message_id, sealed_offer, state, received_at)"
                " VALUES (:intent, :message, :sealed, 'received', :now)"
                " ON CONFLICT (intent_id, message_id) DO NOTHING RETURNING id"
            ),
            {
                "intent": record.id,
                "message": message.id,
                "sealed": sealer.seal_text(message.compact, _offer_place(record.id)),
                "now": now,
            },
        ).scalar()
        if kept is not None:
            new.append(get_offer(connection, sealer, int(kept)))
            audit.append(
                connection,
                sealer,
                kind="offer.received",
                details={"intent": record.id, "offer": kept, "from": message.sender},
                now=now,
            )
    connection.execute(
        text("UPDATE intents SET mailbox_cursor = :cursor WHERE id = :id"),
        {"cursor": cursor, "id": record.id},
    )
    return new


def set_offer_state(
    connection: Connection,
    sealer: Sealer,
    offer: OfferRecord,
    state: str,
    *,
    vendor_id: int | None = None,
    now: float,
) -> None:
    """Record the person's answer to an offer, in the audit log too."""
    connection.execute(
        text(
            "UPDATE offers SET state = :state, answered_at = :now,"
            " vendor_id = coalesce(:vendor, vendor_id) WHERE id = :id"
        ),
        {"state": state, "now": now, "vendor": vendor_id, "id": offer.id},
    )
    details: dict[str, Any] = {
        "intent": offer.intent_id,
        "offer": offer.id,
        "seller": offer.body.seller.name,
        "name": offer.body.offer.name,
    }
    if vendor_id is not None:
        details["vendor"] = vendor_id
    audit.append(connection, sealer, kind=f"offer.{state}", details=details, now=now)


def pseudonym_of(connection: Connection, sealer: Sealer, record: IntentRecord) -> Identity:
    """The identity the intent was published under."""
    found = load_identity(connection, sealer, did=record.pseudonym)
    if found is None:
        raise NotFound(f"the pseudonym of intent {record.id} is missing")
    return found


def intents(
    connection: Connection, sealer: Sealer, *, state: str | None = None
) -> list[IntentRecord]:
    """Every intent (of one state), oldest first."""
    if state is None:
        return _intents(connection, sealer, "", {})
    return _intents(connection, sealer, "WHERE state = :state", {"state": state})


def get_intent(connection: Connection, sealer: Sealer, intent_id: int) -> IntentRecord:
    """The intent with this number.

    Raises:
        NotFound: there is none.
    """
    found = _intents(connection, sealer, "WHERE id = :id", {"id": intent_id})
    if not found:
        raise NotFound(f"no intent {intent_id}")
    return found[0]


def offers_of(connection: Connection, sealer: Sealer, intent_id: int) -> list[OfferRecord]:
    """The offers for one intent, in the order they came."""
    return _offers(connection, sealer, "WHERE intent_id = :intent", {"intent": intent_id})


def get_offer(connection: Connection, sealer: Sealer, offer_id: int) -> OfferRecord:
    """The offer with this number.

    Raises:
        NotFound: there is none.
    """
    found = _offers(connection, sealer, "WHERE id = :id", {"id": offer_id})
    if not found:
        raise NotFound(f"no offer {offer_id}")
    return found[0]


# helpers


def _opened(encrypted: str, pseudonym: Identity, verifier: Verifier) -> Message | None:
    try:
        message = verifier.verify(decrypt(encrypted, pseudonym))
    except ProtocolError:
        return None  # not for us, forged or malformed: nothing to keep
    return message if isinstance(message.body, OfferBody) else None


def _for(message: Message, record: IntentRecord) -> bool:
    """True when the offer answers this intent and names its signer as the seller."""
    body = message.body
    assert isinstance(body, OfferBody)  # noqa: S101 - _opened keeps only offers
    return body.intent == record.message_id and body.seller.did == message.sender


_INTENTS = (
    "SELECT id, pseudonym, message_id, sealed_intent, state, mailbox_cursor, created_at,"
    " expires_at FROM intents "
)
_OFFERS = (
    "SELECT o.id, o.intent_id, o.message_id, o.sealed_offer, o.state, o.received_at,"
    " o.vendor_id, i.pseudonym FROM offers o JOIN intents i ON i.id = o.intent_id "
)


def _intents(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[IntentRecord]:
    rows = connection.execute(text(_INTENTS + where + " ORDER BY id"), parameters).all()
    found = []
    for row in rows:
        opened = json.loads(sealer.open_text(row.sealed_intent, _place(row.pseudonym)))
        found.append(
            IntentRecord(
                id=row.id,
                pseudonym=row.pseudonym,
                message_id=row.message_id,
                intent=Intent.model_validate(opened["intent"]),
                exchange=opened["exchange"],
                state=row.state,
                mailbox_cursor=row.mailbox_cursor,
                created_at=row.created_at,
                expires_at=row.expires_at,
            )
        )
    return found


def _offers(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[OfferRecord]:
    where = where.replace("WHERE id", "WHERE o.id").replace("WHERE intent_id", "WHERE o.intent_id")
    rows = connection.execute(text(_OFFERS + where + " ORDER BY o.id"), parameters).all()
    found = []
    for row in rows:
        token = sealer.open_text(row.sealed_offer, _offer_place(row.intent_id))
        message = verify_kept(token, receiver=row.pseudonym, types=intent_types())
        assert isinstance(message.body, OfferBody)  # noqa: S101 - kept only when it was one
        found.append(
            OfferRecord(
                id=row.id,
                intent_id=row.intent_id,
                message_id=row.message_id,
                sender=message.sender,
                body=message.body,
                state=row.state,
                received_at=row.received_at,
                vendor_id=row.vendor_id,
            )
        )
    return found


def _place(pseudonym: str) -> str:
    return f"intents/{pseudonym}"


def _offer_place(intent_id: int) -> str:
    return f"offers/{intent_id}"
