"""A vendor's customer records: what each verified message changes, and what it queues."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.vendor.people import (
    REPLY_TO,
    VENDOR,
    message,
    of_type,
    queued,
    request,
    sent_to,
    update,
)
from vrm.protocol import (
    AGREEMENT_ANSWER,
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_STATE,
    Identity,
    ProtocolError,
    RefusalCode,
    Verifier,
    new_envelope,
    relationship_types,
    sign_message,
)
from vrm.vendor.jobs import MESSAGE_QUEUE, due_jobs
from vrm.vendor.records import NotPending, Policy, PolicyMode, Records, UnknownCustomer

__all__ = ["VENDOR", "request", "update"]  # test_postgres_store uses them


def records(engine: Engine, policy: Policy | None = None) -> Records:
    return Records(engine, identity=VENDOR, policy=policy or Policy(), adapters=["crm", "billing"])


def test_accepting_answers_the_person_and_tells_every_crm(engine: Engine) -> None:
    """An accepted request is answered (relationship, then agreement); each CRM gets it."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    [state, agreed, *events] = queued(engine)
    assert (state[0], agreed[0]) == (MESSAGE_QUEUE, MESSAGE_QUEUE)
    assert state[2]["inbox"] == agreed[2]["inbox"] == REPLY_TO
    [reply, answer] = sent_to(engine, person)
    assert (reply.type, answer.type) == (RELATIONSHIP_STATE, AGREEMENT_ANSWER)
    assert reply.body.model_dump()["state"] == "accepted"
    assert answer.body.model_dump()["answer"] == "accepted"
    assert [(q, e["kind"]) for q, _, e in events] == [
        ("adapter:crm", "customer.created"),
        ("adapter:billing", "customer.created"),
    ]
    assert book.customer(person.did)["state"] == "accepted"


def test_updates_apply_by_version_and_twice_changes_nothing(engine: Engine) -> None:
    """An older version arriving late, or the same message again, changes nothing."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    newer = update(person, "address.home", 2, {"streetAddress": "9 Quay St"})
    older = update(person, "address.home", 1, {"streetAddress": "1 Elm Row"})
    book.receive(newer)
    book.receive(older)  # arrives late: ignored
    book.receive(newer)  # the same message again: nothing changes
    assert book.customer(person.did)["fields"] == {"address.home": {"streetAddress": "9 Quay St"}}
    assert [h["version"] for h in book.history(person.did)] == [2]
    updates = [e for q, _, e in queued(engine) if e.get("kind") == "customer.updated"]
    assert len(updates) == 2  # one change, once per adapter
    assert updates[0]["fields"] == {"address.home": {"streetAddress": "9 Quay St"}}
    assert updates[0]["versions"] == {"address.home": 2}


def test_revocation_removes_the_value_and_keeps_the_history(engine: Engine) -> None:
    """A revoked field loses its value, keeps its history and is deleted from the CRMs."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    book.receive(message(person, PROFILE_REVOKE, {"fields": ["email.home", "phone.home"]}))
    assert book.customer(person.did)["fields"] == {}
    assert [h["event"] for h in book.history(person.did)] == ["update", "revoke"]
    revoked = [e for _, _, e in queued(engine) if e.get("kind") == "customer.revoked"]
    assert revoked[0]["fields"] == {"email.home": None}


def test_messages_from_strangers_and_person_states_from_vendors_are_refused(
    engine: Engine,
) -> None:
    """Fields from an unknown DID, and a vendor's state sent by a person, are refused."""
    stranger = Identity.generate()
    book = records(engine)
    with pytest.raises(ProtocolError) as refused:
        book.receive(update(stranger, "email.home", 1, "x@example.org"))
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    person = Identity.generate()
    book.receive(request(person))
    with pytest.raises(ProtocolError) as wrong_side:
        book.receive(message(person, RELATIONSHIP_STATE, {"state": "accepted"}))
    assert wrong_side.value.code == RefusalCode.INVALID_BODY


def test_allow_list_accepts_listed_and_holds_the_rest_for_the_vendor(engine: Engine) -> None:
    """Listed DIDs are accepted at once; the others wait, and are decided once."""
    listed, other = Identity.generate(), Identity.generate()
    book = records(engine, Policy(PolicyMode.ALLOW_LIST, frozenset({listed.did})))
    book.receive(request(listed))
    book.receive(request(other))
    assert book.customer(listed.did)["state"] == "accepted"
    assert [c["did"] for c in book.customers(state="pending")] == [other.did]
    book.refuse(other.did)
    assert book.customer(other.did)["state"] == "refused"
    with pytest.raises(NotPending):
        book.approve(other.did)
    with pytest.raises(UnknownCustomer):
        book.approve(Identity.generate().did)


def test_asking_again_is_answered_again_without_a_second_customer(engine: Engine) -> None:
    """A repeated request gets both answers again; one customer, one agreement."""
    person = Identity.generate()
    book = records(engine)
    first = request(person)
    book.receive(first)
    book.receive(message(person, first.type, first.body.model_dump(mode="json")))
    answers = sent_to(engine, person)
    assert len(of_type(answers, RELATIONSHIP_STATE)) == 2
    [agreed, again] = of_type(answers, AGREEMENT_ANSWER)
    assert agreed.body == again.body  # the same signature: the same agreement
    assert len(book.agreements(person.did)) == 1
    created = [e for _, _, e in queued(engine) if e.get("kind") == "customer.created"]
    assert len(created) == 2  # once per adapter, not once per request
    assert len(book.customers()) == 1


def test_jobs_of_one_customer_run_in_order_and_customers_run_side_by_side(
    engine: Engine,
) -> None:
    """Only the oldest job of each queue and customer is due; customers run side by side."""
    first, second = Identity.generate(), Identity.generate()
    book = records(engine)
    for person in (first, second):
        book.receive(request(person))
        book.receive(update(person, "email.home", 1, "a@example.org"))
    with engine.begin() as connection:
        due = due_jobs(connection, now=10**10)
    heads = {(job.queue, job.customer) for job in due}
    assert len(due) == len(heads) == 6  # per customer: the answers and one created per adapter
    assert {job.payload.get("kind") for job in due if job.queue != MESSAGE_QUEUE} == {
        "customer.created"
    }


def test_a_field_granted_again_after_a_revocation_is_taken(engine: Engine) -> None:
    """Revocation drops the version too, so the field granted again from version 1 is taken."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    book.receive(message(person, PROFILE_REVOKE, {"fields": ["email.home"]}))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert book.customer(person.did)["fields"] == {"email.home": "ann@example.org"}


def test_ending_withdraws_every_field_and_later_updates_are_refused(engine: Engine) -> None:
    """Ending removes every value, tells the CRMs, and refuses what comes after."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    book.receive(message(person, RELATIONSHIP_STATE, {"state": "ended"}))
    held = book.customer(person.did)
    assert held["fields"] == {}
    assert held["person_state"] == "ended"
    ended = [e for _, _, e in queued(engine) if e.get("kind") == "customer.ended"]
    assert ended[0]["fields"] == {"email.home": None}
    with pytest.raises(ProtocolError) as refused:
        book.receive(update(person, "email.home", 2, "ann@new.example"))
    assert refused.value.code == RefusalCode.WRONG_RECIPIENT


def test_two_customers_using_the_same_message_id_each_reach_the_crm(engine: Engine) -> None:
    """Event ids are per customer: one message id used by two people makes two events."""
    book = records(engine)
    people = [Identity.generate(), Identity.generate()]
    verifier = Verifier(receiver=VENDOR.did, types=relationship_types(), seen_ids=None)
    for person in people:
        book.receive(request(person))
        body = {
            "grant": {"purpose": "post"},
            "fields": [{"path": "email.home", "version": 1, "value": "x@y", "changed_time": 1}],
        }
        envelope = new_envelope(
            type=PROFILE_UPDATE, sender=person.did, to=VENDOR.did, body=body, message_id="update.1"
        )
        book.receive(verifier.verify(sign_message(envelope, person)))
    updates = [(c, e) for q, c, e in queued(engine) if e.get("kind") == "customer.updated"]
    assert {customer for customer, _ in updates} == {person.did for person in people}
    assert all("." not in event["event_id"] for _, event in updates)


def test_the_vendor_can_end_and_a_newly_allowed_request_is_accepted(engine: Engine) -> None:
    """The vendor ends a relationship (the person is told); a DID allowed later is accepted."""
    person, later = Identity.generate(), Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.end(person.did)
    assert book.customer(person.did)["state"] == "ended"
    answers = [e for q, c, e in queued(engine) if q == MESSAGE_QUEUE and c == person.did]
    told = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
    assert told.verify(answers[-1]["token"]).body.model_dump()["state"] == "ended"
    with pytest.raises(NotPending):
        book.end(person.did)

    strict = records(engine, Policy(PolicyMode.ALLOW_LIST))
    strict.receive(request(later))
    assert strict.customer(later.did)["state"] == "pending"
    edited = records(engine, Policy(PolicyMode.ALLOW_LIST, frozenset({later.did})))
    assert edited.accept_newly_allowed() == [later.did]
    assert edited.customer(later.did)["state"] == "accepted"
