"""What the console's pages show of the endpoint's store, read in one transaction each.

Framework-free: the pages call these and render what they return. Values are
shown as people read them (an address as one line), DIDs shortened where a list
would otherwise be all DIDs; the full DID is always one click away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from vrm.vendor import agreements as customer_agreements
from vrm.vendor import data_rights
from vrm.vendor import fields as customer_fields
from vrm.vendor import receipts as customer_receipts
from vrm.vendor.errors import UnknownCustomer
from vrm.vendor.policy import PolicyMode
from vrm.vendor.schema import agreements, customers, fields

CUSTOMER_STATES = ("pending", "accepted", "refused", "ended", "erased")
CUSTOMERS_SHOWN = 200
"""Customers listed at most on one page, the newest first."""
RECENT = 10
"""Requests shown as the most recent on the relationships page."""
AGREEMENTS_SHOWN = 200


def short_did(did: str) -> str:
    """``did:key:z6MkhaXg…q2doKq``: the method, the first characters of the key, its end."""
    return did if len(did) <= 28 else f"{did[:16]}…{did[-6:]}"


def shown(value: Any) -> str:
    """A field's value in one line: a string as it is, an address as its parts."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        said = [shown(v) for k, v in value.items() if not k.startswith("@") and v not in (None, "")]
        return ", ".join(said)
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    return json.dumps(value, ensure_ascii=False)


def amount_said(amount: float) -> str:
    """An amount with thousands separated, and cents only when there are any: ``18,999.50``."""
    return f"{amount:,.0f}" if amount == int(amount) else f"{amount:,.2f}"


def price_said(price: dict[str, Any]) -> str:
    """An intent's price range: ``15,000 to 25,000 EUR``, or ``up to 25,000 EUR``."""
    most = f"{amount_said(price['max'])} {price['currency']}"
    return f"{amount_said(price['min'])} to {most}" if price.get("min") else f"up to {most}"


def place_said(place: dict[str, Any]) -> str:
    """Where an intent is for: ``within 40 km of EH6, GB``, or a region (``GB-SCT``)."""
    if place.get("addressRegion"):
        return str(place["addressRegion"])
    country = str(place.get("addressCountry", ""))
    if place.get("postalCode") and place.get("radiusKm"):
        return f"within {place['radiusKm']:g} km of {place['postalCode']}, {country}"
    if place.get("postalCode"):
        return f"{place['postalCode']}, {country}"
    return country


@dataclass(frozen=True)
class HeldField:
    """A field the customer granted, as held now."""

    path: str
    value: str
    version: int
    purpose: str | None
    until: str | None
    updated_at: float


@dataclass(frozen=True)
class Customer:
    """A customer: the relationship's two states and the fields held."""

    did: str
    short: str
    state: str
    person_state: str
    created_at: float
    updated_at: float
    fields: list[HeldField]


@dataclass(frozen=True)
class Change:
    """One version of a field received, or its revocation."""

    field: str
    version: int
    value: str
    event: str
    received_at: float


@dataclass(frozen=True)
class SentReceipt:
    """A receipt sent to the customer, as its line on the customer's page."""

    order_number: str
    order_date: str
    total: str
    currency: str
    sent_at: float
    delivery: str


@dataclass(frozen=True)
class CustomerDetail:
    """One customer: every field's history, the agreements, the vendor's data, the receipts."""

    customer: Customer
    history: list[Change]
    agreements: list[dict[str, Any]]
    vendor_data: dict[str, str]
    receipts: list[SentReceipt]


def customer_list(
    engine: Engine, *, state: str | None = None, limit: int = CUSTOMERS_SHOWN
) -> list[Customer]:
    """The newest customers (of one relationship state, or all), with the fields held."""
    query = select(customers).order_by(customers.c.created_at.desc()).limit(limit)
    if state is not None:
        query = query.where(customers.c.state == state)
    with engine.begin() as connection:
        rows = connection.execute(query).all()
        held: dict[str, list[HeldField]] = {}
        for row in connection.execute(
            select(fields)
            .where(fields.c.customer.in_([row.did for row in rows]), fields.c.value.is_not(None))
            .order_by(fields.c.path)
        ):
            held.setdefault(row.customer, []).append(_held(row))
    return [_customer(row, held.get(row.did, [])) for row in rows]


def recent_requests(engine: Engine, *, limit: int = RECENT) -> list[Customer]:
    """The latest relationship requests, whatever became of them, newest first."""
    with engine.begin() as connection:
        rows = connection.execute(
            select(customers).order_by(customers.c.created_at.desc()).limit(limit)
        ).all()
    return [_customer(row, []) for row in rows]


def customer_detail(engine: Engine, did: str) -> CustomerDetail:
    """One customer: fields held, every version received, agreements, vendor data, receipts.

    Raises:
        UnknownCustomer: no customer has this DID.
    """
    with engine.begin() as connection:
        row = connection.execute(select(customers).where(customers.c.did == did)).one_or_none()
        if row is None:
            raise UnknownCustomer(f"no customer {did}")
        held = [_held(f) for f in customer_fields.current(connection, did) if f.value is not None]
        history = customer_fields.history_of(connection, did)
        made = customer_agreements.agreements_of(connection, did)
        own = data_rights.vendor_data_of(connection, did)
        sent = customer_receipts.receipts_of(connection, did)
    return CustomerDetail(
        customer=_customer(row, sorted(held, key=lambda f: f.path)),
        history=[
            Change(
                field=h["field"],
                version=h["version"],
                value=shown(h["value"]),
                event=h["event"],
                received_at=h["received_at"],
            )
            for h in reversed(history)
        ],
        agreements=list(reversed(made)),
        vendor_data={key: shown(value) for key, value in own.items()},
        receipts=[
            SentReceipt(
                order_number=r["orderNumber"],
                order_date=r["receipt"]["orderDate"],
                total=r["receipt"]["total"],
                currency=r["receipt"]["currency"],
                sent_at=r["created_at"],
                delivery=r["delivery"],
            )
            for r in reversed(sent)
        ],
    )


def agreement_list(engine: Engine, *, limit: int = AGREEMENTS_SHOWN) -> list[dict[str, Any]]:
    """Proffers and agreements with every customer, newest first, as the API shows them."""
    with engine.begin() as connection:
        rows = connection.execute(
            select(agreements).order_by(agreements.c.id.desc()).limit(limit)
        ).all()
    return [
        customer_agreements.agreement_json(row) | {"short": short_did(row.customer)} for row in rows
    ]


def pending_proffers(engine: Engine) -> list[dict[str, Any]]:
    """Proffers held for the vendor's decision (``[terms] manual``), oldest first."""
    with engine.begin() as connection:
        held = customer_agreements.pending_proffers(connection)
    return [proffer | {"short": short_did(proffer["customer"])} for proffer in held]


def policy_said(mode: PolicyMode, allowed: int) -> str:
    """The relationship policy in a sentence."""
    if mode == PolicyMode.MANUAL:
        return "Your policy holds every relationship request for you to accept or refuse."
    if mode == PolicyMode.ALLOW_LIST:
        return (
            f"Your policy accepts the {allowed} DID{'s' if allowed != 1 else ''} on its allow "
            "list at once and holds every other request for you to accept or refuse."
        )
    return "Your policy accepts every relationship request at once: none waits for you."


def _held(row: Any) -> HeldField:
    return HeldField(
        path=row.path,
        value=shown(json.loads(row.value)),
        version=row.version,
        purpose=row.purpose,
        until=row.until,
        updated_at=row.updated_at,
    )


def _customer(row: Any, held: list[HeldField]) -> Customer:
    return Customer(
        did=row.did,
        short=short_did(row.did),
        state=row.state,
        person_state=row.person_state,
        created_at=row.created_at,
        updated_at=row.updated_at,
        fields=held,
    )
