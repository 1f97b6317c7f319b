"""The person's data rights at the vendor: an encrypted copy of everything held, and erasure."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.vendor.people import (
    VENDOR,
    message,
    offer,
    queued,
    request,
    terms,
    update,
)
from vrm.protocol import (
    DATA_ERASED,
    DATA_EXPORT,
    DATA_REQUEST,
    PROFILE_REVOKE,
    RELATIONSHIP_STATE,
    DataExport,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
    decrypt,
    relationship_types,
)
from vrm.transport.backoff import Backoff
from vrm.transport.client import AsgiTransport
from vrm.transport.delivery import Sender
from vrm.vendor.adapters.base import AdapterError, ChangeKind, CustomerChange
from vrm.vendor.data_rights import EXPORT_BYTES
from vrm.vendor.errors import Erased
from vrm.vendor.jobs import ERASURE_QUEUE, MESSAGE_QUEUE
from vrm.vendor.records import Policy, Records
from vrm.vendor.schema import field_history, fields, jobs, matched_intents, offers, vendor_data
from vrm.vendor.worker import JobWorker


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def records(engine: Engine, clock: Clock | None = None) -> Records:
    return Records(
        engine,
        identity=VENDOR,
        policy=Policy(),
        adapters=["crm", "billing"],
        clock=clock or time.time,
    )


def related(book: Records, person: Identity, *extra_terms: str) -> None:
    """The person relates under SD-BASE-DP (plus ``extra_terms``) and shares two fields."""
    book.receive(request(person, offer(person, terms("SD-BASE-DP", *extra_terms))))
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    book.receive(update(person, "phone.mobile", 1, "+44 20 7946 0000"))


def data_request(person: Identity, kind: str) -> Message:
    return message(person, DATA_REQUEST, {"kind": kind})


def encrypted_export(engine: Engine, person: Identity) -> str:
    [token] = [
        payload["token"]
        for queue, customer, payload in queued(engine)
        if queue == MESSAGE_QUEUE and customer == person.did and payload.get("encrypted")
    ]
    return token


def count(engine: Engine, table: Any, did: str) -> int:
    with engine.begin() as connection:
        query = select(func.count()).select_from(table).where(table.c.customer == did)
        return int(connection.execute(query).scalar_one())


def test_the_export_holds_exactly_what_is_held_and_only_the_person_reads_it(
    engine: Engine,
) -> None:
    """Fields, history, vendor data, deliveries (names only), agreements: encrypted to them."""
    person = Identity.generate()
    book = records(engine)
    related(book, person)
    book.receive(message(person, PROFILE_REVOKE, {"fields": ["phone.mobile"]}))
    book.set_vendor_data(person.did, {"loyalty_tier": "gold", "visits": 12})
    took_an_offer(engine, person.did)
    took_an_offer(engine, Identity.generate().did, offer_id="offer-of-someone-else")
    asked = data_request(person, "export")
    book.receive(asked)

    token = encrypted_export(engine, person)
    assert token.count(".") == 4  # a compact JWE
    assert "ann@example.org" not in token
    with pytest.raises(ProtocolError):
        decrypt(token, VENDOR)
    verifier = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
    received = verifier.verify(decrypt(token, person))
    assert (received.type, received.sender, received.envelope.thid) == (
        DATA_EXPORT,
        VENDOR.did,
        asked.id,
    )
    export = received.body
    assert isinstance(export, DataExport)
    assert export.request == asked.id
    assert (export.relationship.state, export.relationship.person_state) == ("accepted", "wants")
    [email] = export.fields
    assert (email.path, email.value, email.version, email.purpose) == (
        "email.home",
        "ann@example.org",
        1,
        "post",
    )
    assert [(h.path, h.event) for h in export.history] == [
        ("email.home", "update"),
        ("phone.mobile", "update"),
        ("phone.mobile", "revoke"),
    ]
    assert export.vendor_data == {"loyalty_tier": "gold", "visits": 12}
    assert [(d.system, d.kind, d.fields) for d in export.deliveries] == [
        (system, kind, names)
        for kind, names in [
            ("customer.created", []),
            ("customer.updated", ["email.home"]),
            ("customer.updated", ["phone.mobile"]),
            ("customer.revoked", ["phone.mobile"]),
        ]
        for system in ("crm", "billing")
    ]
    assert all(d.state == "pending" for d in export.deliveries)
    assert "ann@example.org" not in json.dumps([d.model_dump() for d in export.deliveries])
    [agreement] = export.agreements
    agreement.verify()
    assert agreement.terms.agreement.id == "SD-BASE-DP"
    [bought] = export.offers  # the person's own, not another customer's
    assert (bought.offer, bought.category, bought.name, bought.price) == (
        "offer-1",
        "home/sofas",
        "Three-seat sofa",
        740.0,
    )
    assert export.truncated is False
    seen_by_vendor = DataExport.model_validate_json(json.dumps(book.export(person.did)))
    assert (
        seen_by_vendor.model_copy(
            update={"request": asked.id, "generated_time": export.generated_time}
        )
        == export
    )  # the API's copy is the same record


def test_a_large_record_is_cut_to_its_newest_history_and_still_fits(engine: Engine) -> None:
    """Over the size an inbox takes, the oldest history goes and truncated says so."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    for version in range(1, 16):
        changed = [
            {"path": f"preference.k{n}", "version": version, "value": "x" * 900, "changed_time": 1}
            for n in range(16)
        ]
        body = {"grant": {"purpose": "post"}, "fields": changed}
        book.receive(message(person, "vrm/1/profile.update", body))
    book.receive(data_request(person, "export"))
    verifier = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
    export = verifier.verify(decrypt(encrypted_export(engine, person), person)).body
    assert isinstance(export, DataExport)
    assert export.truncated is True
    assert len(export.model_dump_json().encode()) <= EXPORT_BYTES
    assert 0 < len(export.history) < 15 * 16
    assert export.history[-1].version == 15  # the newest kept
    assert len(export.fields) == 16  # what is held now is never cut


def took_an_offer(engine: Engine, customer: str, *, offer_id: str = "offer-1") -> int:
    """An offer the customer accepted (to a matched intent of the customer's pseudonym)."""
    now = time.time()
    with engine.begin() as connection:
        intent = connection.execute(
            insert(matched_intents).values(
                exchange="did:key:zExchange",
                mailbox="https://exchange.example/mailbox",
                pseudonym=f"did:key:z{offer_id}",
                intent_id="intent-1",
                category="home/sofas",
                token="x.y.z",
                demand="{}",
                terms="[]",
                pool=1,
                state="accepted",
                received_at=now,
                expires_at=now + 3600,
            )
        ).inserted_primary_key[0]
        return int(
            connection.execute(
                insert(offers).values(
                    intent=intent,
                    message_id=offer_id,
                    body=json.dumps(
                        {"offer": {"name": "Three-seat sofa", "price": 740, "priceCurrency": "EUR"}}
                    ),
                    state="accepted",
                    sent_at=now,
                    answered_at=now,
                    customer=customer,
                )
            ).inserted_primary_key[0]
        )


def test_erasure_removes_the_record_and_the_adapters_payloads_keeping_a_tombstone(
    engine: Engine,
) -> None:
    """Fields, history, vendor data and queued CRM payloads go; each CRM is told to delete."""
    person = Identity.generate()
    book = records(engine)
    related(book, person)
    book.set_vendor_data(person.did, {"loyalty_tier": "gold"})
    sold = took_an_offer(engine, person.did)
    asked = data_request(person, "erase")
    assert book.receive(asked) is True
    for table in (fields, field_history, vendor_data):
        assert count(engine, table, person.did) == 0
    with engine.begin() as connection:
        kept = connection.execute(select(offers).where(offers.c.id == sold)).one()
    assert (kept.state, kept.customer) == ("accepted", None), "a sale, no longer the person's"
    held = book.customer(person.did)
    assert (held["state"], held["fields"], held["vendor_data"]) == ("erased", {}, {})
    ours = [(q, p) for q, c, p in queued(engine) if c == person.did and q != MESSAGE_QUEUE]
    assert [(q, p.get("kind")) for q, p in ours] == [
        ("adapter:crm", "customer.deleted"),
        ("adapter:billing", "customer.deleted"),
        (ERASURE_QUEUE, None),
    ]
    assert "ann@example.org" not in json.dumps(ours)
    assert ours[2][1]["request"] == asked.id
    assert [a["state"] for a in book.agreements(person.did)] == ["active"]  # consent kept

    for later in (update(person, "email.home", 2, "x@y.z"), data_request(person, "export")):
        with pytest.raises(ProtocolError, match="this record was erased") as refused:
            book.receive(later)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    again = data_request(person, "erase")
    book.receive(again)  # asked again: confirmed again, nothing else
    confirmations = [p for q, c, p in queued(engine) if q == ERASURE_QUEUE]
    assert [p["request"] for p in confirmations] == [asked.id, again.id]
    with pytest.raises(Erased):
        book.export(person.did)


def test_ending_under_delete_on_end_terms_erases(engine: Engine) -> None:
    """The agreement says delete on end: ending the relationship is an erasure request."""
    person, keeper = Identity.generate(), Identity.generate()
    book = records(engine)
    related(book, person, "delete-on-end")
    related(book, keeper)
    ending = message(person, RELATIONSHIP_STATE, {"state": "ended"})
    book.receive(ending)
    book.receive(message(keeper, RELATIONSHIP_STATE, {"state": "ended"}))
    assert book.customer(person.did)["state"] == "erased"
    assert count(engine, field_history, person.did) == 0
    [confirmation] = [p for q, c, p in queued(engine) if q == ERASURE_QUEUE]
    assert confirmation["request"] == ending.id
    kept = book.customer(keeper.did)  # SD-BASE-DP alone: the record stays, values withdrawn
    assert (kept["state"], kept["person_state"]) == ("accepted", "ended")
    assert count(engine, field_history, keeper.did) == 4


class PersonInbox:
    """The person's inbox: decrypts, verifies and keeps every message the vendor sends."""

    def __init__(self, person: Identity) -> None:
        self.person = person
        self.verifier = Verifier(receiver=person.did, types=relationship_types(), seen_ids=None)
        self.received: list[Message] = []
        self.encrypted: list[str] = []  # the types that came encrypted

    def app(self) -> Starlette:
        async def inbox(http: Request) -> Response:
            body = (await http.body()).decode()
            if http.headers["content-type"] == "application/vrm+jwe":
                body = decrypt(body, self.person)
                self.encrypted.append(self.verifier.verify(body).type)
            self.received.append(self.verifier.verify(body))
            return Response(status_code=202)

        return Starlette(routes=[Route("/inbox", inbox, methods=["POST"])])

    def erased(self) -> list[Message]:
        return [m for m in self.received if m.type == DATA_ERASED]


class Crm:
    """An adapter that fails ``failures`` times, then records each change."""

    def __init__(self, name: str, *, failures: int = 0, retryable: bool = True) -> None:
        self.name = name
        self.failures = failures
        self.retryable = retryable
        self.changes: list[CustomerChange] = []

    async def deliver(self, change: CustomerChange) -> None:
        if self.failures and change.kind == ChangeKind.DELETED:
            self.failures -= 1
            raise AdapterError(f"{self.name} is down", retryable=self.retryable)
        self.changes.append(change)

    async def aclose(self) -> None:
        """Nothing to close."""

    def deleted(self) -> bool:
        return any(change.kind == ChangeKind.DELETED for change in self.changes)


@pytest.mark.anyio
async def test_the_person_is_told_only_after_every_crm_has_deleted(engine: Engine) -> None:
    """The confirmation waits for a CRM that was down; it names what each system did."""
    person, clock = Identity.generate(), Clock()
    book = records(engine, clock)
    crm, billing = Crm("crm", failures=2), Crm("billing", failures=1, retryable=False)
    inbox = PersonInbox(person)
    worker = JobWorker(
        engine,
        Sender(AsgiTransport(inbox.app())),
        {"crm": crm, "billing": billing},
        backoff=Backoff(random=lambda: 0.0),
        clock=clock,
        identity=VENDOR,
    )
    related(book, person)
    asked = data_request(person, "erase")
    book.receive(asked)
    for _ in range(40):
        await worker.run_once()
        if inbox.erased():
            break
        clock.now += 0.3
    [told] = inbox.erased()
    assert crm.deleted()  # after two failures and retries
    body = told.body.model_dump()
    assert (told.sender, told.envelope.thid, body["request"]) == (VENDOR.did, asked.id, asked.id)
    assert body["systems"] == [
        {"system": "crm", "state": "deleted", "detail": None},
        {"system": "billing", "state": "failed", "detail": "billing is down"},
    ]
    sent_before = len(inbox.received)
    clock.now += 5
    await worker.run_once()
    assert len(inbox.received) == sent_before  # delivered once


@pytest.mark.anyio
async def test_a_confirmation_waits_while_a_delete_is_pending(engine: Engine) -> None:
    """Rounds that find the CRM's delete still pending send nothing to the person."""
    person, clock = Identity.generate(), Clock()
    book = records(engine, clock)
    crm = Crm("crm", failures=1_000)
    inbox = PersonInbox(person)
    worker = JobWorker(
        engine,
        Sender(AsgiTransport(inbox.app())),
        {"crm": crm, "billing": Crm("billing")},
        backoff=Backoff(random=lambda: 0.0, cap=1.0),
        clock=clock,
        identity=VENDOR,
    )
    related(book, person)
    book.erase(person.did)  # the vendor's own decision
    for _ in range(10):
        await worker.run_once()
        clock.now += 1.1
    assert inbox.erased() == []
    with engine.begin() as connection:
        waiting = connection.execute(
            select(jobs.c.state, jobs.c.attempts, jobs.c.last_error).where(
                jobs.c.queue == ERASURE_QUEUE
            )
        ).one()
    assert (waiting.state, waiting.attempts) == ("pending", 0)
    assert "waiting for the adapters" in waiting.last_error


@pytest.mark.anyio
async def test_the_worker_delivers_the_export_encrypted(engine: Engine) -> None:
    """The export reaches the person's inbox as a JWE; the answers before it are only signed."""
    person = Identity.generate()
    book = records(engine)
    inbox = PersonInbox(person)
    worker = JobWorker(
        engine, Sender(AsgiTransport(inbox.app())), {}, identity=VENDOR, clock=time.time
    )
    related(book, person)
    book.receive(data_request(person, "export"))
    while await worker.run_once():
        pass
    assert [m.type for m in inbox.received][-1] == DATA_EXPORT
    assert inbox.encrypted == [DATA_EXPORT]
