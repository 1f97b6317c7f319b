"""The message types of the person's records: a vendor's signed receipt for a sale.

A vendor sends a ``receipt`` over the relationship (its DID to the person's
pairwise DID), signed, after a sale: a schema.org ``Order`` with its items, taxes,
delivery, payment, and for each item a warranty's end or a subscription's next
renewal when there is one. The person's agent keeps it in their records; the
vendor keeps nothing the person cannot also hold.

Money is written as decimal text (``"12.50"``), as schema.org advises for prices,
so that sums are exact: a receipt whose ``total`` is not its items' prices times
their quantities, plus delivery and the taxes not included in the prices, is refused,
and so is one with a date that is not a day of the calendar.
Specification: docs/protocol.md, section 7.9.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from vrm.protocol.envelope import MessageId
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.intents import Currency, Name
from vrm.protocol.v1.message_types import Body, HttpUrl, IsoDate, ShortText, v1_types

RECEIPT = "vrm/1/receipt"

Money = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,4})?$")]
"""A non-negative amount as decimal text, at most four decimals: ``"1299.99"``."""
Period = Annotated[str, Field(pattern=r"^P([1-9][0-9]?)(D|W|M|Y)$")]
"""An ISO 8601 duration of whole days, weeks, months or years: ``P1M``, ``P1Y``."""
Code = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s](.*[^\s])?$")]


class ReceiptSeller(Body):
    """schema.org ``Organization``: who sold."""

    name: Name
    url: HttpUrl | None = None


class Subscription(Body):
    """A subscription the item starts: when it renews next, and how often."""

    renews: IsoDate
    every: Period
    price: Money | None = None
    """The price of each renewal, when it is not the item's price."""


class OrderItem(Body):
    """schema.org ``OrderItem``: what was bought, how many, at what unit price."""

    name: Name
    sku: Code | None = None
    quantity: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    price: Money
    """The price of one, in the receipt's currency."""
    warrantyEnd: IsoDate | None = None
    """The last day of the item's warranty (schema.org ``WarrantyPromise``)."""
    subscription: Subscription | None = None


class Tax(Body):
    """A tax on the sale: its name, amount and rate; ``included`` when the prices hold it."""

    name: Name
    amount: Money
    rate: Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,3})?$")] | None = None
    """Percent, as decimal text: ``"20"`` (excise duties can be above 100)."""
    included: bool = False


class Payment(Body):
    """schema.org ``PaymentMethod`` and whether it was paid."""

    method: Annotated[str, Field(min_length=1, max_length=64)]
    """How: ``card``, ``bank transfer``, ``cash``, ``invoice``…"""
    status: Literal["paid", "due", "refunded"] = "paid"


class Receipt(Body):
    """schema.org ``Order`` (an invoice when ``payment.status`` is ``due``) for a sale.

    ``offer`` is the message id of the vendor's offer the sale follows, when an
    accepted offer (``offer.accept``) led to it.
    """

    orderNumber: Code
    orderDate: IsoDate
    seller: ReceiptSeller
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=200)]
    taxes: list[Tax] = Field(default_factory=list, max_length=16)
    deliveryCost: Money = "0"
    total: Money
    currency: Currency
    payment: Payment | None = None
    offer: MessageId | None = None
    note: ShortText | None = None

    @model_validator(mode="after")
    def _dates_are_days(self) -> Receipt:
        dates = [("orderDate", self.orderDate)]
        for n, item in enumerate(self.items):
            if item.warrantyEnd is not None:
                dates.append((f"items[{n}].warrantyEnd", item.warrantyEnd))
            if item.subscription is not None:
                dates.append((f"items[{n}].subscription.renews", item.subscription.renews))
        for where, day in dates:
            try:
                dt.date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"{where} {day} is not a day of the calendar") from None
        return self

    @model_validator(mode="after")
    def _total_adds_up(self) -> Receipt:
        if Decimal(self.total) != self.expected_total():
            raise ValueError(
                f"total {self.total} is not the items, delivery and taxes added up "
                f"({self.expected_total()})"
            )
        return self

    def expected_total(self) -> Decimal:
        """The items' prices times their quantities, plus delivery and the added taxes."""
        items = sum((Decimal(i.price) * i.quantity for i in self.items), Decimal(0))
        added = sum((Decimal(t.amount) for t in self.taxes if not t.included), Decimal(0))
        return items + Decimal(self.deliveryCost) + added


def record_types() -> MessageTypes:
    """The v1 types plus the receipt, as a person's agent takes it from its vendors."""
    types = v1_types()
    types.add(RECEIPT, Receipt)
    return types
