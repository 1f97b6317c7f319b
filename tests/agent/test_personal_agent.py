"""The agent's actions end to end in one process: vendors' answers, and changes propagated."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from tests.agent.vendors import Clock, VendorNetwork, answer, connect, deliver, from_vendor
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import InvalidField
from vrm.protocol import (
    PROBLEM_REPORT,
    PROFILE_UPDATE,
    RELATIONSHIP_STATE,
    Identity,
    PartyState,
    ProblemReport,
    ProtocolError,
    RefusalCode,
    RelationshipState,
)

pytestmark = pytest.mark.anyio

EMAIL = "ann@example.org"
PHONE = "+44 7700 900123"
ADDRESS = {"streetAddress": "17 Quince Lane", "addressLocality": "Wrexford"}


async def test_acceptance_activates_and_sends_every_granted_field(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """When the vendor accepts, the relationship is active and gets each granted field's value."""
    person.set_fields({"email.primary": EMAIL, "address.home": ADDRESS}, changed_by="cli")
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary", "address.home"], purpose="delivery")
    person.grant("Corner Shop", ["language"], purpose="menus")  # never set: nothing to send
    queued: list[str] = []
    person.on_queued = queued.extend

    accepted = answer(person, shop, relationship, PartyState.ACCEPTED, clock=clock)
    assert (accepted.vendor_state, accepted.active) == ("accepted", True)
    assert len(queued) == 1
    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)
    assert update.id == queued[0]
    assert update.sender == relationship.our_did
    assert update.body.grant.purpose == "delivery"
    assert sorted((f.path, f.version) for f in update.body.fields) == [
        ("address.home", 1),
        ("email.primary", 2),
    ]
    assert shop.holds(relationship.our_did) == {
        "address.home": ADDRESS,
        "email.primary": "ann@work.example",
    }

    answer(person, shop, relationship, PartyState.ACCEPTED, clock=clock)
    assert len(queued) == 1, "a second acceptance sends nothing again"


async def test_refusal_is_recorded(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor's refusal is its side of the relationship, and is audited."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    refused = answer(person, shop, relationship, PartyState.REFUSED, clock=clock)
    assert (refused.person_state, refused.vendor_state, refused.active) == (
        "wants",
        "refused",
        False,
    )
    [entry] = [e for e in person.audit_entries() if e.kind == "relationship.refused"]
    assert entry.details["by"] == "vendor"
    assert entry.details["vendor"] == relationship.id


async def test_a_state_from_another_party_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Only the pinned vendor may speak to its DID: others are wrong_recipient, nothing changes."""
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock, state=None)
    books, _ = await connect(person, network, "Book Barn", clock=clock, state=None)
    for sender in (books.identity, Identity.generate()):
        message = from_vendor(
            person,
            sender,
            with_shop.our_did,
            RelationshipState(state=PartyState.ACCEPTED),
            type=RELATIONSHIP_STATE,
            clock=clock,
        )
        with pytest.raises(ProtocolError) as refused:
            person.receive(message)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert person.vendor("Corner Shop").vendor_state == "unknown"
    assert not person.is_ours(shop.did)
    assert person.identity_for(shop.did) is None
    assert person.identity_for(with_shop.our_did) is not None


async def test_a_vendor_announcing_a_persons_state_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor cannot say "paused" or "wants": that is invalid_body, and nothing changes."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    for state in (PartyState.PAUSED, PartyState.WANTS):
        message = from_vendor(
            person,
            shop.identity,
            relationship.our_did,
            RelationshipState(state=state),
            type=RELATIONSHIP_STATE,
            clock=clock,
        )
        with pytest.raises(ProtocolError) as refused:
            person.receive(message)
        assert refused.value.code == RefusalCode.INVALID_BODY
    changed = person.vendor("Corner Shop")
    assert (changed.person_state, changed.vendor_state) == ("wants", "accepted")


async def test_vendor_ending_stops_the_flow(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """After the vendor ends the relationship, changes to granted fields are not sent."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    ended = answer(person, shop, relationship, PartyState.ENDED, clock=clock)
    assert (ended.vendor_state, ended.active) == ("ended", False)
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert [f.version for m in shop.received(PROFILE_UPDATE) for f in m.body.fields] == [1]


async def test_problem_report_marks_the_delivery_failed(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A vendor's problem report about a delivered message fails it with the vendor's code."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)
    [sent] = [d for d in person.deliveries() if d.message_id == update.id]
    assert sent.state == "delivered"

    report = from_vendor(
        person,
        shop.identity,
        relationship.our_did,
        ProblemReport(code="field_not_supported", detail="we keep no e-mail addresses"),
        type=PROBLEM_REPORT,
        clock=clock,
        thid=update.id,
    )
    person.receive(report)
    [reported] = [d for d in person.deliveries() if d.message_id == update.id]
    assert (reported.state, reported.last_code) == ("failed", "field_not_supported")
    assert reported.error is not None
    assert "we keep no e-mail addresses" in reported.error
    others = [d.state for d in person.deliveries() if d.message_id != update.id]
    assert set(others) == {"delivered"}
    [entry] = [e for e in person.audit_entries() if e.kind == "vendor.problem"]
    assert entry.details["about"] == update.id
    assert entry.details["code"] == "field_not_supported"
    assert person.audit_verify().intact


async def test_problem_report_from_another_party_is_refused(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Only the vendor a message went to can report a problem with it."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    books, _ = await connect(person, network, "Book Barn", clock=clock)
    await deliver(worker)
    report = from_vendor(
        person,
        books.identity,
        relationship.our_did,
        ProblemReport(code="invalid_body"),
        type=PROBLEM_REPORT,
        clock=clock,
        thid=relationship.request_id,
    )
    with pytest.raises(ProtocolError):
        person.receive(report)
    assert {d.state for d in person.deliveries()} == {"delivered"}


async def test_a_change_goes_once_to_each_vendor_granted_it(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A granted field's change is one profile.update per active vendor granted it, no more."""
    person.set_fields({"email.primary": EMAIL, "phone.mobile": PHONE}, changed_by="cli")
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock)
    deli, with_deli = await connect(person, network, "Deli", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    person.grant("Book Barn", ["email.primary", "phone.mobile"], purpose="orders")
    person.grant("Deli", ["phone.mobile"], purpose="pick-up")
    await deliver(worker)
    counts = {v.name: len(v.received(PROFILE_UPDATE)) for v in (shop, books, deli)}

    queued: list[str] = []
    person.on_queued = queued.extend
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    assert len(queued) == 2
    await deliver(worker)
    new = {v.name: v.received(PROFILE_UPDATE)[counts[v.name] :] for v in (shop, books, deli)}
    assert {name: len(messages) for name, messages in new.items()} == {
        "Corner Shop": 1,
        "Book Barn": 1,
        "Deli": 0,
    }
    assert sorted(m.id for messages in new.values() for m in messages) == sorted(queued)
    for message in new["Corner Shop"] + new["Book Barn"]:
        assert [(f.path, f.version) for f in message.body.fields] == [("email.primary", 2)]
    assert new["Corner Shop"][0].sender == with_shop.our_did
    assert new["Book Barn"][0].sender == with_books.our_did
    assert shop.holds(with_shop.our_did) == {"email.primary": "ann@work.example"}
    assert books.holds(with_books.our_did) == {
        "email.primary": "ann@work.example",
        "phone.mobile": PHONE,
    }
    assert deli.holds(with_deli.our_did) == {"phone.mobile": PHONE}


async def test_several_fields_changed_at_once_go_in_one_message(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Fields granted under one purpose and changed together reach the vendor in one update."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary", "phone.mobile"], purpose="delivery")
    person.grant("Corner Shop", ["language"], purpose="menus")
    queued: list[str] = []
    person.on_queued = queued.extend
    person.set_fields(
        {"email.primary": EMAIL, "phone.mobile": PHONE, "language": "cy"}, changed_by="vcard"
    )
    assert len(queued) == 2
    await deliver(worker)
    updates = {m.body.grant.purpose: m.body.fields for m in shop.received(PROFILE_UPDATE)}
    assert {p: sorted(f.path for f in fields) for p, fields in updates.items()} == {
        "delivery": ["email.primary", "phone.mobile"],
        "menus": ["language"],
    }
    assert shop.holds(relationship.our_did) == {
        "email.primary": EMAIL,
        "language": "cy",
        "phone.mobile": PHONE,
    }


async def test_a_refused_change_writes_neither_version_nor_message(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """When one value of a change is invalid, no field changes and no message is queued."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary", "phone.mobile"], purpose="delivery")
    before = [d.message_id for d in person.deliveries()]
    audit_before = len(person.audit_entries())
    queued: list[str] = []
    person.on_queued = queued.extend

    with pytest.raises(InvalidField):
        person.set_fields(
            {"email.primary": "ann@work.example", "phone.mobile": "call me"}, changed_by="cli"
        )
    with pytest.raises(InvalidField):
        person.set_field("email.primary", "not an address", changed_by="cli")
    assert queued == []
    assert [d.message_id for d in person.deliveries()] == before
    assert [v.value for v in person.field_history("email.primary")] == [EMAIL]
    assert person.field_history("phone.mobile") == []
    assert len(person.audit_entries()) == audit_before


@pytest.mark.parametrize(
    ("table", "when"),
    [("outbox", "1"), ("audit_entries", "NEW.kind = 'disclosure'")],
    ids=["while queueing", "after queueing"],
)
async def test_a_change_and_its_messages_commit_together(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, table: str, when: str
) -> None:
    """If writing the change fails anywhere, neither the new version nor a message is kept."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    before = [d.message_id for d in person.deliveries()]
    with person.engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TRIGGER fail BEFORE INSERT ON {table} WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(DBAPIError, match="disk full"):
        person.set_field("email.primary", "ann@work.example", changed_by="cli")
    assert [v.value for v in person.field_history("email.primary")] == [EMAIL]
    assert [d.message_id for d in person.deliveries()] == before
    assert person.audit_verify().intact


async def test_clearing_a_field_tells_the_vendor_it_is_gone(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Clearing a granted field sends a new version with no value."""
    person.set_field("phone.mobile", PHONE, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["phone.mobile"], purpose="delivery")
    person.clear_field("phone.mobile", changed_by="cli")
    await deliver(worker)
    cleared = shop.received(PROFILE_UPDATE)[-1]
    [field] = cleared.body.fields
    assert (field.path, field.version, field.value) == ("phone.mobile", 2, None)
    assert shop.holds(relationship.our_did) == {"phone.mobile": None}
    assert "phone.mobile" not in person.profile()


async def test_every_disclosure_is_in_the_audit_log(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Each message carrying profile values is logged with fields, vendor, grants and its id."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, with_shop = await connect(person, network, "Corner Shop", clock=clock)
    books, with_books = await connect(person, network, "Book Barn", clock=clock, state=None)
    [to_shop] = person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    [to_books] = person.grant("Book Barn", ["email.primary"], purpose="orders")
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    answer(person, books, with_books, PartyState.ACCEPTED, clock=clock)
    await deliver(worker)

    sent = {m.id: (with_shop.id, m) for m in shop.received(PROFILE_UPDATE)}
    sent |= {m.id: (with_books.id, m) for m in books.received(PROFILE_UPDATE)}
    logged = [e.details for e in person.audit_entries() if e.kind == "disclosure"]
    assert sorted(d["message"] for d in logged) == sorted(sent)
    grant_of = {with_shop.id: to_shop.id, with_books.id: to_books.id}
    for details in logged:
        vendor_id, message = sent[details["message"]]
        assert details["vendor"] == vendor_id
        assert details["grants"] == [grant_of[vendor_id]]
        fields = message.body.fields
        assert details["fields"] == [f.path for f in fields]
        assert details["versions"] == [f.version for f in fields]
    assert len(logged) == 3  # shop: on grant and on change; books: on acceptance
    verdict = person.audit_verify()
    assert verdict.intact, verdict.problem
