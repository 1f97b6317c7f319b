"""Reminders from receipts: warranties about to end, subscriptions about to renew.

Counted from today, both days included: a warranty whose last day is within
:data:`WARRANTY_DAYS`, a subscription whose next renewal is within
:data:`RENEWAL_DAYS`. Days already past are not listed, nor are receipts replaced
by a correction or refunded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vrm.agent.records.receipts import ReceiptRecord
from vrm.protocol.v1.records import OrderItem

WARRANTY_DAYS = 30
RENEWAL_DAYS = 14
WARRANTY, RENEWAL = "warranty", "renewal"


@dataclass(frozen=True)
class Reminder:
    """A warranty ending or a subscription renewing soon, for one item of one receipt."""

    kind: str
    """``warranty`` (the day is its last) or ``renewal`` (the day it renews)."""
    day: dt.date
    days_left: int
    receipt_id: int
    vendor_id: int
    seller: str
    order_number: str
    item: str
    currency: str
    price: str | None = None
    """What a renewal costs, as decimal text (the item's price unless the receipt says)."""
    every: str | None = None
    """How often it renews (ISO 8601 duration, ``P1M``)."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kind": self.kind,
            "date": self.day.isoformat(),
            "days_left": self.days_left,
            "receipt": self.receipt_id,
            "vendor_id": self.vendor_id,
            "seller": self.seller,
            "order_number": self.order_number,
            "item": self.item,
            "currency": self.currency,
            "price": self.price,
            "every": self.every,
        }


def due(records: Iterable[ReceiptRecord], today: dt.date) -> list[Reminder]:
    """The reminders ``records`` hold as of ``today``, soonest first."""
    found: list[Reminder] = []
    for record in records:
        body = record.receipt
        if not record.current or (body.payment is not None and body.payment.status == "refunded"):
            continue
        for item in body.items:
            ends = _day(item.warrantyEnd)
            if ends is not None and 0 <= (ends - today).days <= WARRANTY_DAYS:
                found.append(_reminder(WARRANTY, ends, today, record, item))
            subscription = item.subscription
            if subscription is None:
                continue
            renews = _day(subscription.renews)
            if renews is not None and 0 <= (renews - today).days <= RENEWAL_DAYS:
                found.append(
                    _reminder(
                        RENEWAL,
                        renews,
                        today,
                        record,
                        item,
                        price=subscription.price or item.price,
                        every=subscription.every,
                    )
                )
    return sorted(found, key=lambda r: (r.day, r.kind, r.receipt_id, r.item))


def _reminder(
    kind: str,
    day: dt.date,
    today: dt.date,
    record: ReceiptRecord,
    item: OrderItem,
    *,
    price: str | None = None,
    every: str | None = None,
) -> Reminder:
    body = record.receipt
    return Reminder(
        kind=kind,
        day=day,
        days_left=(day - today).days,
        receipt_id=record.id,
        vendor_id=record.vendor_id,
        seller=body.seller.name,
        order_number=body.orderNumber,
        item=item.name,
        currency=body.currency,
        price=price,
        every=every,
    )


def _day(value: str | None) -> dt.date | None:
    # The protocol refuses a receipt whose dates are not days of the calendar.
    return None if value is None else dt.date.fromisoformat(value)
