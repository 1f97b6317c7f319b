"""Receipts between a vendor endpoint and ``vrm up``, each in its own process.

The vendor sends a signed receipt through its API; the person's agent keeps it,
lists it, reminds of its warranty, takes a correction, and exports it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_agent_service import RunningAgent, eventually, relate
from tests.e2e.test_vendor_endpoint import start_vendor

pytestmark = pytest.mark.e2e


def receipt(total: str, *, warranty_end: str) -> dict[str, Any]:
    return {
        "orderNumber": "G-2001",
        "orderDate": dt.date.today().isoformat(),
        "items": [
            {"name": "Oat milk", "price": "1.80", "quantity": 3},
            {"name": "Kettle", "price": "24.00", "warrantyEnd": warranty_end, "sku": "KT-9"},
        ],
        "taxes": [{"name": "VAT", "amount": "4.00", "rate": "20", "included": True}],
        "deliveryCost": "2.50" if total == "31.90" else "0",
        "total": total,
        "currency": "GBP",
        "payment": {"method": "card", "status": "paid"},
    }


def test_a_vendors_receipt_reaches_the_persons_records(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    """Sent by the vendor's API, kept by the agent, with its reminder; a correction replaces it."""
    vendor, api = start_vendor(tmp_path / "grocer")
    try:
        relationship = relate(running_agent, vendor.url)
        did = relationship["our_did"]
        ends = (dt.date.today() + dt.timedelta(days=20)).isoformat()

        wrong = api.post(f"/api/customers/{did}/receipts", json=receipt("99.00", warranty_end=ends))
        assert wrong.status_code == 422  # the total does not add up: nothing is sent

        sent = api.post(f"/api/customers/{did}/receipts", json=receipt("31.90", warranty_end=ends))
        assert sent.status_code == 202, sent.text
        kept = eventually(
            lambda: running_agent.get("/api/records"), what="the receipt in the person's records"
        )
        [first] = kept
        assert first["receipt"]["seller"]["name"] == "Corner Grocer"
        assert first["receipt"]["total"] == "31.90"
        reminders = running_agent.get("/api/records/reminders")
        assert [(r["kind"], r["item"], r["days_left"]) for r in reminders] == [
            ("warranty", "Kettle", 20)
        ]

        # The grocer refunds the delivery: a corrected receipt for the same order.
        corrected = api.post(
            f"/api/customers/{did}/receipts", json=receipt("29.40", warranty_end=ends)
        )
        assert corrected.status_code == 202, corrected.text
        current = eventually(
            lambda: [
                r for r in running_agent.get("/api/records") if r["receipt"]["total"] == "29.40"
            ],
            what="the corrected receipt",
        )
        assert len(running_agent.get("/api/records")) == 1  # the correction replaced it
        assert current[0]["current"] is True

        exported = running_agent.api.get("/api/records/export", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert sorted(row["item"] for row in rows) == ["Kettle", "Oat milk"]

        sent_list = api.get(f"/api/customers/{did}/receipts").json()
        assert len(sent_list) == 2
        kinds = [e["kind"] for e in running_agent.get("/api/audit")]
        assert kinds.count("receipt.received") == 2
    finally:
        api.close()
        vendor.stop()
