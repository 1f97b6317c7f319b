"""The Intents pages in-process: compose and publish, compare offers, accept and decline."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.agent.vendors import Clock, Vendor, VendorNetwork, connect, deliver
from tests.agent.web.test_pages import csrf_of, section, sign_in
from vrm.agent.intents import service as intents
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web import SignInLimits, install_web
from vrm.protocol import RELATIONSHIP_REQUEST, Discovery, Identity, compose, encrypt_for
from vrm.protocol.v1.intents import INTENT, OFFER, OFFER_ACCEPT, OFFER_DECLINE, Intent

pytestmark = pytest.mark.anyio
BASE = "http://agent.test"
EXCHANGE_HOST = "exchange.example"
EXCHANGE = f"https://{EXCHANGE_HOST}"


@pytest.fixture
async def browser(
    person: PersonalAgent, network: VendorNetwork, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in client of the person's pages; the desk reaches the test network."""
    network.add("Exchange", host=EXCHANGE_HOST)  # discovery is all publishing needs of it
    person.set_config("exchange_url", EXCHANGE)
    app = FastAPI()
    install_web(
        app,
        agent=person,
        desk=IntentDesk(person, transport=network),
        database=tmp_path / "agent.db",
        limits=SignInLimits(failure_delay=0),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        assert (await sign_in(client)).status_code == 303
        yield client


def filled(**changes: str) -> dict[str, str]:
    """The compose form filled in as a person would, with ``changes``."""
    in_a_week = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    form = {
        "category": "home/appliances",
        "description": "a quiet dishwasher",
        "properties": "colour = white\nnoise_db: 42",
        "quantity": "1",
        "max_price": "600",
        "min_price": "",
        "currency": "eur",
        "country": "ie",
        "postal_code": "D02",
        "radius_km": "30",
        "region": "",
        "needed_by": "",
        "valid_until": in_a_week,
        "agreement": "SD-BASE",
        "term.mine-too": "on",
        "exchange": EXCHANGE,
    }
    form.update(changes)
    return form


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, str], *, page: str = "/intents"
) -> httpx.Response:
    """Submit ``data`` to ``url`` with the CSRF token of ``page``, as the browser would."""
    token = csrf_of(await client.get(page))
    return await client.post(url, data={"csrf_token": token, **data})


def outbox_types(person: PersonalAgent) -> list[str]:
    with person.engine.begin() as connection:
        return list(connection.execute(text("SELECT type FROM outbox ORDER BY id")).scalars())


def published(person: PersonalAgent, description: str = "a quiet dishwasher") -> int:
    """An intent published as the form does (its message queued for the exchange)."""
    where = Discovery(
        did=Identity.generate().did, name="exchange", inbox=f"{EXCHANGE}/inbox", message_types=[]
    )
    demand = {
        "category": "home/appliances",
        "description": description,
        "priceSpecification": {"maxPrice": 600, "priceCurrency": "EUR"},
        "areaServed": {"addressCountry": "IE"},
        "validThrough": int(time.time()) + 86400,
    }
    intent = Intent.model_validate({"demand": demand, "terms": ["SD-BASE", "mine-too"]})
    with person.engine.begin() as connection:
        record = intents.publish(
            connection,
            person.sealer,
            exchange_url=EXCHANGE,
            exchange=where,
            intent=intent,
            now=person.clock(),
        )
    return record.id


def offered(
    person: PersonalAgent,
    intent_id: int,
    seller: Vendor,
    *,
    price: float,
    delivery: float = 0.0,
    starts: str | None = None,
    terms: tuple[str, ...] = ("SD-BASE", "mine-too"),
) -> int:
    """``seller``'s offer for the intent, kept as the mailbox fetch keeps it; its number."""
    record = IntentDesk(person).intent(intent_id)
    offer: dict[str, Any] = {
        "name": f"Dishwasher from {seller.name}",
        "price": price,
        "deliveryCost": delivery,
        "priceCurrency": "EUR",
        "validThrough": int(time.time()) + 3600,
    }
    if starts:
        offer["availabilityStarts"] = starts
    body = {
        "intent": record.message_id,
        "offer": offer,
        "seller": {"name": seller.name, "url": seller.url, "did": seller.did},
        "accepts_terms": list(terms),
        "needs": ["address.home"],
    }
    _, token = compose(seller.identity, type=OFFER, to=record.pseudonym, body=body)
    fetched = [{"id": int(price), "message": encrypt_for(record.pseudonym, token)}]
    with person.engine.begin() as connection:
        [kept] = intents.take_offers(connection, person.sealer, record, fetched, now=person.clock())
    return kept.id


def sellers_in_order(page: str) -> list[str]:
    """The sellers of the offers table, top to bottom."""
    table = page[page.index('class="stack offers-table"') :]
    return re.findall(r'<th scope="row" data-label="Seller">\s*([^<]+?)\s*<', table)


def offer_state(person: PersonalAgent, offer_id: int) -> str:
    with person.engine.begin() as connection:
        return intents.get_offer(connection, person.sealer, offer_id).state


# Composing


async def test_the_form_offers_the_taxonomy_and_the_defaults(browser: httpx.AsyncClient) -> None:
    """Categories grouped by top level, the configured exchange, the default terms ticked."""
    page = await browser.get("/intents")
    assert page.status_code == 200
    assert "No intents yet" in page.text
    assert '<optgroup label="Vehicles">' in page.text
    assert '<option value="vehicles/cars/electric">' in page.text
    assert f'value="{EXCHANGE}"' in page.text
    assert re.search(r'name="term\.mine-too" type="checkbox" checked', page.text)
    assert re.search(r'name="term\.no-resale" type="checkbox" aria', page.text)
    assert '<link rel="stylesheet" href="/static/intents.css">' in page.text
    assert " style=" not in page.text
    assert "<script" not in page.text
    assert (await browser.get("/static/intents.css")).status_code == 200


async def test_invalid_input_comes_back_with_messages_and_nothing_is_published(
    browser: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Each wrong field gets its message beside it (422); what was typed is kept; nothing sent."""
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    bad = filled(
        category="home/dishwashers-of-gold",
        description="a quiet <b>dishwasher</b>",
        properties="colour blue",
        max_price="cheap",
        currency="EURO",
        country="",
        postal_code="",
        radius_km="",
        valid_until=yesterday,
    )
    reply = await post_form(browser, "/intents", bad)
    assert reply.status_code == 422
    page = reply.text
    assert "Not published: 6 answers need a change" in page
    for field, message in {
        "category": "No category &#39;home/dishwashers-of-gold&#39;",
        "properties": "Line 1: write name = value",
        "max_price": "Give an amount such as 250 or 19.99.",
        "currency": "three letters",
        "country": "Say where",
        "valid_until": "That date has passed.",
    }.items():
        found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
        assert found, field
        assert message in found.group(1)
        assert re.search(rf'id="f-{field}"[^>]*aria-invalid="true"', page, re.S)
    assert "a quiet &lt;b&gt;dishwasher&lt;/b&gt;</textarea>" in page  # kept, escaped
    assert 'value="cheap"' in page
    assert "colour blue</textarea>" in page
    assert IntentDesk(person).intents() == []
    assert outbox_types(person) == []


async def test_a_region_and_a_country_together_are_refused(browser: httpx.AsyncClient) -> None:
    """Where is a country (with postal code and distance) or a region, not both."""
    reply = await post_form(browser, "/intents", filled(region="GB-SCT"))
    assert reply.status_code == 422
    assert "Give a region, or a country with a postal code — not both." in reply.text


async def test_publishing_opens_the_intent_page(
    browser: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """The intent is queued for the exchange as typed, and its page says so."""
    reply = await post_form(browser, "/intents", filled())
    assert reply.status_code == 303
    assert reply.headers["location"] == "/intents/1?done=published"
    page = await browser.get(reply.headers["location"])
    assert page.status_code == 200
    assert "<h1>a quiet dishwasher</h1>" in page.text
    assert "Published under a pseudonym of its own" in page.text
    assert "No offers yet" in page.text
    assert "IE, within 30 km of D02" in page.text
    [record] = IntentDesk(person).intents()
    demand = record.intent.demand
    assert demand.category == "home/appliances"
    assert demand.priceSpecification.maxPrice == 600
    assert demand.priceSpecification.priceCurrency == "EUR"
    assert demand.areaServed.addressCountry == "IE"
    assert [(p.name, p.value) for p in demand.itemOffered.additionalProperty] == [
        ("colour", "white"),
        ("noise_db", "42"),
    ]
    assert record.intent.terms == ["SD-BASE", "mine-too"]
    assert record.exchange["url"] == EXCHANGE
    assert outbox_types(person) == [INTENT]
    listed = await browser.get("/intents")
    assert '<a href="/intents/1">a quiet dishwasher</a>' in listed.text


async def test_an_exchange_that_cannot_be_reached_is_said_beside_its_field(
    browser: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """No discovery document: the form comes back (502) with the message; nothing published."""
    reply = await post_form(browser, "/intents", filled(exchange="https://nowhere.example"))
    assert reply.status_code == 502
    found = re.search(r'id="exchange-error">([^<]*)<', reply.text)
    assert found
    assert "Nothing was published" in found.group(1)
    assert 'value="https://nowhere.example"' in reply.text
    assert IntentDesk(person).intents() == []


# Comparing


async def test_the_offers_table_lists_and_sorts(
    browser: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """By total (the default), price, delivery date; a vendor already known is marked."""
    known, _ = await connect(person, network, "Known Kitchens", clock=clock)
    intent_id = published(person)
    offered(person, intent_id, network.add("Cheap Kitchens"), price=400, delivery=150,
            starts="2030-03-01")  # fmt: skip
    offered(person, intent_id, network.add("Fair Kitchens"), price=450, delivery=0,
            starts="2030-01-01")  # fmt: skip
    offered(person, intent_id, known, price=520, delivery=10, starts="2030-02-01",
            terms=("SD-BASE",))  # fmt: skip

    page = (await browser.get(f"/intents/{intent_id}")).text
    assert sellers_in_order(page) == ["Fair Kitchens", "Known Kitchens", "Cheap Kitchens"]
    assert "3 offers, by total; 3 you can accept" in page
    assert "550.00 EUR" in page  # 400 + 150 delivery
    assert "not mine-too" in page
    known_row = page[page.index("Known Kitchens") :]
    assert known_row.index("you know them") < known_row.index("</th>")
    assert page.count("new to you") == 2

    by_price = (await browser.get(f"/intents/{intent_id}?sort=price")).text
    assert sellers_in_order(by_price) == ["Cheap Kitchens", "Fair Kitchens", "Known Kitchens"]
    assert 'aria-sort="ascending">Price' in by_price
    by_delivery = (await browser.get(f"/intents/{intent_id}?sort=delivery")).text
    assert sellers_in_order(by_delivery) == ["Fair Kitchens", "Known Kitchens", "Cheap Kitchens"]
    nonsense = (await browser.get(f"/intents/{intent_id}?sort=nonsense")).text
    assert sellers_in_order(nonsense) == sellers_in_order(page)

    fragment = await browser.get(f"/intents/{intent_id}/offers?sort=price")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert sellers_in_order(fragment.text) == sellers_in_order(by_price)
    listed = (await browser.get("/intents")).text
    assert "3 <span" in listed
    assert "(3 to answer)" in listed


async def test_an_unknown_intent_is_a_page_that_says_so(browser: httpx.AsyncClient) -> None:
    """A number that is no intent, or no number at all: 404 as a page, not a traceback."""
    for path in ("/intents/99", "/intents/abc", "/intents/99/offers"):
        reply = await browser.get(path)
        assert reply.status_code == 404
        assert "No such intent" in reply.text
        assert reply.headers["content-type"].startswith("text/html")


# Answering


async def test_accepting_through_the_form_starts_the_relationship(
    browser: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
) -> None:
    """Accept: a relationship with that seller on the intent's terms, the rest declined."""
    person.set_field("address.home", {"streetAddress": "1 Elm Row"}, changed_by="test")
    intent_id = published(person)
    winner, loser = network.add("South Kitchens"), network.add("North Kitchens")
    taken = offered(person, intent_id, winner, price=450)
    passed = offered(person, intent_id, loser, price=500)
    page = f"/intents/{intent_id}"
    assert "South Kitchens" in section((await browser.get("/")).text, "offers")

    reply = await post_form(browser, f"{page}/offers/{taken}/accept", {"sort": "price"}, page=page)
    assert reply.status_code == 303
    assert reply.headers["location"] == f"{page}?sort=price&done=accepted"
    shown = (await browser.get(reply.headers["location"])).text
    assert "Offer accepted." in shown
    taken_section = section(shown, "taken")
    assert "South Kitchens" in taken_section
    assert "address.home" in taken_section
    assert "the vendor has not accepted" in taken_section
    assert "offer taken" in shown
    assert "Check for offers" not in shown  # the intent is closed
    assert offer_state(person, taken) == "accepted"
    assert offer_state(person, passed) == "declined"
    [relationship] = person.vendors()
    assert relationship.vendor.name == "South Kitchens"
    assert "No offer is waiting for an answer." in (await browser.get("/")).text

    await deliver(worker)
    assert len(winner.received(RELATIONSHIP_REQUEST)) == 1
    assert len(winner.received(OFFER_ACCEPT)) == 1
    assert len(loser.received(OFFER_DECLINE)) == 1


async def test_declining_through_the_form_tells_the_seller_and_keeps_the_intent_open(
    browser: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
) -> None:
    """Decline: the seller gets offer.decline from the pseudonym; the other offer still waits."""
    intent_id = published(person)
    no, maybe = network.add("Pushy Kitchens"), network.add("Calm Kitchens")
    refused = offered(person, intent_id, no, price=450)
    waiting = offered(person, intent_id, maybe, price=500)
    page = f"/intents/{intent_id}"

    reply = await post_form(browser, f"{page}/offers/{refused}/decline", {}, page=page)
    assert reply.status_code == 303
    shown = (await browser.get(reply.headers["location"])).text
    assert "Offer declined: the seller is told" in shown
    assert f'action="{page}/offers/{refused}/accept"' not in shown
    assert f'action="{page}/offers/{waiting}/accept"' in shown
    assert offer_state(person, refused) == "declined"
    assert offer_state(person, waiting) == "received"
    assert IntentDesk(person).intent(intent_id).state == "live"
    await deliver(worker)
    [decline] = no.received(OFFER_DECLINE)
    assert decline.sender == IntentDesk(person).intent(intent_id).pseudonym
    assert maybe.received() == []

    again = await post_form(browser, f"{page}/offers/{refused}/decline", {}, page=page)
    assert again.status_code == 409
    assert "is declined already" in again.text


async def test_an_expired_offer_cannot_be_accepted_and_the_page_says_why(
    browser: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Past its validThrough: no Accept button, the reason instead; a forced POST is refused."""
    intent_id = published(person)
    seller = network.add("Slow Kitchens")
    late = offered(person, intent_id, seller, price=450)
    clock.advance(3601)
    page = f"/intents/{intent_id}"
    shown = (await browser.get(page)).text
    assert "This offer has expired: ask the seller for a new one." in shown
    assert f"/offers/{late}/accept" not in shown
    assert "expired</span>" in shown

    forced = await post_form(browser, f"{page}/offers/{late}/accept", {}, page=page)
    assert forced.status_code == 409
    assert "has expired" in forced.text
    assert offer_state(person, late) == "received"
    assert person.vendors() == []


async def test_an_offer_of_another_intent_is_not_found_there(
    browser: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork
) -> None:
    """The URL names intent and offer; an offer of another intent is not taken through it."""
    first, second = published(person), published(person, "a blue kettle")
    offer = offered(person, first, network.add("Any Kitchens"), price=450)
    page = f"/intents/{second}"
    reply = await post_form(browser, f"{page}/offers/{offer}/accept", {}, page=page)
    assert reply.status_code == 404
    assert "has no offer" in reply.text
    assert offer_state(person, offer) == "received"


async def test_withdrawing_closes_the_intent(
    browser: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork
) -> None:
    """Withdraw: the intent is withdrawn, its offers can no longer be accepted."""
    intent_id = published(person)
    offer = offered(person, intent_id, network.add("Any Kitchens"), price=450)
    page = f"/intents/{intent_id}"
    reply = await post_form(browser, f"{page}/withdraw", {}, page=page)
    assert reply.status_code == 303
    shown = (await browser.get(reply.headers["location"])).text
    assert "Withdrawn: the exchange tells the vendors" in shown
    assert "The intent is withdrawn: it takes no offer now." in shown
    assert f"/offers/{offer}/accept" not in shown
    assert "Withdraw this intent" not in shown
    assert IntentDesk(person).intent(intent_id).state == "withdrawn"


async def test_checking_for_offers_at_an_exchange_that_fails_says_so(
    browser: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """The exchange answers no mailbox: the page again (502) with the reason, no traceback."""
    reply = await post_form(browser, "/intents", filled())
    page = reply.headers["location"].split("?")[0]
    failed = await post_form(browser, f"{page}/fetch", {}, page=page)
    assert failed.status_code == 502
    assert "Could not reach the exchange" in failed.text
    assert "<h1>a quiet dishwasher</h1>" in failed.text


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_actions_without_the_session_token_are_refused_and_change_nothing(
    browser: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, token: str | None
) -> None:
    """Publish, fetch, withdraw, accept, decline: 403 without the right CSRF token."""
    intent_id = published(person)
    offer = offered(person, intent_id, network.add("Any Kitchens"), price=450)
    data = {} if token is None else {"csrf_token": token}
    page = f"/intents/{intent_id}"
    for url, form in [
        ("/intents", {**filled(), **data}),
        (f"{page}/fetch", data),
        (f"{page}/withdraw", data),
        (f"{page}/offers/{offer}/accept", data),
        (f"{page}/offers/{offer}/decline", data),
    ]:
        refused = await browser.post(url, data=form)
        assert refused.status_code == 403, url
        assert "Nothing was changed" in refused.text
    assert [r.id for r in IntentDesk(person).intents()] == [intent_id]
    assert IntentDesk(person).intent(intent_id).state == "live"
    assert offer_state(person, offer) == "received"
    assert person.vendors() == []
    assert outbox_types(person) == [INTENT]
