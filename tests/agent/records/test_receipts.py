"""Receipts from vendors: taken only within an accepted relationship, sealed, corrected, found."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.records.sales import item, sale, send, signed
from tests.agent.vendors import Clock, VendorNetwork, connect, files_on_disk, in_clear
from vrm.agent.audit.described import describe
from vrm.agent.errors import NotFound
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import Identity, PartyState, ProtocolError, RefusalCode
from vrm.protocol.kept import verify_kept
from vrm.protocol.v1.records import record_types

pytestmark = pytest.mark.anyio


def receipt_entries(person: PersonalAgent) -> list[dict[str, object]]:
    return [e.details for e in person.audit_entries() if e.kind == "receipt.received"]


async def test_a_receipt_from_the_vendor_is_kept_signed_and_audited(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The receipt reads back as sent, verifies as the vendor's, and the log says who sent what."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    body = sale(
        item("Blue kettle", "39.90", sku="KT-22", warrantyEnd="2028-03-01"),
        item("Descaler", "4.50", quantity=2),
        taxes=[{"name": "VAT", "amount": "9.78", "rate": "20"}],
        deliveryCost="3.95",
        payment={"method": "card"},
        note="Gift wrapped",
    )
    message = send(person, shop, relationship, body, clock=clock)

    [record] = person.receipts()
    assert record.receipt == body
    assert record.received == message.envelope.body
    assert (record.vendor_id, record.message_id, record.current) == (
        relationship.id,
        message.id,
        True,
    )
    assert record.sender == shop.did
    kept = verify_kept(record.signed, receiver=relationship.our_did, types=record_types())
    assert kept.body == body
    assert person.receipt(record.id) == record

    [details] = receipt_entries(person)
    assert details == {
        "vendor": relationship.id,
        "receipt": record.id,
        "order": "A-1001",
        "total": "62.63",
        "currency": "EUR",
        "message": message.id,
    }
    [entry] = [e for e in person.audit_entries() if e.kind == "receipt.received"]
    words = describe(entry, {relationship.id: "Corner Shop"})
    assert words == "Corner Shop sent a receipt for order A-1001: 62.63 EUR"
    assert person.audit_verify().intact


async def test_what_a_receipt_says_is_sealed_at_rest(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, tmp_path: Path
) -> None:
    """Seller, items, order number and note appear nowhere in the database files."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    body = sale(item("Chartreuse teapot", "25.00", sku="TP-QX9"), order="ZQ-77341", note="Oolong")
    send(person, shop, relationship, body, clock=clock)
    stored = files_on_disk(person.engine, tmp_path)
    for secret in ("Chartreuse teapot", "TP-QX9", "ZQ-77341", "Oolong"):
        assert not in_clear(secret, stored), secret


async def test_a_receipt_signed_by_another_party_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Another vendor, or anyone, cannot put a receipt in a relationship: wrong_recipient."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    books, _ = await connect(person, network, "Book Barn", clock=clock)
    for stranger in (books.identity, Identity.generate()):
        message = signed(person, books, relationship, sale(), clock=clock, sender=stranger)
        with pytest.raises(ProtocolError) as refused:
            person.receive(message)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert person.receipts() == []
    assert receipt_entries(person) == []


@pytest.mark.parametrize("state", [None, PartyState.REFUSED, PartyState.ENDED])
async def test_a_receipt_outside_an_accepted_relationship_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, state: PartyState | None
) -> None:
    """Before the vendor accepts, or once it refused or ended: wrong_recipient, nothing kept."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=state)
    with pytest.raises(ProtocolError) as refused:
        send(person, shop, relationship, sale(), clock=clock)
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert person.receipts() == []


async def test_a_receipt_after_the_person_ended_the_relationship_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Once the person ended it, the vendor's receipts are refused too."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.end("Corner Shop")
    with pytest.raises(ProtocolError) as refused:
        send(person, shop, relationship, sale(), clock=clock)
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT


async def test_a_receipt_whose_total_does_not_add_up_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The inbox's check of the body refuses it (invalid_body): the agent never sees it."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    wrong = sale().model_dump(mode="json", exclude_none=True) | {"total": "29.90"}
    with pytest.raises(ProtocolError) as refused:
        signed(person, shop, relationship, wrong, clock=clock)
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert "not the items, delivery and taxes added up" in refused.value.detail


async def test_a_date_that_is_not_on_the_calendar_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A warranty ending on 30 February is invalid_body at the inbox."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    body = sale(item("Toaster", "20.00")).model_dump(mode="json", exclude_none=True)
    body["items"][0]["warrantyEnd"] = "2027-02-30"
    with pytest.raises(ProtocolError) as refused:
        signed(person, shop, relationship, body, clock=clock)
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert "warrantyEnd 2027-02-30" in refused.value.detail


async def test_a_correction_replaces_the_receipt_and_keeps_the_older(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The same order number again: the newer is current, the older kept as superseded by it."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    send(person, shop, relationship, sale(item("Kettle", "39.90")), clock=clock)
    clock.advance(60)
    corrected = sale(item("Kettle", "34.90"), note="Price matched")
    send(person, shop, relationship, corrected, clock=clock)

    [current] = person.receipts()
    assert current.receipt == corrected
    everything = person.receipts(include_superseded=True)
    assert [r.id for r in everything] == [current.id, current.id - 1]
    older = person.receipt(current.id - 1)
    assert (older.current, older.superseded_by) == (False, current.id)
    assert older.receipt.total == "39.90"
    first, second = receipt_entries(person)
    assert "replaces" not in first
    assert second["replaces"] == [older.id]


async def test_a_late_older_receipt_does_not_undo_the_correction(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The vendor's newest message wins, whichever arrives last; the older is kept, superseded."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    original = signed(person, shop, relationship, sale(item("Kettle", "39.90")), clock=clock)
    clock.advance(60)
    send(person, shop, relationship, sale(item("Kettle", "34.90")), clock=clock)
    person.receive(original)  # delayed in transit

    [current] = person.receipts()
    assert current.receipt.total == "34.90"
    late = person.receipt(current.id + 1)
    assert (late.message_id, late.superseded_by) == (original.id, current.id)
    assert receipt_entries(person)[-1]["superseded_by"] == current.id


async def test_the_same_receipt_twice_is_kept_once(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A message taken again (a retry past the replay store) changes nothing."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    message = send(person, shop, relationship, sale(), clock=clock)
    person.receive(message)
    assert len(person.receipts(include_superseded=True)) == 1
    assert len(receipt_entries(person)) == 1


async def test_equal_order_numbers_of_two_vendors_are_two_orders(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A correction is per vendor: another vendor's order 1 replaces nothing."""
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock)
    send(person, shop, with_shop, sale(order="1"), clock=clock)
    send(person, books, with_books, sale(order="1", seller="Book Barn"), clock=clock)
    assert sorted(r.vendor_id for r in person.receipts()) == [with_shop.id, with_books.id]


async def test_search_looks_in_seller_order_items_skus_and_note_in_any_case(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Each searchable text finds its receipt; a replaced receipt is not found."""
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock)
    send(person, shop, with_shop, sale(item("Blue kettle", "39.90", sku="KT-22")), clock=clock)
    send(
        person,
        books,
        with_books,
        sale(
            item("Dune", "9.99", sku="978-0441013593"),
            order="BB-5512",
            seller="Book Barn",
            note="Birthday present",
        ),
        clock=clock,
    )
    send(
        person,
        books,
        with_books,
        sale(item("Atlas", "30.00"), order="BB-1", seller="Book Barn"),
        clock=clock,
    )
    clock.advance(60)
    send(
        person,
        books,
        with_books,
        sale(item("Globe", "30.00"), order="BB-1", seller="Book Barn"),
        clock=clock,
    )

    def found(text: str) -> list[str]:
        return sorted(r.receipt.orderNumber for r in person.search_receipts(text))

    assert found("corner SHOP") == ["A-1001"]
    assert found("bb-5512") == ["BB-5512"]
    assert found("KETTLE") == ["A-1001"]
    assert found("kt-22") == ["A-1001"]
    assert found("0441013593") == ["BB-5512"]
    assert found("birthday") == ["BB-5512"]
    assert found("book barn") == ["BB-1", "BB-5512"]
    assert found("atlas") == []  # corrected away
    assert found("globe") == ["BB-1"]
    assert found("nowhere") == []
    assert found("  ") == ["A-1001", "BB-1", "BB-5512"]


def test_an_unknown_receipt_is_not_found(person: PersonalAgent) -> None:
    """Asking for a receipt that is not there says so."""
    with pytest.raises(NotFound, match="no receipt 7"):
        person.receipt(7)
