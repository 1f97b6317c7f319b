"""A vendor's customer records: what each verified message changes, and what it queues."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from vrm.protocol import (
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    new_envelope,
    relationship_types,
    sign_message,
)
from vrm.storage import database_engine, migrate_to_newest, sqlite_engine
from vrm.vendor.endpoint import MIGRATIONS
from vrm.vendor.jobs import MESSAGE_QUEUE, due_jobs
from vrm.vendor.records import NotPending, Policy, PolicyMode, Records, UnknownCustomer
from vrm.vendor.schema import jobs

VENDOR = Identity.generate()
REPLY_TO = "http://127.0.0.1:9/inbox"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The vendor's store, migrated: an SQLite file, and PostgreSQL (a fresh schema)."""
    if request.param == "sqlite":
        built = sqlite_engine(tmp_path / "vendor.db")
    else:
        built = database_engine(request.getfixturevalue("postgres_url"))
    migrate_to_newest(built, MIGRATIONS)
    yield built
    built.dispose()


def records(engine: Engine, policy: Policy | None = None) -> Records:
    return Records(engine, identity=VENDOR, policy=policy or Policy(), adapters=["crm", "billing"])


def message(person: Identity, type: str, body: dict[str, Any]) -> Message:
    _, token = compose(person, type=type, to=VENDOR.did, body=body)
    verifier = Verifier(receiver=VENDOR.did, types=relationship_types(), seen_ids=None)
    return verifier.verify(token)


def update(person: Identity, path: str, version: int, value: Any) -> Message:
    fields = [{"path": path, "version": version, "value": value, "changed_time": version}]
    return message(person, PROFILE_UPDATE, {"grant": {"purpose": "post"}, "fields": fields})


def request(person: Identity) -> Message:
    return message(person, RELATIONSHIP_REQUEST, {"reply_to": REPLY_TO})


def queued(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with engine.begin() as connection:
        rows = connection.execute(select(jobs).order_by(jobs.c.id)).all()
    return [(row.queue, row.customer, json.loads(row.payload)) for row in rows]


def test_accepting_answers_the_person_and_tells_every_crm(engine: Engine) -> None:
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    [answer, *events] = queued(engine)
    assert answer[0] == MESSAGE_QUEUE
    assert answer[2]["inbox"] == REPLY_TO
    reply = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None).verify(
        answer[2]["token"]
    )
    assert reply.type == RELATIONSHIP_STATE
    assert reply.body.model_dump()["state"] == "accepted"
    assert [(q, e["kind"]) for q, _, e in events] == [
        ("adapter:crm", "customer.created"),
        ("adapter:billing", "customer.created"),
    ]
    assert book.customer(person.did)["state"] == "accepted"


def test_updates_apply_by_version_and_twice_changes_nothing(engine: Engine) -> None:
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
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.receive(request(person))
    answers = [e for q, _, e in queued(engine) if q == MESSAGE_QUEUE]
    assert len(answers) == 2
    created = [e for _, _, e in queued(engine) if e.get("kind") == "customer.created"]
    assert len(created) == 2  # once per adapter, not once per request
    assert len(book.customers()) == 1


def test_jobs_of_one_customer_run_in_order_and_customers_run_side_by_side(
    engine: Engine,
) -> None:
    first, second = Identity.generate(), Identity.generate()
    book = records(engine)
    for person in (first, second):
        book.receive(request(person))
        book.receive(update(person, "email.home", 1, "a@example.org"))
    with engine.begin() as connection:
        due = due_jobs(connection, now=10**10)
    heads = {(job.queue, job.customer) for job in due}
    assert len(due) == len(heads) == 6  # per customer: the answer and one created per adapter
    assert {job.payload.get("kind") for job in due if job.queue != MESSAGE_QUEUE} == {
        "customer.created"
    }


def test_a_field_granted_again_after_a_revocation_is_taken(engine: Engine) -> None:
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    book.receive(message(person, PROFILE_REVOKE, {"fields": ["email.home"]}))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert book.customer(person.did)["fields"] == {"email.home": "ann@example.org"}


def test_ending_withdraws_every_field_and_later_updates_are_refused(engine: Engine) -> None:
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
