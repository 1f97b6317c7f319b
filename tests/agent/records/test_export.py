"""Receipts exported: CSV a row per item, JSON as received and still verifiable; audited."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.agent.records.sales import item, sale, send
from tests.agent.vendors import Clock, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol.kept import verify_kept
from vrm.protocol.v1.records import record_types

pytestmark = pytest.mark.anyio


async def two_receipts(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> str:
    """A two-item receipt from Corner Shop, one corrected from Book Barn; the shop's DID."""
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock)
    send(
        person,
        shop,
        with_shop,
        sale(
            item("Kettle", "39.90", quantity=2, warrantyEnd="2028-03-01"),
            item(
                '=HYPERLINK("http://x")',
                "1.00",
                subscription={"renews": "2026-04-01", "every": "P1M"},
            ),
            date="2026-03-01",
        ),
        clock=clock,
    )
    books_sale = {"order": "BB-7", "date": "2026-02-14", "seller": "Book Barn", "currency": "GBP"}
    send(person, books, with_books, sale(item("Atlas", "30.00"), **books_sale), clock=clock)
    clock.advance(60)
    send(person, books, with_books, sale(item("Dune", "9.99"), **books_sale), clock=clock)
    return shop.did


async def test_csv_has_one_row_per_item_of_the_current_receipts(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Amounts as the receipt wrote them; a formula from a vendor is defused; audited."""
    await two_receipts(person, network, clock)
    document = person.export_receipts("csv", to="test")
    rows = list(csv.reader(io.StringIO(document)))
    assert rows == [
        [
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
        ],
        [
            "A-1001",
            "2026-03-01",
            "Corner Shop",
            "Kettle",
            "2",
            "39.90",
            "EUR",
            "80.80",
            "2028-03-01",
            "",
        ],
        [
            "A-1001",
            "2026-03-01",
            "Corner Shop",
            '\'=HYPERLINK("http://x")',
            "1",
            "1.00",
            "EUR",
            "80.80",
            "",
            "2026-04-01",
        ],
        ["BB-7", "2026-02-14", "Book Barn", "Dune", "1", "9.99", "GBP", "9.99", "", ""],
    ]
    [entry] = [e for e in person.audit_entries() if e.kind == "receipts.export"]
    assert entry.details == {"format": "csv", "receipts": 2, "to": "test"}


async def test_json_holds_each_receipt_as_received_with_its_signature(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Each body is the one the vendor signed; the signed message verifies outside the agent."""
    shop_did = await two_receipts(person, network, clock)
    exported = json.loads(person.export_receipts("json"))
    assert [r["receipt"]["orderNumber"] for r in exported] == ["A-1001", "BB-7"]
    first = exported[0]
    assert first["sender"] == shop_did
    assert first["receipt"]["items"][0] == {
        "name": "Kettle",
        "price": "39.90",
        "quantity": 2,
        "warrantyEnd": "2028-03-01",
    }
    [receipt] = [r for r in person.receipts() if r.id == first["id"]]
    our_did = person.vendor(str(receipt.vendor_id)).our_did
    kept = verify_kept(first["signed"], receiver=our_did, types=record_types())
    assert kept.envelope.body == first["receipt"] == receipt.received


def test_another_format_is_refused(person: PersonalAgent) -> None:
    """Only csv and json; nothing is recorded as exported."""
    with pytest.raises(ValueError, match="export as csv or json, not 'xml'"):
        person.export_receipts("xml")
    assert [e for e in person.audit_entries() if e.kind == "receipts.export"] == []
