"""Receipts for the records tests: a sale written as a vendor would, and sent signed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.agent.vendors import Clock, Vendor, from_vendor
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import Identity, Message
from vrm.protocol.v1.records import RECEIPT, Receipt


def item(name: str, price: str, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """One line of a receipt."""
    return {"name": name, "price": price, "quantity": quantity, **extra}


def sale(
    *items: dict[str, Any],
    order: str = "A-1001",
    date: str = "2026-03-01",
    seller: str = "Corner Shop",
    currency: str = "EUR",
    **extra: Any,
) -> Receipt:
    """A receipt for ``items`` (a kettle if none) whose total adds up."""
    lines = list(items) or [item("Blue kettle", "39.90", sku="KT-22")]
    body: dict[str, Any] = {
        "orderNumber": order,
        "orderDate": date,
        "seller": {"name": seller},
        "items": lines,
        "currency": currency,
        "total": "0",
        **extra,
    }
    total = sum((Decimal(line["price"]) * line.get("quantity", 1) for line in lines), Decimal(0))
    total += Decimal(body.get("deliveryCost", "0"))
    total += sum(
        (Decimal(t["amount"]) for t in body.get("taxes", []) if not t.get("included")), Decimal(0)
    )
    body["total"] = str(total)
    return Receipt.model_validate(body)


def send(
    person: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    body: Receipt | dict[str, Any],
    *,
    clock: Clock,
    sender: Identity | None = None,
) -> Message:
    """``body`` signed by the vendor (or ``sender``) to the person's DID, taken by the agent."""
    message = signed(person, vendor, relationship, body, clock=clock, sender=sender)
    person.receive(message)
    return message


def signed(
    person: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    body: Receipt | dict[str, Any],
    *,
    clock: Clock,
    sender: Identity | None = None,
) -> Message:
    """``body`` signed to the person's DID and verified as the inbox does, not yet taken.

    A dict is sent as written, even one a :class:`Receipt` would refuse.
    """
    return from_vendor(
        person,
        sender or vendor.identity,
        relationship.our_did,
        body,
        type=RECEIPT,
        clock=clock,
    )
