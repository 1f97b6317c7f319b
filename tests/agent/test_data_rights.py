"""Data rights: a signed copy of everything a vendor holds, erasure, and answers that are late."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from tests.agent.vendors import (
    Clock,
    Vendor,
    VendorNetwork,
    connect,
    deliver,
    files_on_disk,
    from_vendor,
    in_clear,
)
from vrm.agent.data_rights.comparison import ADDED_BY_VENDOR, DIFFERENT, NOT_FROM_YOU, SENT
from vrm.agent.data_rights.service import DataRequestRecord
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import (
    DATA_ERASED,
    DATA_EXPORT,
    DATA_REQUEST,
    RELATIONSHIP_STATE,
    DataErased,
    DataExport,
    ErasedSystem,
    ExportedDelivery,
    ExportedField,
    ExportedRelationship,
    Identity,
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
)
from vrm.protocol.kept import verify_kept

pytestmark = pytest.mark.anyio

EMAIL = "ann@example.org"
NEW_EMAIL = "ann@work.example"
PHONE = "+44 7700 900123"
DAY = 24 * 3600


def exported(
    request: str, clock: Clock, fields: list[tuple[str, int, Any]], **extra: Any
) -> DataExport:
    """A vendor's export answering ``request``, holding ``fields`` as (path, version, value)."""
    now = int(clock.now)
    return DataExport(
        request=request,
        generated_time=now,
        relationship=ExportedRelationship(
            state="accepted", person_state="wants", created_time=now - 60
        ),
        fields=[
            ExportedField(
                path=path,
                version=version,
                value=value,
                purpose="receipts",
                changed_time=now - 30,
                received_time=now - 20,
            )
            for path, version, value in fields
        ],
        history=[],
        vendor_data=extra.pop("vendor_data", {}),
        deliveries=extra.pop("deliveries", []),
        agreements=[],
        **extra,
    )


def signed(
    person: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    body: DataExport | DataErased,
    clock: Clock,
    *,
    sender: Identity | None = None,
) -> Message:
    """``body`` signed by the vendor (or ``sender``) to the person's DID, as the inbox takes it."""
    return from_vendor(
        person,
        sender or vendor.identity,
        relationship.our_did,
        body,
        type=DATA_EXPORT if isinstance(body, DataExport) else DATA_ERASED,
        clock=clock,
        thid=body.request,
    )


def erased(request: str, clock: Clock) -> DataErased:
    """The vendor's confirmation that the record is gone from its store and two systems."""
    return DataErased(
        request=request,
        erased_time=int(clock.now),
        systems=[
            ErasedSystem(system="store", state="deleted"),
            ErasedSystem(system="crm", state="failed", detail="crm was down"),
        ],
    )


def kinds(person: PersonalAgent, prefix: str = "data.") -> list[str]:
    """The audit log's kinds that start with ``prefix``."""
    return [e.kind for e in person.audit_entries() if e.kind.startswith(prefix)]


async def test_an_export_request_is_sent_with_its_due_date(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Asking for a copy queues a data.request (export), due after the configured deadline."""
    person.set_config("answer_deadline", str(7 * DAY))
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    clock.advance(10)

    record = person.request_export("Corner Shop")
    assert (record.kind, record.state, record.answer) == ("export", "requested", None)
    assert (record.requested_at, record.due_at) == (clock.now, clock.now + 7 * DAY)
    assert person.data_requests("Corner Shop") == [record]
    await deliver(worker)
    [request] = shop.received(DATA_REQUEST)
    assert (request.id, request.body.kind) == (record.message_id, "export")
    assert request.sender == relationship.our_did
    [entry] = [e for e in person.audit_entries() if e.kind == "data.export_requested"]
    assert entry.details == {
        "vendor": relationship.id,
        "request": record.id,
        "message": record.message_id,
    }


async def test_a_signed_export_is_kept_and_shown_next_to_what_was_sent(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Each field is sent by you, differs, or was never sent; the vendor's own data is marked."""
    person.set_fields({"email.primary": EMAIL, "phone.mobile": PHONE}, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary", "phone.mobile"], purpose="receipts")
    person.set_field("email.primary", NEW_EMAIL, changed_by="cli")
    record = person.request_export("Corner Shop")
    body = exported(
        record.message_id,
        clock,
        [
            ("email.primary", 2, NEW_EMAIL),
            ("phone.mobile", 1, "+44 7700 900999"),
            ("name.given", 1, "Annie"),
            ("email.work", 1, "ann@office.example"),
        ],
        vendor_data={"loyalty_tier": "gold", "segment": ["frequent", "local"]},
        deliveries=[
            ExportedDelivery(
                system=system,
                event_id=f"e{n}",
                kind="profile.update",
                fields=["email.primary"],
                state="delivered",
                created_time=int(clock.now),
            )
            for n, system in enumerate(["crm", "crm", "mailer"])
        ],
    )
    message = signed(person, shop, relationship, body, clock)

    person.receive(message)
    [answered] = person.data_requests("Corner Shop")
    assert (answered.state, answered.answered_at, answered.answer) == (
        "answered",
        clock.now,
        message.compact,
    )
    shown_for, export, comparison = person.vendor_export("Corner Shop")
    assert shown_for.id == relationship.id
    assert export == body
    assert [(i.name, i.version, i.origin) for i in comparison.items] == [
        ("email.primary", 2, SENT),
        ("phone.mobile", 1, DIFFERENT),
        ("name.given", 1, NOT_FROM_YOU),
        ("email.work", 1, NOT_FROM_YOU),
        ("loyalty_tier", None, ADDED_BY_VENDOR),
        ("segment", None, ADDED_BY_VENDOR),
    ]
    assert [i.name for i in comparison.not_from_person] == [
        "phone.mobile",
        "name.given",
        "email.work",
        "loyalty_tier",
        "segment",
    ]
    assert comparison.systems == {"crm": 2, "mailer": 1}
    [entry] = [e for e in person.audit_entries() if e.kind == "data.exported"]
    assert (entry.details["fields"], entry.details["vendor_data"]) == (4, 2)
    assert entry.details["message"] == message.id


async def test_an_older_version_the_person_sent_counts_as_sent(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor still holding version 1 holds what the person sent then; version 3 never was."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    person.set_field("email.primary", NEW_EMAIL, changed_by="cli")
    record = person.request_export("Corner Shop")
    for fields in ([("email.primary", 1, EMAIL)], [("email.primary", 3, NEW_EMAIL)]):
        body = exported(record.message_id, clock, fields)
        person.receive(signed(person, shop, relationship, body, clock))
        clock.advance(1)
        _, _, comparison = person.vendor_export("Corner Shop")
        [item] = comparison.items
        assert item.origin == (SENT if item.version == 1 else NOT_FROM_YOU)


async def test_an_export_shown_later_is_verified_as_of_when_it_was_signed(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A kept export still verifies long after its lifetime; altered, it does not."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    record = person.request_export("Corner Shop")
    body = exported(record.message_id, clock, [("name.given", 1, "Annie")])
    person.receive(signed(person, shop, relationship, body, clock))
    clock.advance(200 * DAY)
    assert person.vendor_export("Corner Shop")[1] == body

    [kept] = person.data_requests("Corner Shop")
    assert kept.answer is not None
    assert verify_kept(kept.answer, receiver=relationship.our_did).body == body
    header, payload, signature = kept.answer.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    document["body"]["fields"][0]["value"] = "Anne"
    altered = base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()
    with pytest.raises(ProtocolError) as refused:
        verify_kept(f"{header}.{altered}.{signature}", receiver=relationship.our_did)
    assert refused.value.code == RefusalCode.BAD_SIGNATURE
    with pytest.raises(ProtocolError):
        verify_kept(kept.answer, receiver=Identity.generate().did)


async def test_no_export_yet_is_not_found(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Before an export arrives there is nothing to show, and the person is told how to ask."""
    await connect(person, network, "Corner Shop", clock=clock)
    person.request_export("Corner Shop")
    with pytest.raises(NotFound, match="vrm vendors export"):
        person.vendor_export("Corner Shop")


async def test_an_export_answering_no_request_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Exports answering nothing, another kind of request, or from another party are refused."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    unasked = exported("no-such-request", clock, [("name.given", 1, "Annie")])
    with pytest.raises(ProtocolError) as refused:
        person.receive(signed(person, shop, relationship, unasked, clock))
    assert refused.value.code == RefusalCode.INVALID_BODY

    erasure = person.request_erasure("Corner Shop")
    wrong_kind = exported(erasure.message_id, clock, [("name.given", 1, "Annie")])
    with pytest.raises(ProtocolError) as refused:
        person.receive(signed(person, shop, relationship, wrong_kind, clock))
    assert refused.value.code == RefusalCode.INVALID_BODY

    asked = person.request_export("Corner Shop")
    answer = exported(asked.message_id, clock, [("name.given", 1, "Annie")])
    stranger = Identity.generate()
    with pytest.raises(ProtocolError) as refused:
        person.receive(signed(person, shop, relationship, answer, clock, sender=stranger))
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT

    assert [r.state for r in person.data_requests("Corner Shop")] == ["requested", "requested"]
    assert "data.exported" not in kinds(person)


async def test_erasure_under_delete_on_end_is_the_ending_notice(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Erasure ends the relationship; under delete-on-end the ending notice is the request."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    await deliver(worker)
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}

    record = person.request_erasure("Corner Shop")
    ended = person.vendor("Corner Shop")
    assert (ended.person_state, ended.active) == ("ended", False)
    assert [g.revoked_at is not None for _, g in person.grants("Corner Shop")] == [True]
    assert (record.kind, record.state) == ("erase", "requested")
    await deliver(worker)
    [notice] = shop.received(RELATIONSHIP_STATE)
    assert (notice.id, notice.body.state) == (record.message_id, PartyState.ENDED)
    assert shop.received(DATA_REQUEST) == []
    assert kinds(person) == ["data.erase_requested"]


async def test_erasure_without_delete_on_end_asks_separately(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Under terms that keep the record, erasure ends the relationship and sends a data.request."""
    person.set_default_terms("SD-BASE", [])
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)

    record = person.request_erasure("Corner Shop")
    assert person.vendor("Corner Shop").person_state == "ended"
    await deliver(worker)
    assert [m.body.state for m in shop.received(RELATIONSHIP_STATE)] == [PartyState.ENDED]
    [request] = shop.received(DATA_REQUEST)
    assert (request.id, request.body.kind) == (record.message_id, "erase")


async def test_erasure_after_the_end_sends_a_data_request(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A relationship ended already gets an erase request of its own."""
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)
    person.end("Corner Shop")
    await deliver(worker)

    record = person.request_erasure("Corner Shop")
    await deliver(worker)
    [request] = shop.received(DATA_REQUEST)
    assert (request.id, request.body.kind) == (record.message_id, "erase")
    assert len(shop.received(RELATIONSHIP_STATE)) == 1, "it is not ended twice"


async def test_an_erasure_confirmation_answers_the_request(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The vendor's signed data.erased is kept with the request, and audited system by system."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    record = person.request_erasure("Corner Shop")
    clock.advance(DAY)
    message = signed(person, shop, relationship, erased(record.message_id, clock), clock)

    person.receive(message)
    [answered] = person.data_requests("Corner Shop")
    assert (answered.id, answered.state, answered.answered_at) == (record.id, "answered", clock.now)
    assert answered.answer == message.compact
    assert person.overdue_requests() == []
    [entry] = [e for e in person.audit_entries() if e.kind == "data.erased"]
    assert entry.details["systems"] == {"store": "deleted", "crm": "failed"}
    assert (entry.details["vendor"], entry.details["request"]) == (relationship.id, record.id)


async def test_an_erasure_nobody_asked_for_is_kept(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor may erase the record on its own: its signed confirmation is kept all the same."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    message = signed(person, shop, relationship, erased("vendor-cleanup-7", clock), clock)

    person.receive(message)
    [kept] = person.data_requests("Corner Shop")
    assert (kept.kind, kept.state, kept.message_id) == (
        "erase",
        "answered",
        f"vendor:{relationship.id}:{message.id}",
    )
    assert kept.answer == message.compact
    assert kinds(person) == ["data.erased"]
    assert person.vendor("Corner Shop").person_state == "wants"


async def test_unanswered_requests_are_overdue_after_the_deadline(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A request still unanswered after answer_deadline is flagged; an answered one is not."""
    person.set_config("answer_deadline", str(3 * DAY))
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    export = person.request_export("Corner Shop")
    answered = person.request_export("Corner Shop")
    body = exported(answered.message_id, clock, [("name.given", 1, "Annie")])
    person.receive(signed(person, shop, relationship, body, clock))

    clock.advance(3 * DAY)
    assert person.overdue_requests() == []
    clock.advance(1)
    overdue: list[DataRequestRecord] = person.overdue_requests()
    assert [r.id for r in overdue] == [export.id]
    assert overdue[0].overdue(clock.now)
    assert overdue[0].as_json(clock.now)["overdue"] is True
    assert not person.data_requests("Corner Shop")[1].overdue(clock.now)


@pytest.mark.parametrize("state", [None, PartyState.REFUSED])
async def test_a_vendor_that_never_accepted_holds_nothing_to_ask_for(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, state: PartyState | None
) -> None:
    """Export or erasure from a vendor that never accepted is a Conflict, and nothing changes."""
    await connect(person, network, "Corner Shop", clock=clock, state=state)
    before = person.deliveries()
    for ask in (person.request_export, person.request_erasure):
        with pytest.raises(Conflict, match="never accepted"):
            ask("Corner Shop")
    assert person.vendor("Corner Shop").person_state == "wants"
    assert person.data_requests() == []
    assert person.deliveries() == before


async def test_ending_under_delete_on_end_awaits_a_confirmation(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Ending (not only erasing) under delete-on-end expects the vendor's signed confirmation."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.end("Corner Shop")
    [record] = person.data_requests("Corner Shop")
    assert (record.kind, record.state) == ("erase", "requested")
    person.receive(signed(person, shop, relationship, erased(record.message_id, clock), clock))
    assert [r.state for r in person.data_requests("Corner Shop")] == ["answered"]


async def test_a_kept_export_is_sealed(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, tmp_path: Path
) -> None:
    """What the vendor says it holds is stored sealed, like the person's own values."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    record = person.request_export("Corner Shop")
    body = exported(
        record.message_id,
        clock,
        [("name.given", 1, "Quennell")],
        vendor_data={"loyalty_tier": "Ultramarine"},
    )
    message = signed(person, shop, relationship, body, clock)
    person.receive(message)
    stored = files_on_disk(person.engine, tmp_path)
    for secret in ("Quennell", "Ultramarine", message.compact.split(".")[2]):
        assert not in_clear(secret, stored), secret


async def test_the_same_unsolicited_erasure_twice_is_harmless(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A confirmation the vendor sends on its own, taken twice, is kept once."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    message = signed(person, shop, relationship, erased("vendor-cleanup-7", clock), clock)
    person.receive(message)
    person.receive(message)
    assert [r.state for r in person.data_requests("Corner Shop")] == ["answered"]


async def test_the_export_shown_is_the_one_that_came_last(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Two requests answered out of order: the person sees the export that arrived last."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    first = person.request_export("Corner Shop")
    second = person.request_export("Corner Shop")
    for request, name in ((second, "Annie"), (first, "Anne")):
        clock.advance(60)
        body = exported(request.message_id, clock, [("name.given", 1, name)])
        person.receive(signed(person, shop, relationship, body, clock))
    _, export, _ = person.vendor_export("Corner Shop")
    assert export.fields[0].value == "Anne"
