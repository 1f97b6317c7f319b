"""The person's intents: a pseudonym each, sealed, withdrawn without racing the intent, taken."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.agent.vendors import (
    Clock,
    Vendor,
    VendorNetwork,
    connect,
    deliver,
    files_on_disk,
    in_clear,
)
from vrm.agent.errors import Conflict
from vrm.agent.intents import service as intents
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.outbox import store
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import RELATIONSHIP_REQUEST, Discovery, Identity, compose, encrypt_for
from vrm.protocol.v1.intents import (
    INTENT,
    INTENT_WITHDRAW,
    OFFER,
    OFFER_ACCEPT,
    OFFER_DECLINE,
    Intent,
    OfferAccept,
    OfferDecline,
)

EXCHANGE = Identity.generate()
WHERE = Discovery(
    did=EXCHANGE.did, name="exchange", inbox="https://x.example/inbox", message_types=[INTENT]
)


def wanted(description: str = "a quiet dishwasher") -> Intent:
    body: dict[str, Any] = {
        "demand": {
            "category": "home/appliances",
            "description": description,
            "priceSpecification": {"maxPrice": 600, "priceCurrency": "EUR"},
            "areaServed": {"addressCountry": "IE"},
            "validThrough": int(time.time()) + 86400,
        },
        "terms": ["SD-BASE"],
    }
    return Intent.model_validate(body)


def publish(person: PersonalAgent, intent: Intent) -> intents.IntentRecord:
    with person.engine.begin() as connection:
        return intents.publish(
            connection,
            person.sealer,
            exchange_url="https://x.example",
            exchange=WHERE,
            intent=intent,
            now=person.clock(),
        )


def types_queued(person: PersonalAgent) -> list[str]:
    with person.engine.begin() as connection:
        rows = connection.execute(text("SELECT type FROM outbox ORDER BY id")).scalars()
        return list(rows)


def test_each_intent_has_its_own_pseudonym_and_is_sealed(
    person: PersonalAgent, tmp_path: Path
) -> None:
    """Two intents share nothing on the wire, and neither is readable in the store."""
    first, second = publish(person, wanted()), publish(person, wanted("a blue kettle"))
    assert first.pseudonym != second.pseudonym
    assert types_queued(person) == [INTENT, INTENT]
    stored = files_on_disk(person.engine, Path(str(person.engine.url.database)).parent)
    assert not in_clear("quiet dishwasher", stored)
    assert not in_clear("blue kettle", stored)


def test_withdrawing_an_intent_not_yet_sent_just_keeps_it_from_leaving(
    person: PersonalAgent,
) -> None:
    """No withdrawal races the intent: the intent is taken out of the outbox instead."""
    record = publish(person, wanted())
    with person.engine.begin() as connection:
        assert intents.withdraw(connection, person.sealer, record, now=person.clock()) is None
    assert types_queued(person) == []


def test_withdrawing_a_published_intent_tells_the_exchange(person: PersonalAgent) -> None:
    """Once the intent was delivered, a signed intent.withdraw from its pseudonym follows."""
    record = publish(person, wanted())
    with person.engine.begin() as connection:
        connection.execute(
            text("UPDATE outbox SET state = :state WHERE message_id = :id"),
            {"state": store.DELIVERED, "id": record.message_id},
        )
        sent = intents.withdraw(connection, person.sealer, record, now=person.clock())
    assert sent is not None
    assert types_queued(person) == [INTENT, INTENT_WITHDRAW]
    with person.engine.begin() as connection:
        assert intents.get_intent(connection, person.sealer, record.id).state == "withdrawn"


def offer_from(
    vendor: Vendor, record: intents.IntentRecord, price: float, *, needs: list[str] | None = None
) -> dict[str, Any]:
    """The vendor's offer for the intent, signed, encrypted to its pseudonym, as fetched.

    ``needs``: the profile fields the offer asks for if taken (none by default).
    """
    body: dict[str, Any] = {
        "intent": record.message_id,
        "offer": {
            "name": "Quiet dishwasher",
            "price": price,
            "priceCurrency": "EUR",
            "validThrough": int(time.time()) + 3600,
        },
        "seller": {"name": vendor.name, "url": vendor.url, "did": vendor.did},
        "accepts_terms": ["SD-BASE"],
    }
    if needs:
        body["needs"] = needs
    _, token = compose(vendor.identity, type=OFFER, to=record.pseudonym, body=body)
    return {"id": int(price), "message": encrypt_for(record.pseudonym, token)}


def offered(person: PersonalAgent, *vendors: Vendor) -> tuple[str, list[intents.OfferRecord]]:
    """An intent published, and one offer from each vendor for it: the pseudonym, the offers."""
    record = publish(person, wanted())
    fetched = [offer_from(v, record, 500.0 + i) for i, v in enumerate(vendors)]
    with person.engine.begin() as connection:
        kept = intents.take_offers(connection, person.sealer, record, fetched, now=person.clock())
    return record.pseudonym, kept


@pytest.mark.anyio
async def test_accepting_an_offer_tells_the_winner_which_and_declines_the_others(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker
) -> None:
    """One offer.accept from the pseudonym names the new relationship's DID; the rest declined."""
    winner, other = network.add("South Kitchens"), network.add("North Kitchens")
    pseudonym, (taken, passed) = offered(person, winner, other)
    relationship = await IntentDesk(person, transport=network).accept(taken.id)
    await deliver(worker)

    [request] = winner.received(RELATIONSHIP_REQUEST)
    assert request.sender == relationship.our_did
    [acceptance] = winner.received(OFFER_ACCEPT)
    assert acceptance.sender == pseudonym != relationship.our_did
    assert acceptance.body == OfferAccept(offer=taken.message_id, relationship=relationship.our_did)
    assert winner.received(OFFER_DECLINE) == []
    [decline] = other.received(OFFER_DECLINE)
    assert decline.sender == pseudonym
    assert decline.body == OfferDecline(offer=passed.message_id, reason="another offer taken")
    assert other.received(OFFER_ACCEPT) == other.received(RELATIONSHIP_REQUEST) == []


@pytest.mark.anyio
async def test_accepting_an_offer_from_a_vendor_already_known_names_that_relationship(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """No second relationship: the acceptance names the DID the person already relates from."""
    winner, known = await connect(person, network, "Corner Kitchens", clock=clock)
    pseudonym, [taken] = offered(person, winner)
    relationship = await IntentDesk(person, transport=network).accept(taken.id)
    assert relationship.our_did == known.our_did
    await deliver(worker)
    [acceptance] = winner.received(OFFER_ACCEPT)
    assert acceptance.sender == pseudonym
    assert acceptance.body == OfferAccept(offer=taken.message_id, relationship=known.our_did)
    assert len(winner.received(RELATIONSHIP_REQUEST)) == 1  # the one sent when they related


@pytest.mark.anyio
async def test_an_expired_offer_cannot_be_accepted(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Past the offer's validThrough: refused with the reason, nothing sent, the offer kept."""
    seller = network.add("Late Kitchens")
    _, [late] = offered(person, seller)
    clock.advance(3601)
    with pytest.raises(Conflict, match="has expired: ask the seller for a new one"):
        await IntentDesk(person, transport=network).accept(late.id)
    await deliver(worker)
    assert seller.received(OFFER_ACCEPT) == seller.received(RELATIONSHIP_REQUEST) == []
    with person.engine.begin() as connection:
        assert intents.get_offer(connection, person.sealer, late.id).state == intents.RECEIVED
