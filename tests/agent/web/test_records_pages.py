"""The Records pages in-process: receipts listed, searched, shown, exported; the journal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import httpx
import pytest

from tests.agent.records.sales import item, sale, send
from tests.agent.test_intents import publish, wanted
from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.agent.web.test_pages import csrf_of
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio


async def test_receipts_are_listed_searched_and_shown(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Two sellers' receipts on the list; a search keeps one; a receipt shows every line."""
    kettle, shop = await connect(person, network, "Corner Shop", clock=clock)
    books, library = await connect(person, network, "Leith Books", clock=clock)
    send(person, kettle, shop, sale(item("Blue kettle", "39.90", sku="KT-22")), clock=clock)
    send(
        person,
        books,
        library,
        sale(
            item("Atlas", "25.00", quantity=2),
            order="B-7",
            seller="Leith Books",
            currency="GBP",
            deliveryCost="3.50",
            taxes=[{"name": "VAT", "amount": "10.00", "rate": "20", "included": True}],
        ),
        clock=clock,
    )
    listed = await signed_in.get("/records")
    assert listed.status_code == 200
    assert "Corner Shop" in listed.text
    assert "53.50 GBP" in listed.text
    found = await signed_in.get("/records", params={"q": "kettle"})
    assert "A-1001" in found.text
    assert "B-7" not in found.text
    assert "No receipt matches" in (await signed_in.get("/records", params={"q": "piano"})).text

    number = person.search_receipts("atlas")[0].id
    shown = await signed_in.get(f"/records/{number}")
    assert shown.status_code == 200
    assert "Order B-7 from Leith Books" in shown.text
    assert "50.00" in shown.text  # two atlases at 25.00
    assert "VAT 20 % (included)" in shown.text
    assert person.receipt(number).signed in shown.text
    assert (await signed_in.get("/records/999")).status_code == 404
    assert (await signed_in.get("/records/x²")).status_code == 404


async def test_a_warranty_ending_soon_is_on_home_and_records(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """An item whose warranty ends within the month is listed under 'Coming up'."""
    vendor, relationship = await connect(person, network, "Corner Shop", clock=clock)
    ends = dt.date.fromtimestamp(clock()) + dt.timedelta(days=10)  # the agent's today
    send(
        person,
        vendor,
        relationship,
        sale(item("Blue kettle", "39.90", warrantyEnd=ends.isoformat())),
        clock=clock,
    )
    home = await signed_in.get("/")
    assert "The warranty of <strong>Blue kettle</strong> from Corner Shop ends" in home.text
    assert "in 10 days" in home.text
    assert "Blue kettle" in (await signed_in.get("/records")).text


async def test_exports_are_downloads_sent_by_form(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """CSV has a row per item; JSON the receipts as signed; no token, no export."""
    vendor, relationship = await connect(person, network, "Corner Shop", clock=clock)
    send(
        person,
        vendor,
        relationship,
        sale(item("Kettle", "10.00"), item("Mug", "4.50")),
        clock=clock,
    )
    page = await signed_in.get("/records")
    refused = await signed_in.post("/records/export", data={"format": "csv"})
    assert refused.status_code == 403
    as_csv = await signed_in.post(
        "/records/export", data={"csrf_token": csrf_of(page), "format": "csv"}
    )
    assert as_csv.status_code == 200
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == 2
    as_json = await signed_in.post(
        "/records/export", data={"csrf_token": csrf_of(page), "format": "json"}
    )
    assert len(json.loads(as_json.text)) == 1
    wrong = await signed_in.post(
        "/records/export", data={"csrf_token": csrf_of(page), "format": "xls"}
    )
    assert wrong.status_code == 422
    exports = [e for e in person.audit_entries() if e.kind == "receipts.export"]
    assert len(exports) == 2


async def test_the_journal_note_is_kept_from_the_intent_page(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """The intent page shows the journal; its form keeps the note; without a token, nothing."""
    record = publish(person, wanted())
    page = await signed_in.get(f"/intents/{record.id}")
    assert "Decision journal" in page.text
    forged = await signed_in.post(f"/intents/{record.id}/journal", data={"note": "x"})
    assert forged.status_code == 403
    kept = await signed_in.post(
        f"/intents/{record.id}/journal",
        data={"csrf_token": csrf_of(page), "note": "Quietest of the three, and local."},
    )
    assert kept.status_code == 303
    assert person.journal(record.id).note == "Quietest of the three, and local."
    again = await signed_in.get(kept.headers["location"])
    assert "Quietest of the three, and local." in again.text
    assert "Your note is kept" in again.text
    missing = await signed_in.post(
        "/intents/999/journal", data={"csrf_token": csrf_of(page), "note": "x"}
    )
    assert missing.status_code == 404
