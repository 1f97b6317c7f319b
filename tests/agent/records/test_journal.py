"""The decision journal: an intent, the offers considered, the one taken, why, and the receipt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.records.sales import item, sale, send
from tests.agent.test_intents import offer_from, publish, wanted
from tests.agent.vendors import (
    Clock,
    VendorNetwork,
    answer,
    connect,
    files_on_disk,
    in_clear,
)
from vrm.agent.errors import NotFound
from vrm.agent.intents import service as intents
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import PartyState

pytestmark = pytest.mark.anyio


async def test_an_accepted_offer_is_linked_to_the_receipt_that_followed(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The journal shows what was wanted, both offers and their answers, the note, the receipt."""
    winner, other = network.add("South Kitchens"), network.add("North Kitchens")
    record = publish(person, wanted("a quiet dishwasher"))
    fetched = [offer_from(winner, record, 540.0), offer_from(other, record, 520.0)]
    with person.engine.begin() as connection:
        taken, passed = intents.take_offers(connection, person.sealer, record, fetched, now=clock())
    relationship = await IntentDesk(person, transport=network).accept(taken.id)
    relationship = answer(person, winner, relationship, PartyState.ACCEPTED, clock=clock)

    unrelated = sale(item("Rinse aid", "4.00"), order="SK-2", seller="South Kitchens")
    send(person, winner, relationship, unrelated, clock=clock)
    followed = sale(
        item("Quiet dishwasher", "540.00", warrantyEnd="2028-06-01"),
        order="SK-1",
        seller="South Kitchens",
        offer=taken.message_id,
    )
    send(person, winner, relationship, followed, clock=clock)
    person.set_journal_note(record.id, "  Quieter than North's, and they take my terms.  ")

    entry = person.journal(record.id)
    assert entry.intent.intent.demand.description == "a quiet dishwasher"
    assert [(o.id, o.state) for o in entry.offers] == [
        (taken.id, "accepted"),
        (passed.id, "declined"),
    ]
    assert entry.taken is not None
    assert entry.taken.id == taken.id
    assert entry.note == "Quieter than North's, and they take my terms."
    assert entry.noted_at == clock()
    assert entry.receipt is not None
    assert entry.receipt.receipt == followed
    assert [r.receipt.orderNumber for r in entry.receipts] == ["SK-1"]
    shown = entry.as_json()
    assert shown["taken"] == taken.id
    assert shown["receipts"][0]["receipt"]["offer"] == taken.message_id


async def test_a_receipt_naming_the_offer_from_another_vendor_is_not_linked(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Only the seller whose offer was taken can follow it with a receipt."""
    winner = network.add("South Kitchens")
    record = publish(person, wanted())
    with person.engine.begin() as connection:
        [taken] = intents.take_offers(
            connection, person.sealer, record, [offer_from(winner, record, 540.0)], now=clock()
        )
    relationship = await IntentDesk(person, transport=network).accept(taken.id)
    answer(person, winner, relationship, PartyState.ACCEPTED, clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock)
    send(person, books, with_books, sale(offer=taken.message_id), clock=clock)

    entry = person.journal(record.id)
    assert entry.receipt is None
    assert entry.taken is not None


def test_an_intent_without_offers_has_an_empty_journal(person: PersonalAgent) -> None:
    """Nothing taken, no note, no receipt; the note can be written, then cleared."""
    record = publish(person, wanted())
    entry = person.journal(record.id)
    assert (entry.offers, entry.taken, entry.note, entry.receipt) == ([], None, None, None)

    assert (
        person.set_journal_note(record.id, "Waiting for the sales").note == "Waiting for the sales"
    )
    assert person.set_journal_note(record.id, "  ").note is None
    kinds = [e.kind for e in person.audit_entries() if e.kind.startswith("journal.")]
    assert kinds == ["journal.noted", "journal.cleared"]


def test_a_note_is_sealed_at_rest(person: PersonalAgent, tmp_path: Path) -> None:
    """The person's reasons appear nowhere in the database files."""
    record = publish(person, wanted())
    person.set_journal_note(record.id, "Chose the marigold one for grandmother")
    stored = files_on_disk(person.engine, tmp_path)
    assert not in_clear("marigold", stored)


def test_a_note_on_no_intent_or_too_long_is_refused(person: PersonalAgent) -> None:
    """An unknown intent is not found; a note past the limit is a value error."""
    with pytest.raises(NotFound, match="no intent 9"):
        person.journal(9)
    with pytest.raises(NotFound):
        person.set_journal_note(9, "why")
    record = publish(person, wanted())
    with pytest.raises(ValueError, match="at most 10,000 characters"):
        person.set_journal_note(record.id, "x" * 10_001)
