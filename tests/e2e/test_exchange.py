"""``vrm serve exchange`` in its own process: intents matched to vendors, offers relayed unread."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import MetaData, inspect, select

from tests.e2e.test_agent_service import eventually
from tests.processes import ServiceProcess, start_fleet, start_service
from vrm.demo.fleet import vendor_identity
from vrm.protocol import Identity, Verifier, compose, decrypt, encrypt_for
from vrm.protocol.v1.intents import (
    EXCHANGE_SUBSCRIBE,
    INTENT,
    INTENT_WITHDRAW,
    INTENTS_FETCH,
    MAILBOX_FETCH,
    OFFER,
    Intent,
    OfferBody,
    intent_types,
)
from vrm.storage import database_engine

pytestmark = pytest.mark.e2e
JWS = {"content-type": "application/vrm+jws"}
JWE = {"content-type": "application/vrm+jwe"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql+nats", marks=pytest.mark.services)])
def exchange(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServiceProcess]:
    """The exchange alone on SQLite, or as one process of a market on PostgreSQL and NATS."""
    home = tmp_path / "x"
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(home)]
    command += ["--port", "0", "--allow-loopback"]
    database, stream = str(home / "exchange.db"), None
    if request.param != "sqlite":
        database, nats_url = (
            request.getfixturevalue("postgres_url"),
            request.getfixturevalue("nats_url"),
        )
        prefix = f"vrm.test{uuid.uuid4().hex[:12]}"
        stream = prefix.replace(".", "_").upper()
        command += ["--database", database, "--nats", nats_url, "--nats-prefix", prefix]
    service = start_service(command)
    service.database = database  # type: ignore[attr-defined]
    yield service
    service.stop()
    if stream is not None:
        asyncio.run(_delete_stream(nats_url, stream))


async def _delete_stream(nats_url: str, stream: str) -> None:
    import nats
    from nats.js.errors import NotFoundError

    connection = await nats.connect(nats_url)
    with contextlib.suppress(NotFoundError):
        await connection.jetstream().delete_stream(stream)
    await connection.close()


def stored(exchange: ServiceProcess) -> bytes:
    """Everything the exchange's store holds, every row of every table."""
    engine = database_engine(exchange.database)  # type: ignore[attr-defined]
    try:
        with engine.connect() as connection:
            tables = MetaData()
            tables.reflect(connection)
            rows = [
                repr(tuple(row))
                for table in tables.sorted_tables
                for row in connection.execute(select(table))
            ]
    finally:
        engine.dispose()
    return "\n".join(rows).encode()


@pytest.fixture
def fleet() -> Iterator[ServiceProcess]:
    service = start_fleet(2, base="dealers")
    yield service
    service.stop()


def exchange_did(exchange: ServiceProcess) -> str:
    did: str = httpx.get(f"{exchange.url}/.well-known/vrm").json()["did"]
    return did


def send(exchange: ServiceProcess, sender: Identity, type: str, body: dict[str, Any]) -> Any:
    _, token = compose(sender, type=type, to=exchange_did(exchange), body=body)
    return httpx.post(f"{exchange.url}/inbox", content=token, headers=JWS)


def signed(exchange: ServiceProcess, sender: Identity, type: str, body: dict[str, Any]) -> str:
    return compose(sender, type=type, to=exchange_did(exchange), body=body)[1]


def intent(category: str = "vehicles/cars/electric", **place: Any) -> dict[str, Any]:
    return {
        "demand": {
            "category": category,
            "description": "a small electric car, blue if possible",
            "priceSpecification": {"minPrice": 15000, "maxPrice": 25000, "priceCurrency": "EUR"},
            "areaServed": place or {"addressCountry": "GB", "postalCode": "EH6", "radiusKm": 40},
            "validThrough": int(time.time()) + 3600,
        },
        "terms": ["SD-BASE", "NoStalking"],
    }


def subscribe(
    exchange: ServiceProcess,
    vendor: Identity,
    categories: list[str],
    *,
    inbox: str | None = None,
    regions: list[str] | None = None,
) -> None:
    body: dict[str, Any] = {
        "name": "a dealer",
        "subscriptions": [{"categories": categories, "regions": regions or []}],
    }
    if inbox:
        body["inbox"] = inbox
    reply = send(exchange, vendor, EXCHANGE_SUBSCRIBE, body)
    assert reply.status_code == 202, reply.text


def fetch(exchange: ServiceProcess, who: Identity, path: str, type: str, **query: Any) -> Any:
    token = signed(exchange, who, type, {"after": 0})
    return httpx.post(f"{exchange.url}{path}", content=token, headers=JWS, params=query, timeout=40)


def offer_for(pseudonym: str, intent_id: str, seller: Identity, price: float) -> str:
    body = OfferBody.model_validate(
        {
            "intent": intent_id,
            "offer": {
                "name": "Nimbus E1, blue",
                "price": price,
                "priceCurrency": "EUR",
                "deliveryCost": 300,
                "validThrough": int(time.time()) + 3600,
            },
            "seller": {"name": "Leith Motors", "url": "http://127.0.0.1:9", "did": seller.did},
            "accepts_terms": ["SD-BASE", "NoStalking"],
            "needs": ["address.home"],
        }
    )
    return encrypt_for(pseudonym, compose(seller, type=OFFER, to=pseudonym, body=body)[1])


def test_an_intent_reaches_the_vendors_it_matches_and_their_offers_reach_only_the_person(
    exchange: ServiceProcess, fleet: ServiceProcess, tmp_path: Path
) -> None:
    pushed = vendor_identity(b"dealers", 0)  # a fleet vendor: the exchange pushes to it
    elsewhere = vendor_identity(b"dealers", 1)  # subscribed to France only
    puller = Identity.generate()  # no inbox: it fetches
    subscribe(exchange, pushed, ["vehicles/cars"], inbox=f"{fleet.url}/v/0/inbox")
    subscribe(exchange, elsewhere, ["vehicles"], inbox=f"{fleet.url}/v/1/inbox", regions=["FR"])
    subscribe(exchange, puller, ["vehicles"], regions=["GB"])

    person = Identity.generate()  # a pseudonym for this one intent
    published = send(exchange, person, INTENT, intent())
    assert published.status_code == 202, published.text
    intent_id = published.json()["id"]

    def matched(index: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = httpx.get(f"{fleet.url}/v/{index}/matches").json()
        return found

    [match] = eventually(lambda: matched(0), what="the push to the subscribed vendor")
    assert match["mailbox"] == f"{exchange.url}/mailbox"
    seen = Verifier(receiver=exchange_did(exchange), types=intent_types(), seen_ids=None)
    wanted = seen.verify(match["intent"])  # the person's own signature, checked by the vendor
    assert wanted.sender == person.did
    assert isinstance(wanted.body, Intent)
    assert wanted.body.demand.category == "vehicles/cars/electric"
    pulled = fetch(exchange, puller, "/intents/fetch", INTENTS_FETCH).json()["intents"]
    assert [seen.verify(item["intent"]).id for item in pulled] == [intent_id]
    assert matched(1) == []  # a vendor for France only is not told

    # Offers: encrypted to the pseudonym; the exchange keeps them but cannot read them.
    for seller, price in ((pushed, 18999.0), (puller, 19450.0)):
        reply = httpx.post(
            f"{exchange.url}/mailbox",
            content=offer_for(person.did, intent_id, seller, price),
            headers=JWE,
        )
        assert reply.status_code == 202, reply.text
    box = fetch(exchange, person, "/mailbox/fetch", MAILBOX_FETCH).json()["messages"]
    reader = Verifier(receiver=person.did, types=intent_types(), seen_ids=None)
    offers = [reader.verify(decrypt(item["message"], person)) for item in box]
    assert [(o.sender, o.body.offer.price) for o in offers] == [  # type: ignore[attr-defined]
        (pushed.did, 18999.0),
        (puller.did, 19450.0),
    ]
    held = stored(exchange)
    assert person.did.encode() in held, "the rows read are the exchange's own"
    for secret in (b"Nimbus", b"18999", b"Leith Motors"):
        assert secret not in held
    someone_else = Identity.generate()
    refused = fetch(exchange, someone_else, "/mailbox/fetch", MAILBOX_FETCH).json()["messages"]
    assert refused == []  # a mailbox answers only its own pseudonym

    # Withdrawn: gone for the vendors, the mailbox emptied, no more offers taken.
    assert send(exchange, person, INTENT_WITHDRAW, {"intent": intent_id}).status_code == 202
    eventually(
        lambda: matched(0)[0].get("withdrawn"), what="the pushed vendor told of the withdrawal"
    )
    assert fetch(exchange, puller, "/intents/fetch", INTENTS_FETCH).json()["intents"] == []
    assert fetch(exchange, person, "/mailbox/fetch", MAILBOX_FETCH).json()["messages"] == []
    late = httpx.post(
        f"{exchange.url}/mailbox",
        content=offer_for(person.did, intent_id, puller, 1.0),
        headers=JWE,
    )
    assert late.status_code == 403
    assert late.json()["code"] == "wrong_recipient"


def test_a_long_poll_returns_as_soon_as_an_offer_comes(exchange: ServiceProcess) -> None:
    person, seller = Identity.generate(), Identity.generate()
    intent_id = send(exchange, person, INTENT, intent()).json()["id"]
    answered: list[Any] = []
    poll = threading.Thread(
        target=lambda: answered.append(
            fetch(exchange, person, "/mailbox/fetch", MAILBOX_FETCH, wait=20)
        )
    )
    started = time.monotonic()
    poll.start()
    time.sleep(0.5)
    httpx.post(
        f"{exchange.url}/mailbox",
        content=offer_for(person.did, intent_id, seller, 10.0),
        headers=JWE,
    ).raise_for_status()
    poll.join(30)
    assert time.monotonic() - started < 10
    assert len(answered[0].json()["messages"]) == 1


def test_one_pseudonym_one_intent_and_bad_input_gets_problem_details(
    exchange: ServiceProcess, tmp_path: Path
) -> None:
    person = Identity.generate()
    _, token = compose(person, type=INTENT, to=exchange_did(exchange), body=intent())
    assert httpx.post(f"{exchange.url}/inbox", content=token, headers=JWS).status_code == 202
    replayed = httpx.post(f"{exchange.url}/inbox", content=token, headers=JWS)
    assert (replayed.status_code, replayed.json()["code"]) == (409, "replay")
    again = send(exchange, person, INTENT, intent("home/sofas"))
    assert again.status_code == 422
    assert "new one per intent" in again.json()["detail"]
    expired = intent()
    expired["demand"]["validThrough"] = int(time.time()) - 1
    assert send(exchange, Identity.generate(), INTENT, expired).json()["code"] == "invalid_body"
    for path, body, headers, code in (
        ("/mailbox", b"not a jwe", JWE, "malformed"),
        ("/mailbox", b"x", JWS, "malformed"),
        ("/mailbox/fetch", b"not.a.jws", JWS, "malformed"),
        ("/intents/fetch", b"x" * 20_000, JWS, "oversize"),
    ):
        reply = httpx.post(f"{exchange.url}{path}", content=body, headers=headers)
        assert reply.headers["content-type"] == "application/problem+json", (path, reply.text)
        assert reply.json()["code"] == code, (path, reply.text)
    # The exchange's store: one row per intent, each under its own pseudonym, no more.
    engine = database_engine(exchange.database)  # type: ignore[attr-defined]
    columns = [column["name"] for column in inspect(engine).get_columns("intents")]
    engine.dispose()
    assert not {"ip", "address", "account", "person", "user"} & set(columns)


def test_fetching_too_fast_is_refused_with_retry_after(exchange: ServiceProcess) -> None:
    person = Identity.generate()
    statuses = [fetch(exchange, person, "/mailbox/fetch", MAILBOX_FETCH) for _ in range(60)]
    limited = [reply for reply in statuses if reply.status_code == 429]
    assert limited, [reply.status_code for reply in statuses]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["code"] == "rate_limited"


def test_pooled_intents_reach_vendors_as_one_group_of_buyers(
    exchange: ServiceProcess, fleet: ServiceProcess
) -> None:
    seller = vendor_identity(b"dealers", 0)
    subscribe(exchange, seller, ["energy"], inbox=f"{fleet.url}/v/0/inbox")
    for quantity in (1, 2):
        pooled = intent("energy/electricity", addressCountry="GB")
        pooled["pool"] = True
        pooled["demand"]["eligibleQuantity"] = {"value": quantity}
        pooled["demand"]["priceSpecification"] = {"maxPrice": 90, "priceCurrency": "GBP"}
        assert send(exchange, Identity.generate(), INTENT, pooled).status_code == 202
    matches = eventually(
        lambda: (found := httpx.get(f"{fleet.url}/v/0/matches").json()) and len(found) == 2
        and found,
        what="both pooled intents at the vendor",
    )  # fmt: skip
    assert {match["pool_id"] for match in matches} == {matches[0]["pool_id"]}
    assert matches[0]["pool_id"] is not None
    group = httpx.get(f"{exchange.url}/pools/{matches[0]['pool_id']}").json()
    assert (group["buyers"], group["quantity"]) == (2, 3)
    assert httpx.get(f"{exchange.url}/pools/pool-999").status_code == 404
