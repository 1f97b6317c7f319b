"""Receipts out of the agent: CSV for a spreadsheet, JSON as the vendors signed them.

CSV has one row per item: the order's number, date, seller, total and currency
beside the item's name, quantity, unit price, warranty end and next renewal.
Amounts stay the decimal text the receipt holds, so nothing is rounded. Text a
vendor wrote that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``
first) is given a leading apostrophe.

JSON is a list of the receipts as received: each body exactly as it arrived, with
the vendor's signed message beside it, so the export can be checked without the
agent.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

from vrm.agent.records.receipts import ReceiptRecord

FORMATS = ("csv", "json")
CSV_COLUMNS = (
    "order number",
    "date",
    "seller",
    "item",
    "quantity",
    "unit price",
    "currency",
    "order total",
    "warranty end",
    "renews",
)
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def export(records: Sequence[ReceiptRecord], format: str) -> str:
    """The receipts as a ``csv`` or ``json`` document.

    Raises:
        ValueError: another format was asked for.
    """
    if format == "csv":
        return to_csv(records)
    if format == "json":
        return to_json(records)
    raise ValueError(f"export as {' or '.join(FORMATS)}, not {format!r}")


def to_csv(records: Sequence[ReceiptRecord]) -> str:
    """One row per item of every receipt, under a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        body = record.receipt
        for item in body.items:
            writer.writerow(
                [
                    _cell(body.orderNumber),
                    body.orderDate,
                    _cell(body.seller.name),
                    _cell(item.name),
                    item.quantity,
                    item.price,
                    body.currency,
                    body.total,
                    item.warrantyEnd or "",
                    "" if item.subscription is None else item.subscription.renews,
                ]
            )
    return out.getvalue()


def to_json(records: Sequence[ReceiptRecord]) -> str:
    """The receipts as received, each with its vendor's signed message."""
    document = [
        {
            "id": record.id,
            "vendor_id": record.vendor_id,
            "sender": record.sender,
            "message_id": record.message_id,
            "received_at": record.received_at,
            "receipt": record.received,
            "signed": record.signed,
        }
        for record in records
    ]
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
