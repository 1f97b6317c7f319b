"""The vendor's receipts to its customers: signed, encrypted to the person, a copy kept.

A receipt (docs/protocol.md 7.9) goes over a relationship the vendor accepted and
the person has not ended, from the vendor's DID to the person's pairwise DID,
through the endpoint's outgoing queue like every answer. It is encrypted to the
person: it says what they bought, and the queue's log keeps what it sent. The
vendor keeps a copy of each receipt — the body and the signed message — which the
API lists, the person's data export carries, and erasure deletes.

An offer the person accepted (``offer.accept``, :mod:`vrm.vendor.intents`) gets a
receipt of its own, payment due, once its acceptance and the accepted relationship
both exist, whichever comes last: the transaction that makes the second of them
sends it. Its order number is derived from the offer's id, and ``receipts.for_offer``
is unique, so it is sent once however often either message comes. Every function
works in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from vrm.protocol import RECEIPT, OrderItem, PartyState, Payment, Receipt, ReceiptSeller
from vrm.vendor.data_rights import ERASED
from vrm.vendor.errors import Erased, InvalidRequest, NotAccepted
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.schema import customers, jobs, matched_intents, offers, receipts

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
"""Of an offer: the person took it (``offer.accept``)."""
OFFER_PAYMENT = "invoice"
"""How the receipt of an accepted offer says the person pays: it is an invoice, payment due."""


class ReceiptRequest(Receipt):
    """A receipt as the vendor's API takes it: ``seller`` may be left out.

    Left out, it is the endpoint's name and ``public_url``.
    """

    # A subclass may not loosen a field's type, for mypy; here the endpoint fills it in.
    seller: ReceiptSeller | None = None  # type: ignore[assignment]


@dataclass(frozen=True)
class ReceiptPolicy:
    """Who the endpoint's receipts name as the seller, and whether accepted offers get one."""

    seller: ReceiptSeller
    on_offer_accept: bool = True


def send(
    connection: Connection,
    customer: Any,
    request: Receipt,
    *,
    seller: ReceiptSeller | None,
    outgoing: Outgoing,
) -> dict[str, Any]:
    """Sign the receipt to the customer, queue it, keep a copy; the copy as listed.

    Raises:
        Erased: the customer's record was erased.
        NotAccepted: the vendor has not accepted the relationship, or the person ended it.
        InvalidRequest: no seller is named or known, or ``offer`` is not an offer this
            customer accepted.
    """
    _check_open(customer)
    receipt = _with_seller(request, seller)
    if receipt.offer is not None and not _accepted_by(connection, receipt.offer, customer.did):
        raise InvalidRequest(f"offer {receipt.offer} is not an offer {customer.did} accepted")
    message_id = _send(connection, customer, receipt, for_offer=None, outgoing=outgoing)
    assert message_id is not None  # noqa: S101 - only a receipt for an offer is skipped
    return _listed(connection, receipts.c.message_id == message_id)[0]


def receipts_of(connection: Connection, did: str) -> list[dict[str, Any]]:
    """The receipts sent to a customer, oldest first, each with its delivery's state."""
    return _listed(connection, receipts.c.customer == did)


def send_for_accepted_offers(
    connection: Connection, did: str, *, seller: ReceiptSeller, outgoing: Outgoing
) -> bool:
    """Send the receipt of every offer ``did`` accepted that has none; True if one was queued.

    Nothing is sent unless the relationship with ``did`` is accepted and not ended by the
    person. The caller has written its own part (the acceptance, or the relationship)
    before: with :func:`_one_at_a_time`, of two transactions bringing the two parts,
    the later one sees both.
    """
    _one_at_a_time(connection, did)
    customer = connection.execute(select(customers).where(customers.c.did == did)).one_or_none()
    if customer is None or not _open(customer):
        return False
    due = connection.execute(
        select(offers.c.message_id, offers.c.body, offers.c.answered_at, matched_intents.c.demand)
        .join(matched_intents, matched_intents.c.id == offers.c.intent)
        .where(
            offers.c.customer == did,
            offers.c.state == ACCEPTED,
            ~exists().where(receipts.c.for_offer == offers.c.message_id),
        )
        .order_by(offers.c.id)
    ).all()
    sent = False
    for row in due:
        receipt = offer_receipt(row, seller=seller, now=outgoing.clock())
        if receipt is None:
            continue
        queued = _send(connection, customer, receipt, for_offer=row.message_id, outgoing=outgoing)
        sent = sent or queued is not None
    return sent


def order_number_for(offer_id: str) -> str:
    """The order number of an accepted offer's receipt: the same for the same offer, always."""
    return "offer-" + hashlib.sha256(offer_id.encode()).hexdigest()[:16]


def offer_receipt(row: Any, *, seller: ReceiptSeller, now: float) -> Receipt | None:
    """The receipt of an accepted offer: one item, its price, the quantity wanted, payment due.

    ``row`` has the offer's ``message_id``, ``body`` and ``answered_at`` and the intent's
    ``demand``. None (and a warning in the log) when the amounts do not fit a receipt's
    money (more than 12 digits before the point).
    """
    terms = json.loads(row.body)["offer"]
    quantity = int(json.loads(row.demand).get("eligibleQuantity", {}).get("value", 1))
    price, delivery = _decimal(terms["price"]), _decimal(terms.get("deliveryCost", 0))
    accepted = dt.datetime.fromtimestamp(row.answered_at or now, dt.UTC).date()
    try:
        return Receipt(
            orderNumber=order_number_for(row.message_id),
            orderDate=accepted.isoformat(),
            seller=seller,
            items=[OrderItem(name=terms["name"], quantity=quantity, price=_text(price))],
            deliveryCost=_text(delivery),
            total=_text(price * quantity + delivery),
            currency=terms["priceCurrency"],
            payment=Payment(method=OFFER_PAYMENT, status="due"),
            offer=row.message_id,
        )
    except ValidationError as exc:
        log.warning("no receipt for offer %s: %s", row.message_id, exc.errors()[0]["msg"])
        return None


# helpers


def _send(
    connection: Connection,
    customer: Any,
    receipt: Receipt,
    *,
    for_offer: str | None,
    outgoing: Outgoing,
) -> str | None:
    """Sign, keep and queue the receipt; its message id, or None when its offer had one."""
    message_id, token = outgoing.sign(to=customer.did, type=RECEIPT, body=receipt, thid=None)
    kept = connection.execute(
        _insert_once(connection),
        {
            "customer": customer.did,
            "message_id": message_id,
            "order_number": receipt.orderNumber,
            "for_offer": for_offer,
            "created_at": outgoing.clock(),
            "receipt": receipt.model_dump_json(exclude_none=True),
            "token": token,
        },
    ).scalar()
    if kept is None:
        return None
    outgoing.enqueue(
        connection,
        to=customer.did,
        inbox=customer.reply_to,
        message_id=message_id,
        token=token,
        encrypted=True,
    )
    return message_id


def _insert_once(connection: Connection) -> Any:
    """An insert into receipts that skips a second receipt for the same offer.

    It returns the new row's id, or nothing when skipped.
    """
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(receipts)
        .on_conflict_do_nothing(index_elements=[receipts.c.for_offer])
        .returning(receipts.c.id)
    )


def _one_at_a_time(connection: Connection, did: str) -> None:
    """Hold the customer's DID until the transaction ends: its receipts are decided serially.

    On PostgreSQL a transaction lock on the DID (an offer's acceptance may come before
    the customer has a row to lock); SQLite's transactions are serial already.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:did, 0))"), {"did": did}
        )


def _open(customer: Any) -> bool:
    return bool(
        customer.state == PartyState.ACCEPTED.value
        and customer.person_state != PartyState.ENDED.value
    )


def _check_open(customer: Any) -> None:
    if customer.state == ERASED:
        raise Erased(f"the record of {customer.did} was erased")
    if customer.state != PartyState.ACCEPTED.value:
        raise NotAccepted(
            f"the relationship with {customer.did} is {customer.state}: receipts go only "
            "over an accepted relationship"
        )
    if customer.person_state == PartyState.ENDED.value:
        raise NotAccepted(f"{customer.did} ended the relationship: it takes no more receipts")


def _with_seller(request: Receipt, seller: ReceiptSeller | None) -> Receipt:
    """The receipt with the endpoint's seller when the request names none."""
    if request.seller is not None:
        return Receipt.model_validate(request.model_dump())
    if seller is None:
        raise InvalidRequest("name the seller: this endpoint has no name to fill in")
    return Receipt.model_validate({**request.model_dump(), "seller": seller.model_dump()})


def _accepted_by(connection: Connection, offer_id: str, did: str) -> bool:
    found = connection.execute(
        select(offers.c.id).where(
            offers.c.message_id == offer_id, offers.c.customer == did, offers.c.state == ACCEPTED
        )
    ).first()
    return found is not None


def _listed(connection: Connection, where: Any) -> list[dict[str, Any]]:
    delivery = (
        select(jobs.c.state)
        .where(jobs.c.queue == MESSAGE_QUEUE, jobs.c.event_id == receipts.c.message_id)
        .correlate(receipts)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(receipts, func.coalesce(delivery, "pending").label("delivery"))
        .where(where)
        .order_by(receipts.c.id)
    ).all()
    return [_receipt_json(row) for row in rows]


def _receipt_json(row: Any) -> dict[str, Any]:
    return {
        "message_id": row.message_id,
        "customer": row.customer,
        "orderNumber": row.order_number,
        "created_at": row.created_at,
        "automatic": row.for_offer is not None,
        "delivery": row.delivery,
        "receipt": json.loads(row.receipt),
    }


def _decimal(amount: float | int) -> Decimal:
    """An offer's amount (a JSON number) as money: to the ten-thousandth, half up."""
    return Decimal(str(amount)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _text(amount: Decimal) -> str:
    """Money as a receipt writes it: ``18999``, ``12.5``."""
    return format(amount.normalize(), "f")
