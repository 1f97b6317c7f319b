"""Relationships: one pinned vendor and one pairwise DID each, and the person's r-button."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.vendors import (
    Clock,
    VendorNetwork,
    answer,
    deliver,
    files_on_disk,
    in_clear,
)
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.identities.service import Purpose, list_identities
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import RELATIONSHIP_REQUEST, RELATIONSHIP_STATE, PartyState
from vrm.transport import TransportError

pytestmark = pytest.mark.anyio


async def test_each_vendor_is_pinned_and_gets_its_own_did(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker
) -> None:
    """Adding pins the vendor's DID and makes a new DID for it, seen by that vendor only."""
    shop, books = network.add("Corner Shop"), network.add("Book Barn")
    with_shop = await person.add_vendor(shop.url, transport=network)
    with_books = await person.add_vendor(books.url, transport=network)

    assert (with_shop.vendor.did, with_books.vendor.did) == (shop.did, books.did)
    assert with_shop.vendor.inbox == shop.inbox
    assert (with_shop.person_state, with_shop.vendor_state) == ("wants", "unknown")
    assert not with_shop.active
    ours = {with_shop.our_did, with_books.our_did}
    assert len(ours) == 2
    assert not ours & {shop.did, books.did}
    with person.engine.connect() as connection:
        identities = list_identities(connection)
    assert {i.did: i.purpose for i in identities if i.did in ours} == dict.fromkeys(
        ours, Purpose.RELATIONSHIP
    )

    await deliver(worker)
    for vendor, relationship in ((shop, with_shop), (books, with_books)):
        [request] = vendor.received()
        assert request.type == RELATIONSHIP_REQUEST
        assert request.id == relationship.request_id
        assert request.sender == relationship.our_did
        assert request.body.reply_to == person.reply_url()
        assert set(vendor.fleet.vendors[0].customers) == {relationship.our_did}


async def test_a_vendor_is_added_once_until_the_relationship_ends(
    person: PersonalAgent, network: VendorNetwork
) -> None:
    """The same vendor twice is a conflict; after ending, it can be added again with a new DID."""
    shop = network.add("Corner Shop")
    first = await person.add_vendor(shop.url, transport=network)
    with pytest.raises(Conflict, match="already in a relationship with Corner Shop"):
        await person.add_vendor(shop.url, transport=network)
    with pytest.raises(Conflict):
        await person.add_vendor(f"https://{shop.host}/some/page", transport=network)
    assert len(person.vendors()) == 1

    person.end("Corner Shop")
    second = await person.add_vendor(shop.url, transport=network)
    assert second.id != first.id
    assert second.our_did != first.our_did
    assert second.vendor.did == shop.did
    assert person.vendor("Corner Shop").id == second.id
    assert person.vendor(str(first.id)).person_state == "ended"


async def test_find_by_number_name_url_or_host(
    person: PersonalAgent, network: VendorNetwork
) -> None:
    """A vendor is found by its number, its name in any case, its URL or its host."""
    shop = network.add("Corner Shop", host="corner.example")
    books = network.add("Book Barn", host="books.example")
    with_shop = await person.add_vendor(shop.url, transport=network)
    with_books = await person.add_vendor(books.url, transport=network)

    for reference in (
        str(with_shop.id),
        "Corner Shop",
        "  corner shop ",
        "https://corner.example/",
        "https://corner.example",
        "corner.example",
    ):
        assert person.vendor(reference).id == with_shop.id, reference
    assert person.vendor("books.example").id == with_books.id
    assert [r.id for r in person.vendors()] == [with_shop.id, with_books.id]


async def test_ambiguous_and_unknown_references_are_refused(
    person: PersonalAgent, network: VendorNetwork
) -> None:
    """A name two vendors share is a conflict (the number still works); unknown is not found."""
    first = await person.add_vendor(
        network.add("Deli", host="deli-a.example").url, transport=network
    )
    second = await person.add_vendor(
        network.add("Deli", host="deli-b.example").url, transport=network
    )
    with pytest.raises(Conflict, match=f"{first.id}, {second.id}"):
        person.vendor("deli")
    assert person.vendor("deli-b.example").id == second.id
    assert person.vendor(str(second.id)).id == second.id
    with pytest.raises(NotFound):
        person.vendor("Nowhere Ltd")
    with pytest.raises(NotFound):
        person.vendor("99")
    with pytest.raises(NotFound):
        person.pause("Nowhere Ltd")


async def test_person_state_moves(person: PersonalAgent, network: VendorNetwork) -> None:
    """Pause and resume alternate; resume needs a pause; an ended relationship stays ended."""
    await person.add_vendor(network.add("Corner Shop").url, transport=network)
    with pytest.raises(Conflict, match="wants: it cannot become wants"):
        person.resume("Corner Shop")
    assert person.pause("Corner Shop").person_state == "paused"
    with pytest.raises(Conflict):
        person.pause("Corner Shop")
    assert person.resume("Corner Shop").person_state == "wants"
    assert person.pause("Corner Shop").person_state == "paused"
    assert person.end("Corner Shop").person_state == "ended"
    for press in (person.pause, person.resume, person.end):
        with pytest.raises(Conflict, match="ended"):
            press("Corner Shop")
    assert person.vendor("Corner Shop").person_state == "ended"


async def test_refused_moves_send_nothing(person: PersonalAgent, network: VendorNetwork) -> None:
    """A move that is refused writes no message and no audit entry."""
    await person.add_vendor(network.add("Corner Shop").url, transport=network)
    before = (len(person.deliveries()), len(person.audit_entries()))
    with pytest.raises(Conflict):
        person.resume("Corner Shop")
    assert (len(person.deliveries()), len(person.audit_entries())) == before


async def test_each_press_tells_the_vendor_from_the_pairwise_did(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Pause, resume and end each send the vendor a relationship.state signed by its DID."""
    shop = network.add("Corner Shop")
    relationship = await person.add_vendor(shop.url, transport=network)
    answer(person, shop, relationship, PartyState.ACCEPTED, clock=clock)
    queued: list[str] = []
    person.on_queued = queued.extend
    person.pause("Corner Shop")
    person.resume("Corner Shop")
    person.end("Corner Shop")
    assert len(queued) == 3

    await deliver(worker)
    states = shop.received(RELATIONSHIP_STATE)
    assert [m.id for m in states] == queued
    assert [m.body.state for m in states] == ["paused", "wants", "ended"]
    assert {m.sender for m in states} == {relationship.our_did}
    kinds = [e.kind for e in person.audit_entries() if e.kind.startswith("relationship.")]
    assert kinds == [
        "relationship.requested",
        "relationship.accepted",
        "relationship.paused",
        "relationship.wants",
        "relationship.ended",
    ]


async def test_nothing_about_the_vendor_is_stored_in_clear(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, tmp_path: Path
) -> None:
    """The vendor's name, URL, host, DID and inbox appear nowhere in the database files."""
    vendor = network.add("Quillon Haberdashery", host="quillon-haberdashery.example")
    relationship = await person.add_vendor(vendor.url, transport=network)
    network.script(vendor, TransportError(f"POST {vendor.inbox}: connection reset"))
    await deliver(worker)
    person.pause(vendor.name)
    assert [d.state for d in person.deliveries()] == ["pending", "pending"]

    stored = files_on_disk(person.engine, tmp_path)
    assert in_clear(relationship.our_did, stored), "the person's own DID is its look-up key"
    for secret in (vendor.name, "Quillon", vendor.host, vendor.url, vendor.inbox, vendor.did):
        assert not in_clear(secret, stored), secret
