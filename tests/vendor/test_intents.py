"""Intentcasting at the vendor endpoint: matches in, offers out, against a real exchange in-process.

The exchange (``vrm.exchange``) runs in the test's process: the endpoint reaches it
through an in-process transport, and its push worker reaches the endpoint's app
the same way, so both sides run their own code without a socket.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.vendor import people
from tests.vendor.intentcasting import (
    EXCHANGE_URL,
    JWS,
    TOKEN,
    VENDOR_URL,
    client,
    intent,
    open_exchange,
    open_vendor,
    publish,
    pushing_to,
    vendor_app,
    vendor_settings,
)
from vrm.exchange.bus import LocalBus
from vrm.exchange.service import Exchange
from vrm.protocol import (
    PING,
    RECEIPT,
    RELATIONSHIP_REQUEST,
    Identity,
    ProtocolError,
    Verifier,
    compose,
    decrypt,
    record_types,
)
from vrm.protocol.v1.intents import (
    INTENT,
    INTENT_MATCH,
    INTENT_WITHDRAW,
    OFFER_ACCEPT,
    OFFER_DECLINE,
    IntentMatch,
    OfferBody,
    intent_types,
)
from vrm.transport.backoff import Backoff
from vrm.transport.client import AsgiTransport, HttpReply, TransportError
from vrm.transport.delivery import Sender
from vrm.vendor.endpoint import VendorEndpoint

pytestmark = pytest.mark.anyio
OFFER = {"name": "Nimbus E1, blue", "price": 18999, "priceCurrency": "EUR", "deliveryCost": 300}


@dataclass
class Market:
    """An exchange and a vendor endpoint subscribed at it, each calling the other in-process."""

    exchange: Exchange
    exchange_app: Any
    vendor: VendorEndpoint
    app: Any
    api: httpx.AsyncClient

    async def subscribe(self) -> None:
        await self.vendor.exchanges.subscribe(self.vendor.settings.exchanges[0])

    async def push(self) -> int:
        """The exchange's push worker: one round."""
        bus = self.exchange.bus
        assert isinstance(bus, LocalBus)  # the exchange in one process pushes itself
        return await bus.worker.run_once()

    async def matched(self) -> list[dict[str, Any]]:
        reply = await self.api.get("/api/intents")
        assert reply.status_code == 200, reply.text
        found: list[dict[str, Any]] = reply.json()
        return found

    async def post_match(self, token: str, sender: Identity | None = None) -> httpx.Response:
        """An ``intent.match`` carrying ``token``, from the exchange (or ``sender``)."""
        exchange = sender or self.exchange.identity
        body = IntentMatch(intent=token, mailbox=f"{EXCHANGE_URL}/mailbox")
        _, match = compose(exchange, type=INTENT_MATCH, to=self.vendor.identity.did, body=body)
        return await self.api.post("/inbox", content=match, headers=JWS)

    async def offered(self) -> tuple[Identity, dict[str, Any]]:
        """An intent pushed to the vendor, and its offer for it: the pseudonym, the offer."""
        await self.subscribe()
        pseudonym, _ = await publish(self.exchange, self.exchange_app)
        await self.push()
        [matched] = await self.matched()
        made = await self.api.post(f"/api/intents/{matched['id']}/offers", json=OFFER)
        assert made.status_code == 201, made.text
        offer: dict[str, Any] = made.json()
        return pseudonym, offer

    async def send(self, sender: Identity, kind: str, body: dict[str, Any]) -> httpx.Response:
        """A message from ``sender`` to the vendor's inbox."""
        _, token = compose(sender, type=kind, to=self.vendor.identity.did, body=body)
        return await self.api.post("/inbox", content=token, headers=JWS)

    async def offer(self, offer_id: int) -> dict[str, Any]:
        """The vendor's offer as its API lists it."""
        listed = (await self.api.get("/api/offers")).json()
        found: dict[str, Any] = next(o for o in listed if o["id"] == offer_id)
        return found

    def signed_intent(self, pseudonym: Identity, **changes: Any) -> str:
        body = {**intent(), **changes.pop("body", {})}
        to = changes.pop("to", self.exchange.identity.did)
        kind = changes.pop("type", INTENT)
        return compose(pseudonym, type=kind, to=to, body=body, **changes)[1]


@pytest.fixture
async def market(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Market]:
    """A push market; a test's parameter (a dict) changes the vendor's [[exchanges]] entry."""
    exchange, exchange_app = open_exchange(tmp_path / "exchange")
    settings = vendor_settings(**getattr(request, "param", {}))
    vendor = open_vendor(
        tmp_path / "vendor", settings, AsgiTransport(exchange_app, base_url=EXCHANGE_URL)
    )
    app = vendor_app(vendor)
    exchange.pusher.sender = Sender(pushing_to(app))
    async with client(app, VENDOR_URL, Authorization=f"Bearer {TOKEN}") as api:
        yield Market(exchange, exchange_app, vendor, app, api)
    await vendor.aclose()
    await exchange.aclose()


async def test_a_pushed_intent_is_kept_and_listed_with_its_demand_in_clear(market: Market) -> None:
    """The exchange pushes; the endpoint checks the person's signature and lists the demand."""
    await market.subscribe()
    pseudonym, intent_id = await publish(market.exchange, market.exchange_app)
    assert await market.push() == 1
    [shown] = await market.matched()
    assert shown["state"] == "open"
    assert (shown["pseudonym"], shown["intent_id"]) == (pseudonym.did, intent_id)
    assert shown["exchange"] == market.exchange.identity.did
    assert shown["category"] == "vehicles/cars/electric"
    assert shown["description"] == "a small electric car, blue if possible"
    assert shown["item"] == {"name": None, "properties": {"range_km": "300"}}
    assert shown["quantity"] == 1
    assert shown["price"] == {"min": 15000, "max": 25000, "currency": "EUR"}
    assert shown["place"] == {"addressCountry": "GB", "postalCode": "EH6", "radiusKm": 40}
    assert shown["needed_by"] == "2027-03-01"
    assert shown["terms"] == ["SD-BASE", "NoStalking", "no-such-term"]
    assert shown["terms_accepted"] == ["SD-BASE", "NoStalking"]  # what [terms] accepts
    assert shown["pool"] == 1
    one = (await market.api.get(f"/api/intents/{shown['id']}")).json()
    assert one["demand"]["priceSpecification"]["maxPrice"] == 25000
    assert one["offers"] == []
    assert (await market.api.get("/api/intents?state=offered")).json() == []


@pytest.mark.parametrize(
    "forgery",
    ["broken signature", "a ping, not an intent", "addressed to another exchange"],
)
async def test_a_forged_embedded_intent_is_refused_invalid_body(
    market: Market, forgery: str
) -> None:
    """The exchange's signature is not enough: the person's own must hold, on an intent."""
    await market.subscribe()
    pseudonym = Identity.generate()
    if forgery == "broken signature":
        header, payload, signature = market.signed_intent(pseudonym).split(".")
        token = ".".join((header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]))
    elif forgery == "a ping, not an intent":
        token = compose(pseudonym, type=PING, to=market.exchange.identity.did, body={})[1]
    else:
        token = market.signed_intent(pseudonym, to=Identity.generate().did)
    reply = await market.post_match(token)
    assert reply.status_code == 422, reply.text
    assert reply.json()["code"] == "invalid_body"
    assert await market.matched() == []


async def test_a_match_from_an_exchange_not_subscribed_at_is_refused(market: Market) -> None:
    """Anyone can sign an intent and a match: only the exchanges of the settings are heard."""
    stranger = Identity.generate()
    token = compose(Identity.generate(), type=INTENT, to=stranger.did, body=intent())[1]
    reply = await market.post_match(token, sender=stranger)
    assert reply.status_code == 403
    assert reply.json()["code"] == "wrong_recipient"
    assert await market.matched() == []


async def test_the_same_intent_matched_again_is_kept_once(market: Market) -> None:
    """A second match of one intent (another message, or fetched as well) changes nothing."""
    await market.subscribe()
    pseudonym = Identity.generate()
    token = market.signed_intent(pseudonym)
    for _ in range(2):
        reply = await market.post_match(token)
        assert reply.status_code == 202, reply.text
    assert len(await market.matched()) == 1


async def test_an_intent_whose_envelope_expired_is_still_taken_until_its_own_expiry(
    market: Market,
) -> None:
    """A person's agent signs for its delivery window; the demand's validThrough decides."""
    await market.subscribe()
    an_hour_ago = time.time() - 3600
    token = market.signed_intent(Identity.generate(), now=an_hour_ago, lifetime=600)
    assert (await market.post_match(token)).status_code == 202
    past = intent()
    past["demand"]["validThrough"] = int(time.time()) - 1
    stale = market.signed_intent(Identity.generate(), body=past)
    reply = await market.post_match(stale)
    assert reply.status_code == 422
    assert "expired" in reply.json()["detail"]
    assert len(await market.matched()) == 1


async def test_an_offer_is_encrypted_to_the_pseudonym_and_kept_in_its_mailbox(
    market: Market,
) -> None:
    """Only the person's key opens it; inside, the vendor's signed offer for that intent."""
    await market.subscribe()
    pseudonym, intent_id = await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()
    reply = await market.api.post(
        f"/api/intents/{matched['id']}/offers", json={**OFFER, "needs": ["address.home"]}
    )
    assert reply.status_code == 201, reply.text
    made = reply.json()
    assert made["state"] == "sent"
    [kept] = market.exchange.market.mailbox(pseudonym.did)
    with pytest.raises(ProtocolError):
        decrypt(kept["message"], Identity.generate())
    verifier = Verifier(receiver=pseudonym.did, types=intent_types(), seen_ids=None)
    message = verifier.verify(decrypt(kept["message"], pseudonym))
    assert message.sender == market.vendor.identity.did
    assert message.id == made["message_id"]
    body = message.body
    assert isinstance(body, OfferBody)
    assert body.intent == intent_id
    assert (body.offer.price, body.offer.deliveryCost) == (18999, 300)
    assert body.offer.validThrough == int(matched["expires_at"])  # by default, the intent's
    assert body.seller.model_dump() == {
        "name": "Leith Motors",
        "url": VENDOR_URL,
        "did": market.vendor.identity.did,
    }
    assert body.accepts_terms == ["SD-BASE", "NoStalking"]
    assert body.needs == ["address.home"]
    assert message.envelope.expires_time == body.offer.validThrough  # readable till it ends
    assert (await market.api.get("/api/intents?state=offered")).json()[0]["id"] == matched["id"]
    assert [o["id"] for o in (await market.api.get("/api/offers")).json()] == [made["id"]]


async def test_an_offer_must_fit_the_intent(market: Market) -> None:
    """Terms the intent does not ask for, or an offer ending already, are refused (422)."""
    await market.subscribe()
    await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()
    path = f"/api/intents/{matched['id']}/offers"
    for wrong in ({"accepts_terms": ["PDC-AI"]}, {"validThrough": 1}, {"colour": "blue"}):
        reply = await market.api.post(path, json={**OFFER, **wrong})
        assert reply.status_code == 422, reply.text
        assert reply.json()["code"] == "invalid_request"
    assert (await market.api.post("/api/intents/99/offers", json=OFFER)).status_code == 404
    assert market.exchange.market.mailbox(matched["pseudonym"]) == []


async def test_an_offer_to_a_withdrawn_intent_is_a_conflict(market: Market) -> None:
    """The exchange no longer has it: 409, and the intent shows withdrawn from then on."""
    await market.subscribe()
    pseudonym, intent_id = await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()
    _, withdraw = compose(
        pseudonym,
        type=INTENT_WITHDRAW,
        to=market.exchange.identity.did,
        body={"intent": intent_id},
    )
    async with client(market.exchange_app, EXCHANGE_URL) as http:
        assert (await http.post("/inbox", content=withdraw, headers=JWS)).status_code == 202
    path = f"/api/intents/{matched['id']}/offers"
    for _ in range(2):  # first the exchange says so, then the endpoint knows
        reply = await market.api.post(path, json=OFFER)
        assert reply.status_code == 409, reply.text
        assert reply.json()["code"] == "conflict"
    assert (await market.matched())[0]["state"] == "withdrawn"
    assert (await market.api.get("/api/offers")).json() == []


async def test_an_expired_intent_takes_no_offer(market: Market) -> None:
    """Past the demand's validThrough the intent is expired, without asking the exchange."""
    await market.subscribe()
    await publish(market.exchange, market.exchange_app)
    await market.push()
    market.vendor.intents.clock = lambda: time.time() + 7200
    [matched] = await market.matched()
    assert matched["state"] == "expired"
    reply = await market.api.post(f"/api/intents/{matched['id']}/offers", json=OFFER)
    assert reply.status_code == 409


async def test_an_exchange_that_does_not_take_the_offer_is_a_bad_gateway(market: Market) -> None:
    """The vendor sees the exchange's own answer; nothing is recorded as sent."""
    await market.subscribe()
    await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()

    async def busy(scope: Any, receive: Any, send: Any) -> None:
        problem = b'{"code": "busy", "detail": "try again in a minute"}'
        headers = [(b"content-type", b"application/problem+json")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": problem})

    market.vendor.exchanges.sender = Sender(AsgiTransport(busy, base_url=EXCHANGE_URL))
    reply = await market.api.post(f"/api/intents/{matched['id']}/offers", json=OFFER)
    assert reply.status_code == 502
    assert reply.json()["code"] == "exchange_refused"
    assert "try again in a minute" in reply.json()["detail"]
    assert (await market.api.get("/api/offers")).json() == []


async def test_a_person_declining_an_offer_marks_it_declined(market: Market) -> None:
    """offer.decline from the intent's pseudonym; another pseudonym cannot decline it."""
    await market.subscribe()
    pseudonym, _ = await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()
    made = (await market.api.post(f"/api/intents/{matched['id']}/offers", json=OFFER)).json()
    decline = {"offer": made["message_id"], "reason": "another offer taken"}
    vendor = market.vendor.identity.did
    _, other = compose(Identity.generate(), type=OFFER_DECLINE, to=vendor, body=decline)
    refused = await market.api.post("/inbox", content=other, headers=JWS)
    assert refused.status_code == 403
    _, declined = compose(pseudonym, type=OFFER_DECLINE, to=vendor, body=decline)
    assert (await market.api.post("/inbox", content=declined, headers=JWS)).status_code == 202
    [shown] = (await market.api.get("/api/offers?state=declined")).json()
    assert (shown["id"], shown["reason"]) == (made["id"], "another offer taken")
    assert shown["answered_at"] is not None


async def relate(market: Market, person: Identity) -> None:
    """The person asks the vendor for a relationship from ``person``, their pairwise DID."""
    proffered = people.offer(person, vendor=market.vendor.identity.did)
    body = {"reply_to": "http://127.0.0.1:9/inbox", "proffer": proffered.model_dump(mode="json")}
    reply = await market.send(person, RELATIONSHIP_REQUEST, body)
    assert reply.status_code == 202, reply.text


@pytest.mark.parametrize("request_first", [False, True])
async def test_a_person_accepting_an_offer_marks_it_accepted_by_their_relationship(
    market: Market, request_first: bool
) -> None:
    """offer.accept from the pseudonym names the customer, whether its request came or not."""
    pseudonym, made = await market.offered()
    person = Identity.generate()  # the person's pairwise DID for this vendor
    acceptance = {"offer": made["message_id"], "relationship": person.did}
    if request_first:
        await relate(market, person)
    refused = await market.send(Identity.generate(), OFFER_ACCEPT, acceptance)
    assert refused.status_code == 403
    assert refused.json()["code"] == "wrong_recipient"
    unknown = await market.send(pseudonym, OFFER_ACCEPT, {**acceptance, "offer": "no-such-offer"})
    assert unknown.status_code == 403
    assert (await market.offer(made["id"]))["state"] == "sent"

    accepted = await market.send(pseudonym, OFFER_ACCEPT, acceptance)
    assert accepted.status_code == 202, accepted.text
    [shown] = (await market.api.get("/api/offers?state=accepted")).json()
    assert (shown["id"], shown["customer"]) == (made["id"], person.did)
    assert shown["answered_at"] is not None
    [taken] = await market.matched()
    assert taken["state"] == "accepted"
    more = await market.api.post(f"/api/intents/{taken['id']}/offers", json=OFFER)
    assert more.status_code == 409  # taken: it takes no more offers
    if not request_first:
        assert (await market.api.get(f"/api/customers/{person.did}")).status_code == 404
        await relate(market, person)
    customer = (await market.api.get(f"/api/customers/{shown['customer']}")).json()
    assert customer["did"] == person.did


async def test_the_same_acceptance_again_changes_nothing(market: Market) -> None:
    """A second copy is accepted and harmless; a decline after it changes nothing either."""
    pseudonym, made = await market.offered()
    acceptance = {"offer": made["message_id"], "relationship": Identity.generate().did}
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202
    first = await market.offer(made["id"])
    market.vendor.intents.clock = lambda: time.time() + 60
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202
    decline = {"offer": made["message_id"]}
    assert (await market.send(pseudonym, OFFER_DECLINE, decline)).status_code == 202
    assert await market.offer(made["id"]) == first
    assert first["state"] == "accepted"


async def test_an_accepted_offer_cannot_be_taken_by_another_relationship(market: Market) -> None:
    """Once a DID took the offer, an acceptance naming another is refused as invalid."""
    pseudonym, made = await market.offered()
    taker, other = Identity.generate().did, Identity.generate().did
    acceptance = {"offer": made["message_id"], "relationship": taker}
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202
    again = await market.send(pseudonym, OFFER_ACCEPT, {**acceptance, "relationship": other})
    assert again.status_code == 422
    assert again.json()["code"] == "invalid_body"
    assert (await market.offer(made["id"]))["customer"] == taker


async def test_accepting_a_declined_offer_is_refused(market: Market) -> None:
    """The person declined it: a later acceptance is invalid, and the offer stays declined."""
    pseudonym, made = await market.offered()
    decline = {"offer": made["message_id"], "reason": "another offer taken"}
    assert (await market.send(pseudonym, OFFER_DECLINE, decline)).status_code == 202
    acceptance = {"offer": made["message_id"], "relationship": Identity.generate().did}
    refused = await market.send(pseudonym, OFFER_ACCEPT, acceptance)
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_body"
    assert "declined" in refused.json()["detail"]
    shown = await market.offer(made["id"])
    assert (shown["state"], shown["customer"]) == ("declined", None)


async def test_an_acceptance_made_after_the_offer_expired_is_refused(market: Market) -> None:
    """Signed after validThrough: refused, the offer stays open; one signed in time is taken."""
    await market.subscribe()
    pseudonym, _ = await publish(market.exchange, market.exchange_app)
    await market.push()
    [matched] = await market.matched()
    until = int(time.time()) + 5
    made = await market.api.post(
        f"/api/intents/{matched['id']}/offers", json={**OFFER, "validThrough": until}
    )
    assert made.status_code == 201, made.text
    acceptance = {"offer": made.json()["message_id"], "relationship": Identity.generate().did}
    vendor = market.vendor.identity.did
    _, late = compose(pseudonym, type=OFFER_ACCEPT, to=vendor, body=acceptance, now=until + 1)
    refused = await market.api.post("/inbox", content=late, headers=JWS)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_body")
    assert "expired" in refused.json()["detail"]
    assert (await market.offer(made.json()["id"]))["state"] == "sent"
    _, in_time = compose(pseudonym, type=OFFER_ACCEPT, to=vendor, body=acceptance, now=until)
    assert (await market.api.post("/inbox", content=in_time, headers=JWS)).status_code == 202
    assert (await market.offer(made.json()["id"]))["state"] == "accepted"


@pytest.mark.parametrize("withdrawn_first", [False, True])
async def test_an_intent_taken_stays_accepted_when_the_exchange_withdraws_it(
    market: Market, withdrawn_first: bool
) -> None:
    """The person withdraws the intent they took an offer for: it shows accepted, not withdrawn."""
    pseudonym, made = await market.offered()
    [matched] = await market.matched()

    async def withdraw() -> None:
        _, token = compose(
            pseudonym,
            type=INTENT_WITHDRAW,
            to=market.exchange.identity.did,
            body={"intent": matched["intent_id"]},
        )
        async with client(market.exchange_app, EXCHANGE_URL) as http:
            assert (await http.post("/inbox", content=token, headers=JWS)).status_code == 202
        assert await market.push() == 1  # the exchange tells the vendor

    if withdrawn_first:
        await withdraw()
        assert (await market.matched())[0]["state"] == "withdrawn"
    acceptance = {"offer": made["message_id"], "relationship": Identity.generate().did}
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202
    if not withdrawn_first:
        await withdraw()
    assert (await market.matched())[0]["state"] == "accepted"


@pytest.mark.parametrize("request_first", [False, True])
async def test_the_person_is_sent_one_receipt_for_the_offer_they_took(
    market: Market, request_first: bool
) -> None:
    """In either order, once: an invoice for the offer, encrypted to their pairwise DID."""
    pseudonym, made = await market.offered()
    person = Identity.generate()
    acceptance = {"offer": made["message_id"], "relationship": person.did}
    if request_first:
        await relate(market, person)
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202
    if not request_first:
        await relate(market, person)
    assert (await market.send(pseudonym, OFFER_ACCEPT, acceptance)).status_code == 202  # again
    [sent] = (await market.api.get(f"/api/customers/{person.did}/receipts")).json()
    assert sent["automatic"] is True
    receipt = sent["receipt"]
    assert receipt["items"] == [{"name": "Nimbus E1, blue", "quantity": 1, "price": "18999"}]
    assert (receipt["deliveryCost"], receipt["total"], receipt["currency"]) == (
        "300",
        "19299",
        "EUR",
    )
    assert receipt["seller"] == {"name": "Leith Motors", "url": VENDOR_URL}
    assert receipt["payment"] == {"method": "invoice", "status": "due"}
    assert receipt["offer"] == made["message_id"]
    [payload] = [
        payload
        for queue, customer, payload in people.queued(market.vendor.engine)
        if customer == person.did and payload.get("encrypted")
    ]
    types = record_types()
    message = Verifier(receiver=person.did, types=types, seen_ids=None).verify(
        decrypt(payload["token"], person)
    )
    assert (message.type, message.id) == (RECEIPT, sent["message_id"])


@pytest.mark.parametrize("market", [{"push": False}], indirect=True)
async def test_a_pull_exchange_is_fetched_from_the_cursor_on(market: Market) -> None:
    """Subscribed without an inbox; each fetch takes what came since the last one."""
    await market.subscribe()
    for _ in range(2):
        await publish(market.exchange, market.exchange_app)
    assert await market.push() == 0  # nothing to push: the vendor fetches
    settings = market.vendor.settings.exchanges[0]
    assert await market.vendor.exchanges.pull(settings) == 2
    shown = await market.matched()
    assert [i["state"] for i in shown] == ["open", "open"]
    assert {i["exchange"] for i in shown} == {market.exchange.identity.did}
    [status] = (await market.api.get("/api/exchanges")).json()
    assert status["cursor"] >= 2
    assert status["push"] is False
    assert await market.vendor.exchanges.pull(settings) == 0
    pseudonym, _ = await publish(market.exchange, market.exchange_app)
    assert await market.vendor.exchanges.pull(settings) == 1
    newest = (await market.matched())[-1]
    assert newest["pseudonym"] == pseudonym.did
    reply = await market.api.post(f"/api/intents/{newest['id']}/offers", json=OFFER)
    assert reply.status_code == 201, reply.text  # the mailbox is the exchange's own
    assert len(market.exchange.market.mailbox(pseudonym.did)) == 1


class Flaky:
    """A transport that cannot connect for its first ``failures`` calls."""

    def __init__(self, inner: AsgiTransport, failures: int) -> None:
        self.inner, self.failures, self.calls = inner, failures, 0

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransportError(f"{method} {url}: connection refused")
        return await self.inner.request(method, url, content=content, content_type=content_type)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("push", [True, False])
async def test_start_does_not_wait_for_the_exchange_and_subscribes_once_it_answers(
    tmp_path: Path, push: bool
) -> None:
    """The app starts while the exchange is down; it subscribes (and fetches) when it is up."""
    exchange, exchange_app = open_exchange(tmp_path / "exchange")
    flaky = Flaky(AsgiTransport(exchange_app, base_url=EXCHANGE_URL), failures=3)
    vendor = open_vendor(tmp_path / "vendor", vendor_settings(push=push, pull_interval=1), flaky)
    vendor.exchanges.backoff = Backoff(base=0.01, cap=0.05)
    app = vendor_app(vendor)
    started = time.monotonic()
    async with app.router.lifespan_context(app):
        assert time.monotonic() - started < 1
        async with client(app, VENDOR_URL, Authorization=f"Bearer {TOKEN}") as api:
            with anyio.fail_after(10):
                while not (status := (await api.get("/api/exchanges")).json()[0])["subscribed_at"]:
                    await anyio.sleep(0.02)
            assert status["did"] == exchange.identity.did
            assert flaky.calls > 3
            if not push:
                pseudonym, _ = await publish(exchange, exchange_app)
                with anyio.fail_after(10):
                    while not (fetched := (await api.get("/api/intents")).json()):
                        await anyio.sleep(0.05)
                assert fetched[0]["pseudonym"] == pseudonym.did
    await exchange.aclose()
