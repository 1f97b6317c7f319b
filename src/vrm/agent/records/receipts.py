"""Receipts: what vendors sold the person, signed by them and kept sealed as they arrived.

A vendor sends a ``receipt`` over an accepted relationship, from its pinned DID to
the person's pairwise DID. It is kept as the signed message (compact JWS), sealed,
and verified again whenever it is read. A receipt for an order number already
received from that vendor is a correction: the one the vendor created last is the
current one, and the others stay, each marked as superseded by it, for the record.
Order numbers and the offer a receipt follows are looked up by keyed fingerprint,
never kept in clear.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import NotFound
from vrm.agent.relationships.service import Relationship
from vrm.protocol import Message, PartyState, ProtocolError, RefusalCode
from vrm.protocol.kept import verify_kept
from vrm.protocol.v1.records import Receipt, record_types
from vrm.vault import Sealer

_ORDER_PURPOSE = "receipt-order"
_OFFER_PURPOSE = "receipt-offer"


@dataclass(frozen=True)
class ReceiptRecord:
    """One receipt a vendor sent, verified again when it was read."""

    id: int
    vendor_id: int
    message_id: str
    sender: str
    """The vendor's DID, which signed it."""
    receipt: Receipt
    received: dict[str, Any]
    """The receipt's body exactly as it arrived."""
    signed: str
    """The vendor's signed message (compact JWS): anyone can check it against its DID."""
    created_at: float
    """When the vendor made the message."""
    received_at: float
    superseded_by: int | None
    """The receipt that corrected this one, if one did."""

    @property
    def current(self) -> bool:
        """True unless a newer receipt for the same order replaced it."""
        return self.superseded_by is None

    def searchable(self) -> list[str]:
        """The texts a search looks in: seller, order number, items and their SKUs, note."""
        body = self.receipt
        texts = [body.seller.name, body.orderNumber, body.note or ""]
        for item in body.items:
            texts += [item.name, item.sku or ""]
        return texts

    def matches(self, query: str) -> bool:
        """True when ``query`` is in any searchable text, ignoring case."""
        wanted = query.casefold()
        return any(wanted in found.casefold() for found in self.searchable())

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the receipt as received, and where it came from."""
        return {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "message_id": self.message_id,
            "sender": self.sender,
            "current": self.current,
            "superseded_by": self.superseded_by,
            "created_at": self.created_at,
            "received_at": self.received_at,
            "receipt": self.received,
        }


def take_receipt(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    message: Message,
    now: float,
) -> ReceiptRecord:
    """Keep a vendor's signed receipt; a newer one for the same order replaces the older.

    The same message again changes nothing. The caller has checked that the sender
    is the relationship's vendor.

    Raises:
        ProtocolError: ``wrong_recipient`` when the vendor has not accepted the
            relationship or either side ended it.
    """
    body = message.body
    assert isinstance(body, Receipt)  # noqa: S101 - the caller dispatches by type
    if (
        relationship.vendor_state != PartyState.ACCEPTED
        or relationship.person_state == PartyState.ENDED
    ):
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT,
            "receipts are taken only within a relationship the vendor accepted and "
            "neither side ended",
        )
    kept = connection.execute(
        text("SELECT id FROM receipts WHERE vendor_id = :vendor AND message_id = :message"),
        {"vendor": relationship.id, "message": message.id},
    ).scalar()
    if kept is not None:
        return get_receipt(connection, sealer, int(kept))
    order_key = _order_key(sealer, relationship.id, body.orderNumber)
    receipt_id = int(
        connection.execute(
            text(
                "INSERT INTO receipts (vendor_id, message_id, order_number_key, offer_key,"
                " order_date, created_at, received_at, sealed_message) VALUES (:vendor,"
                " :message, :order, :offer, :date, :created, :now, :sealed) RETURNING id"
            ),
            {
                "vendor": relationship.id,
                "message": message.id,
                "order": order_key,
                "offer": None if body.offer is None else _offer_key(sealer, body.offer),
                "date": body.orderDate,
                "created": message.envelope.created_time,
                "now": now,
                "sealed": sealer.seal_text(message.compact, _place(relationship.id, message.id)),
            },
        ).scalar_one()
    )
    replaced = _settle_order(connection, relationship.id, order_key)
    details: dict[str, Any] = {
        "vendor": relationship.id,
        "receipt": receipt_id,
        "order": body.orderNumber,
        "total": body.total,
        "currency": body.currency,
        "message": message.id,
    }
    if replaced.get(receipt_id) is not None:
        details["superseded_by"] = replaced[receipt_id]
    elif replaced:
        details["replaces"] = sorted(replaced)
    audit.append(connection, sealer, kind="receipt.received", details=details, now=now)
    return get_receipt(connection, sealer, receipt_id)


def _settle_order(connection: Connection, vendor_id: int, order_key: bytes) -> dict[int, int]:
    """Make the receipt of the order the vendor created last the current one.

    Returns the receipts that were current before and are superseded now, each with
    the receipt that replaced it (a late arrival older than the one held is among them).
    """
    rows = connection.execute(
        text(
            "SELECT id, created_at, superseded_by FROM receipts"
            " WHERE vendor_id = :vendor AND order_number_key = :order"
        ),
        {"vendor": vendor_id, "order": order_key},
    ).all()
    newest = max(rows, key=lambda row: (row.created_at, row.id)).id
    replaced = {row.id: newest for row in rows if row.id != newest and row.superseded_by is None}
    connection.execute(
        text(
            "UPDATE receipts SET superseded_by = CASE WHEN id = :newest THEN NULL ELSE :newest END"
            " WHERE vendor_id = :vendor AND order_number_key = :order"
        ),
        {"newest": newest, "vendor": vendor_id, "order": order_key},
    )
    return replaced


def receipts(
    connection: Connection, sealer: Sealer, *, include_superseded: bool = False
) -> list[ReceiptRecord]:
    """Every current receipt (and the replaced ones too, if asked), newest order first."""
    where = "" if include_superseded else "WHERE r.superseded_by IS NULL"
    return _select(connection, sealer, where, {})


def get_receipt(connection: Connection, sealer: Sealer, receipt_id: int) -> ReceiptRecord:
    """The receipt with this number, current or replaced.

    Raises:
        NotFound: there is none.
    """
    found = _select(connection, sealer, "WHERE r.id = :id", {"id": receipt_id})
    if not found:
        raise NotFound(f"no receipt {receipt_id}")
    return found[0]


def search(records: Iterable[ReceiptRecord], query: str) -> list[ReceiptRecord]:
    """The receipts whose seller, order number, items, SKUs or note hold ``query``.

    Case is ignored; an empty query matches every receipt. The values are sealed, so
    the search runs over receipts already opened, in memory.
    """
    wanted = query.strip()
    return [record for record in records if not wanted or record.matches(wanted)]


def receipts_for_offer(
    connection: Connection, sealer: Sealer, *, offer_message_id: str, vendor_id: int
) -> list[ReceiptRecord]:
    """The current receipts a vendor sent for the offer it made as ``offer_message_id``."""
    return _select(
        connection,
        sealer,
        "WHERE r.offer_key = :offer AND r.vendor_id = :vendor AND r.superseded_by IS NULL",
        {"offer": _offer_key(sealer, offer_message_id), "vendor": vendor_id},
    )


_SELECT = (
    "SELECT r.id, r.vendor_id, r.message_id, r.created_at, r.received_at, r.superseded_by,"
    " r.sealed_message, v.our_did FROM receipts r JOIN vendors v ON v.id = r.vendor_id "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[ReceiptRecord]:
    rows = connection.execute(
        text(_SELECT + where + " ORDER BY r.order_date DESC, r.id DESC"), parameters
    ).all()
    types = record_types()
    found = []
    for row in rows:
        token = sealer.open_text(row.sealed_message, _place(row.vendor_id, row.message_id))
        message = verify_kept(token, receiver=row.our_did, types=types)
        assert isinstance(message.body, Receipt)  # noqa: S101 - kept only when it was one
        found.append(
            ReceiptRecord(
                id=row.id,
                vendor_id=row.vendor_id,
                message_id=row.message_id,
                sender=message.sender,
                receipt=message.body,
                received=message.envelope.body,
                signed=token,
                created_at=row.created_at,
                received_at=row.received_at,
                superseded_by=row.superseded_by,
            )
        )
    return found


def _order_key(sealer: Sealer, vendor_id: int, order_number: str) -> bytes:
    # The vendor is part of the key: two vendors' equal order numbers look unrelated.
    return sealer.fingerprint(f"{vendor_id}\0{order_number}", _ORDER_PURPOSE)


def _offer_key(sealer: Sealer, offer_message_id: str) -> bytes:
    return sealer.fingerprint(offer_message_id, _OFFER_PURPOSE)


def _place(vendor_id: int, message_id: str) -> str:
    return f"receipts/{vendor_id}/{message_id}"
