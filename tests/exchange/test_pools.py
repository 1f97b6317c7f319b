"""Group intents: compatible intents pool together; vendors see how many buyers there are."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine

from vrm.exchange.market import Market
from vrm.exchange.schema import intents
from vrm.protocol import Identity, Message, Verifier, compose
from vrm.protocol.v1.intents import EXCHANGE_SUBSCRIBE, INTENT, INTENT_WITHDRAW, intent_types

EXCHANGE = Identity.generate()
NOW = time.time()


def market(engine: Engine) -> Market:
    return Market(engine, clock=lambda: NOW)


def intent(
    *,
    pool: bool = True,
    category: str = "energy/electricity",
    low: float = 50,
    high: float = 90,
    quantity: int = 1,
    country: str = "GB",
    person: Identity | None = None,
    **properties: str,
) -> Message:
    body: dict[str, Any] = {
        "demand": {
            "category": category,
            "eligibleQuantity": {"value": quantity},
            "itemOffered": {
                "additionalProperty": [{"name": k, "value": v} for k, v in properties.items()]
            },
            "priceSpecification": {"minPrice": low, "maxPrice": high, "priceCurrency": "GBP"},
            "areaServed": {"addressCountry": country},
            "validThrough": int(NOW) + 5 * 86400,
        },
        "terms": ["SD-BASE"],
        "pool": pool,
    }
    _, token = compose(person or Identity.generate(), type=INTENT, to=EXCHANGE.did, body=body)
    return Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None).verify(token)


def pool_of(book: Market, published: int) -> int | None:
    with book.engine.begin() as connection:
        found: int | None = (
            connection.execute(intents.select().where(intents.c.id == published)).one().pool_id
        )
    return found


def test_compatible_intents_join_one_pool_and_others_do_not(exchange_engine: Engine) -> None:
    """Same category, place and currency, overlapping prices, no contradicting property."""
    book = market(exchange_engine)
    first = book.publish(intent(tariff="green")).intent
    same = book.publish(intent(low=60, high=120, quantity=3)).intent
    pool = pool_of(book, first)
    assert pool is not None
    assert pool_of(book, same) == pool
    others = [
        book.publish(intent(tariff="cheapest")).intent,  # contradicts tariff=green
        book.publish(intent(low=200, high=300)).intent,  # prices do not overlap
        book.publish(intent(country="FR")).intent,  # another place
        book.publish(intent(category="energy/gas")).intent,  # another category
    ]
    assert pool not in {pool_of(book, other) for other in others}
    assert pool_of(book, book.publish(intent(pool=False)).intent) is None
    shown = book.pool(pool)
    assert (shown.size, shown.quantity) == (2, 4)


def test_a_pool_closes_after_its_window_and_a_withdrawal_leaves_it(
    exchange_engine: Engine,
) -> None:
    """A member who withdraws is no longer counted; a late intent opens a new pool."""
    book = market(exchange_engine)
    person = Identity.generate()
    first_message = intent(person=person)
    first = book.publish(first_message).intent
    book.publish(intent(quantity=2))
    pool = pool_of(book, first)
    assert pool is not None
    assert (book.pool(pool).size, book.pool(pool).quantity) == (2, 3)
    _, token = compose(
        person, type=INTENT_WITHDRAW, to=EXCHANGE.did, body={"intent": first_message.id}
    )
    verifier = Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None)
    assert book.withdraw(verifier.verify(token))
    assert (book.pool(pool).size, book.pool(pool).quantity) == (1, 2)
    later = Market(book.engine, clock=lambda: NOW + 3 * 86400)
    assert pool_of(later, later.publish(intent()).intent) != pool


def test_a_vendor_that_fetches_gets_what_covers_it_since_it_first_subscribed(
    exchange_engine: Engine,
) -> None:
    """Pull: intents published after it subscribed, in its categories and places, in order."""
    book = market(exchange_engine)
    early = book.publish(intent(category="energy/gas")).intent
    vendor = Identity.generate()
    body = {
        "name": "gas and power",
        "subscriptions": [{"categories": ["energy"], "regions": ["GB"]}],
    }
    _, token = compose(vendor, type=EXCHANGE_SUBSCRIBE, to=EXCHANGE.did, body=body)
    verifier = Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None)
    later = Market(exchange_engine, clock=lambda: NOW + 60)
    later.subscribe(verifier.verify(token))
    covered = [later.publish(intent(category=c)).intent for c in ("energy/gas", "energy")]
    later.publish(intent(category="energy/gas", country="FR"))  # another place
    later.publish(intent(category="energy-saving"))  # not within energy
    found, cursor = later.for_vendor(vendor.did)
    assert [item["id"] for item in found] == covered
    assert early not in [item["id"] for item in found]
    assert later.for_vendor(vendor.did, after=cursor) == ([], cursor)
