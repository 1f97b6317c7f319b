"""Receipts through the agent's app: the inbox takes or refuses them; /api/records reads them."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.agent.records.sales import item, sale
from tests.agent.test_intents import publish, wanted
from tests.agent.vendors import Clock, Vendor, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import Identity, compose
from vrm.protocol.v1.records import RECEIPT, Receipt

pytestmark = pytest.mark.anyio
JWS = {"content-type": "application/vrm+jws"}


async def post_receipt(
    app: httpx.AsyncClient,
    signer: Identity,
    relationship: Relationship,
    body: Receipt,
    clock: Clock,
) -> httpx.Response:
    _, token = compose(signer, type=RECEIPT, to=relationship.our_did, body=body, now=clock())
    return await app.post("/inbox", content=token, headers=JWS)


async def shop_with_receipt(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> tuple[Vendor, Relationship]:
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    body = sale(item("Kettle", "39.90", sku="KT-22", warrantyEnd="2028-03-01"))
    assert (await post_receipt(app, shop.identity, relationship, body, clock)).status_code == 202
    return shop, relationship


async def test_the_inbox_takes_a_receipt_from_the_vendor(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """202, and the receipt is in the person's records."""
    await shop_with_receipt(app, person, network, clock)
    [record] = person.receipts()
    assert record.receipt.orderNumber == "A-1001"


async def test_the_inbox_refuses_a_receipt_from_another_party_with_a_problem(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The sender sees problem+json with the refusal code; nothing is kept."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    reply = await post_receipt(app, Identity.generate(), relationship, sale(), clock)
    assert reply.status_code == 403
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "wrong_recipient"
    assert person.receipts() == []


async def test_the_api_lists_shows_searches_and_reminds(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Each read route answers JSON from the same records."""
    await shop_with_receipt(app, person, network, clock)
    [listed] = (await app.get("/api/records")).json()
    assert listed["receipt"]["items"][0]["sku"] == "KT-22"
    shown = (await app.get(f"/api/records/{listed['id']}")).json()
    assert shown["signed"].count(".") == 2
    assert [r["id"] for r in (await app.get("/api/records/search?q=kt-22")).json()] == [
        listed["id"]
    ]
    assert (await app.get("/api/records/search?q=teapot")).json() == []
    assert (await app.get("/api/records/reminders")).json() == []
    missing = await app.get("/api/records/99")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_the_api_exports_csv_and_json(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A download of each format; another format is refused with 422."""
    await shop_with_receipt(app, person, network, clock)
    exported = await app.get("/api/records/export?format=csv")
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="receipts.csv"' in exported.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(exported.text)))[1][3] == "Kettle"
    as_json = await app.get("/api/records/export?format=json")
    assert as_json.json()[0]["receipt"]["orderNumber"] == "A-1001"
    assert (await app.get("/api/records/export?format=xml")).status_code == 422


async def test_the_api_shows_the_journal_and_writes_the_note(
    app: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """PUT the note, GET it back in the journal; an unknown intent is 404."""
    record = publish(person, wanted())
    reply = await app.put(f"/api/records/journal/{record.id}/note", json={"note": "Cheapest"})
    assert reply.status_code == 200
    assert (await app.get(f"/api/records/journal/{record.id}")).json()["note"] == "Cheapest"
    assert (await app.get("/api/records/journal/99")).status_code == 404
    extra = await app.put(f"/api/records/journal/{record.id}/note", json={"note": "x", "y": 1})
    assert extra.status_code == 422


async def test_the_records_need_the_token(app: httpx.AsyncClient) -> None:
    """Without the bearer token: 401."""
    assert (await app.get("/api/records", headers={"authorization": ""})).status_code == 401
