"""Receipts from the vendor: sent through the API, and on their own for an accepted offer.

The store-level tests run on SQLite and on PostgreSQL; the API tests call the endpoint's
whole app in-process. Every receipt is read back as the person's agent reads it:
decrypted with the pairwise DID's key and verified.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert, select, text

from tests.vendor.people import VENDOR, message, queued, request
from tests.vendor.test_migrations import upgrade_to
from vrm.protocol import (
    RECEIPT,
    RELATIONSHIP_STATE,
    DataExport,
    Identity,
    Message,
    Receipt,
    ReceiptSeller,
    Verifier,
    compose,
    decrypt,
    record_types,
    relationship_types,
)
from vrm.protocol.kept import verify_kept
from vrm.protocol.v1.intents import OFFER_ACCEPT, intent_types
from vrm.storage import database_engine, migrate_to_newest
from vrm.terms import VendorTermsPolicy, library
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import MIGRATIONS, VendorEndpoint
from vrm.vendor.intents import Intents
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.receipts import ReceiptPolicy, order_number_for, send_for_accepted_offers
from vrm.vendor.records import Policy, PolicyMode, Records
from vrm.vendor.schema import matched_intents, offers, receipts

TOKEN = "vendor-api-token"
SELLER = ReceiptSeller(name="Leith Motors", url="https://vrm.motors.example")
GROCERIES = {
    "orderNumber": "G-1042",
    "orderDate": "2026-01-02",
    "items": [
        {"name": "Sourdough loaf", "price": "4.20", "quantity": 2},
        {"name": "Coffee beans, 1 kg", "sku": "COF-1K", "price": "18.00"},
    ],
    "taxes": [{"name": "VAT", "amount": "4.98", "rate": "20", "included": True}],
    "deliveryCost": "3.50",
    "total": "29.90",
    "currency": "GBP",
    "payment": {"method": "card", "status": "paid"},
}


def received_receipts(engine: Engine, person: Identity) -> list[Message]:
    """The receipts queued for ``person``, decrypted and verified as their agent does."""
    types = relationship_types()
    types.update(record_types())
    verifier = Verifier(receiver=person.did, types=types, seen_ids=None)
    found = []
    for queue, customer, payload in queued(engine):
        if queue != MESSAGE_QUEUE or customer != person.did or not payload.get("encrypted"):
            continue
        message = verifier.verify(decrypt(payload["token"], person))
        if message.type == RECEIPT:
            found.append(message)
    return found


def kept_receipts(engine: Engine) -> int:
    with engine.begin() as connection:
        return int(connection.execute(select(func.count()).select_from(receipts)).scalar_one())


# receipts for accepted offers, in the store


class Shop:
    """A vendor's records and intents on one store, with the receipt policy given."""

    def __init__(
        self, engine: Engine, *, on_offer_accept: bool = True, mode: str = "accept_all"
    ) -> None:
        policy = ReceiptPolicy(seller=SELLER, on_offer_accept=on_offer_accept)
        everything = VendorTermsPolicy.accepting_everything_in(library())
        self.engine = engine
        self.records = Records(
            engine,
            identity=VENDOR,
            policy=Policy(PolicyMode(mode)),
            adapters=[],
            receipt_policy=policy,
        )
        self.intents = Intents(
            engine,
            identity=VENDOR,
            name=SELLER.name,
            public_url=SELLER.url,
            terms_policy=lambda: everything,
            receipt_policy=policy,
        )

    def offered(self, *, quantity: int = 1) -> tuple[Identity, str]:
        """An offer the vendor made to a new pseudonym's intent: the pseudonym, the offer id."""
        pseudonym, offer_id, now = Identity.generate(), f"offer-{time.time_ns()}", time.time()
        demand = {"category": "home/sofas", "eligibleQuantity": {"value": quantity}}
        terms = {
            "name": "Three-seat sofa, green",
            "price": 740.5,
            "priceCurrency": "EUR",
            "deliveryCost": 49.99,
            "validThrough": int(now) + 3600,
        }
        with self.engine.begin() as connection:
            intent = connection.execute(
                insert(matched_intents).values(
                    exchange="did:key:zExchange",
                    mailbox="https://exchange.example/mailbox",
                    pseudonym=pseudonym.did,
                    intent_id=f"intent-{offer_id}",
                    category="home/sofas",
                    token="x.y.z",
                    demand=json.dumps(demand),
                    terms="[]",
                    pool=1,
                    state="offered",
                    received_at=now,
                    expires_at=now + 3600,
                )
            ).inserted_primary_key[0]
            connection.execute(
                insert(offers).values(
                    intent=intent,
                    message_id=offer_id,
                    body=json.dumps({"offer": terms}),
                    state="sent",
                    sent_at=now,
                )
            )
        return pseudonym, offer_id

    def accept(self, pseudonym: Identity, offer_id: str, person: Identity) -> bool:
        """The pseudonym's ``offer.accept`` naming ``person``, as the inbox hands it on."""
        body = {"offer": offer_id, "relationship": person.did}
        _, token = compose(pseudonym, type=OFFER_ACCEPT, to=VENDOR.did, body=body)
        verifier = Verifier(receiver=VENDOR.did, types=intent_types(), seen_ids=None)
        return self.intents.receive(verifier.verify(token))


@pytest.mark.parametrize("request_first", [False, True])
def test_an_accepted_offer_gets_one_receipt_whichever_message_comes_first(
    engine: Engine, request_first: bool
) -> None:
    """Acceptance and relationship in either order: the later one sends the receipt, once."""
    shop = Shop(engine)
    pseudonym, offer_id = shop.offered(quantity=2)
    person = Identity.generate()
    if request_first:
        assert shop.records.receive(request(person)) is True
        assert received_receipts(engine, person) == []
        assert shop.accept(pseudonym, offer_id, person) is True
    else:
        assert shop.accept(pseudonym, offer_id, person) is False  # no relationship yet
        assert received_receipts(engine, person) == []
        assert shop.records.receive(request(person)) is True
    [sent] = received_receipts(engine, person)
    assert sent.sender == VENDOR.did
    receipt = sent.body
    assert isinstance(receipt, Receipt)
    assert receipt.orderNumber == order_number_for(offer_id)
    assert receipt.orderDate == time.strftime("%Y-%m-%d", time.gmtime())
    assert receipt.seller == SELLER
    [item] = receipt.items
    assert (item.name, item.price, item.quantity) == ("Three-seat sofa, green", "740.5", 2)
    assert (receipt.deliveryCost, receipt.total, receipt.currency) == ("49.99", "1530.99", "EUR")
    assert receipt.payment is not None
    assert (receipt.payment.method, receipt.payment.status) == ("invoice", "due")
    assert receipt.offer == offer_id
    [listed] = shop.records.receipts(person.did)
    assert (listed["message_id"], listed["automatic"], listed["delivery"]) == (
        sent.id,
        True,
        "pending",
    )


def test_a_repeated_acceptance_or_request_sends_no_second_receipt(engine: Engine) -> None:
    """The same acceptance again, and the request asked again, change nothing: one receipt."""
    shop = Shop(engine)
    pseudonym, offer_id = shop.offered()
    person = Identity.generate()
    shop.records.receive(request(person))
    shop.accept(pseudonym, offer_id, person)
    assert shop.accept(pseudonym, offer_id, person) is False  # a new message, the same acceptance
    shop.records.receive(request(person))
    assert len(received_receipts(engine, person)) == 1
    assert kept_receipts(engine) == 1


def test_each_accepted_offer_of_a_customer_gets_its_own_receipt(engine: Engine) -> None:
    """Two offers taken by one customer: two receipts, with different order numbers."""
    shop = Shop(engine)
    person = Identity.generate()
    taken = [shop.offered(), shop.offered()]
    for pseudonym, offer_id in taken:
        shop.accept(pseudonym, offer_id, person)
    shop.records.receive(request(person))
    bodies = [m.body for m in received_receipts(engine, person)]
    numbers = {body.orderNumber for body in bodies if isinstance(body, Receipt)}
    assert numbers == {order_number_for(offer_id) for _, offer_id in taken}


def test_a_held_relationship_gets_the_receipt_when_the_vendor_approves_it(
    engine: Engine,
) -> None:
    """Under the manual policy nothing is sent while the request waits; approving sends it."""
    shop = Shop(engine, mode="manual")
    pseudonym, offer_id = shop.offered()
    person = Identity.generate()
    shop.records.receive(request(person))
    assert shop.accept(pseudonym, offer_id, person) is False
    assert received_receipts(engine, person) == []
    shop.records.approve(person.did)
    assert len(received_receipts(engine, person)) == 1


def test_no_receipt_when_the_setting_is_off_or_the_person_ended_the_relationship(
    engine: Engine,
) -> None:
    """``on_offer_accept = false`` sends none; neither does a relationship the person ended."""
    quiet = Shop(engine, on_offer_accept=False)
    pseudonym, offer_id = quiet.offered()
    person = Identity.generate()
    quiet.records.receive(request(person))
    assert quiet.accept(pseudonym, offer_id, person) is False

    shop = Shop(engine)
    pseudonym, offer_id = shop.offered()
    leaver = Identity.generate()
    shop.records.receive(request(leaver))
    shop.records.receive(message(leaver, RELATIONSHIP_STATE, {"state": "ended"}))
    assert shop.accept(pseudonym, offer_id, leaver) is False
    assert kept_receipts(engine) == 0


@pytest.mark.services
def test_on_postgresql_one_customer_s_receipts_are_decided_one_transaction_at_a_time(
    postgres_url: str,
) -> None:
    """While one transaction looks for a customer's receipts due, another has to wait for it.

    So of an acceptance and a relationship committing at the same time, the later sees both.
    """
    engine = database_engine(postgres_url)
    migrate_to_newest(engine, MIGRATIONS)
    did = Identity.generate().did
    outgoing = Outgoing(VENDOR, 60.0, time.time)
    try:
        with engine.begin() as first:
            send_for_accepted_offers(first, did, seller=SELLER, outgoing=outgoing)
            with engine.connect() as second:
                taken = second.execute(
                    text("SELECT pg_try_advisory_xact_lock(hashtextextended(:did, 0))"),
                    {"did": did},
                ).scalar()
                second.rollback()
        assert taken is False
    finally:
        engine.dispose()


def test_a_fourth_version_store_gains_the_receipts_table(empty_engine: Engine) -> None:
    """Migration 0005 adds receipts beside the customers, who are kept."""
    upgrade_to(empty_engine, "0004")
    person = Identity.generate()
    Records(empty_engine, identity=VENDOR, policy=Policy(), adapters=[]).receive(request(person))
    migrate_to_newest(empty_engine, MIGRATIONS)
    book = Records(empty_engine, identity=VENDOR, policy=Policy(), adapters=[])
    assert book.customer(person.did)["state"] == "accepted"
    assert book.receipts(person.did) == []


# the API


async def nowhere(scope: Any, receive: Any, send: Any) -> None:
    """People's inboxes: the worker does not run in these tests."""


@pytest.fixture
async def vendor(tmp_path: Path) -> AsyncIterator[VendorEndpoint]:
    """An endpoint holding every request for the vendor's decision."""
    settings = settings_from(
        {
            "name": "Corner Grocer",
            "public_url": "https://vrm.grocer.example",
            "policy": {"mode": "manual"},
            "allow_loopback": True,
        }
    )
    endpoint = VendorEndpoint.open(
        settings, home=tmp_path, identity=VENDOR, transport=AsgiTransport(nowhere)
    )
    yield endpoint
    await endpoint.aclose()


@pytest.fixture
async def api(vendor: VendorEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    """The endpoint's app in-process, with the API token."""
    app = create_vendor_app(vendor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://vrm.grocer.example",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def customer(vendor: VendorEndpoint, *, approve: bool = True) -> Identity:
    """A person whose relationship request came (and was approved, unless told otherwise)."""
    person = Identity.generate()
    await vendor.handle(request(person))
    if approve:
        vendor.records.approve(person.did)
    return person


@pytest.mark.anyio
async def test_a_receipt_is_signed_encrypted_queued_kept_and_listed(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """202 with the message id; the person reads it with the endpoint's name as seller."""
    person = await customer(vendor)
    path = f"/api/customers/{person.did}/receipts"
    sent = await api.post(path, json=GROCERIES)
    assert sent.status_code == 202, sent.text
    copy = sent.json()
    assert (copy["customer"], copy["orderNumber"], copy["automatic"]) == (
        person.did,
        "G-1042",
        False,
    )
    [message] = received_receipts(vendor.engine, person)
    assert message.id == copy["message_id"]
    receipt = message.body
    assert isinstance(receipt, Receipt)
    assert receipt.seller == ReceiptSeller(name="Corner Grocer", url="https://vrm.grocer.example")
    assert receipt.model_dump(mode="json", exclude_none=True) == copy["receipt"]
    assert (await api.get(path)).json() == [copy]

    correction = {**GROCERIES, "payment": {"method": "card", "status": "refunded"}}
    correction["seller"] = {"name": "Corner Grocer Ltd"}
    again = await api.post(path, json=correction)
    assert again.status_code == 202, again.text
    listed = (await api.get(path)).json()
    assert [r["orderNumber"] for r in listed] == ["G-1042", "G-1042"]  # a correction: a new one
    assert listed[1]["receipt"]["seller"] == {"name": "Corner Grocer Ltd"}
    assert listed[0]["message_id"] != listed[1]["message_id"]


@pytest.mark.anyio
async def test_a_receipt_for_no_accepted_relationship_is_refused(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """Unknown: 404; pending, refused, ended by either side, erased: 409; nothing is kept."""
    unknown = await api.post(f"/api/customers/{Identity.generate().did}/receipts", json=GROCERIES)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert unknown.headers["content-type"] == "application/problem+json"

    pending = await customer(vendor, approve=False)
    refused = await customer(vendor, approve=False)
    vendor.records.refuse(refused.did)
    ended_by_vendor = await customer(vendor)
    vendor.records.end(ended_by_vendor.did)
    ended_by_person = await customer(vendor)
    await vendor.handle(message(ended_by_person, RELATIONSHIP_STATE, {"state": "ended"}))
    erased = await customer(vendor)
    vendor.records.erase(erased.did)
    for person in (pending, refused, ended_by_vendor, ended_by_person, erased):
        reply = await api.post(f"/api/customers/{person.did}/receipts", json=GROCERIES)
        assert (reply.status_code, reply.json()["code"]) == (409, "conflict"), person
    assert kept_receipts(vendor.engine) == 0


@pytest.mark.anyio
async def test_a_receipt_that_does_not_add_up_or_names_a_stranger_s_offer_is_refused(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """A wrong total, an impossible date, an offer the customer did not take: 422."""
    person = await customer(vendor)
    path = f"/api/customers/{person.did}/receipts"
    for wrong in (
        {"total": "29.80"},
        {"orderDate": "2026-02-30"},
        {"offer": "an-offer-never-made"},
        {"items": [{"name": "Loaf", "price": 4.2}], "total": "4.2"},
    ):
        reply = await api.post(path, json={**GROCERIES, **wrong})
        assert (reply.status_code, reply.json()["code"]) == (422, "invalid_request"), wrong
    wrong_total = await api.post(path, json={**GROCERIES, "total": "29.80"})
    assert "(29.90)" in wrong_total.json()["detail"]
    assert kept_receipts(vendor.engine) == 0


@pytest.mark.anyio
async def test_receipts_go_in_the_export_and_go_with_the_erased_record(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """The export carries each receipt as signed; erasure deletes the copies, not the tombstone."""
    person = await customer(vendor)
    path = f"/api/customers/{person.did}/receipts"
    sent = (await api.post(path, json=GROCERIES)).json()
    export = DataExport.model_validate(
        (await api.get(f"/api/customers/{person.did}/export")).json()
    )
    [signed] = export.receipts
    kept = verify_kept(signed, receiver=person.did, types=record_types())
    assert (kept.id, kept.sender) == (sent["message_id"], VENDOR.did)
    assert kept.body == Receipt.model_validate(sent["receipt"])

    assert (await api.post(f"/api/customers/{person.did}/erase")).status_code == 200
    assert (await api.get(path)).json() == []
    assert kept_receipts(vendor.engine) == 0
    log = [payload for _, did, payload in queued(vendor.engine) if did == person.did]
    assert "Sourdough" not in json.dumps(log)  # what stays in the queue's log is encrypted
