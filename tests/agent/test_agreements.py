"""Agreements with vendors: the person's terms proffered, answered, signed by both, kept sealed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.vendors import (
    Clock,
    Vendor,
    VendorNetwork,
    agree,
    connect,
    deliver,
    files_on_disk,
    from_vendor,
    in_clear,
    offer_alternative,
    terms_answer,
)
from vrm.agent.agreements.choice import TermsChoice
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import (
    AGREEMENT_ANSWER,
    AGREEMENT_PROFFER,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    AgreementAnswer,
    Identity,
    PartyState,
    ProtocolError,
    RefusalCode,
    RelationshipState,
)
from vrm.terms import (
    Agreement,
    AlternativeRule,
    Proffer,
    Terms,
    accept,
    countersigned,
    library,
    proffer,
)
from vrm.terms.agreement import Statement, sign_detached

pytestmark = pytest.mark.anyio

EMAIL = "ann@example.org"
DEFAULT_NAME = "SD-BASE + mine-too + delete-on-end"


def terms(agreement: str, *additional: str) -> Terms:
    """Terms from the library by id."""
    found = library()
    return Terms(
        agreement=found.agreement(agreement), additional=tuple(found.term(t) for t in additional)
    )


def vendor_accepts_relationship(
    person: PersonalAgent, vendor: Vendor, relationship: Relationship, clock: Clock
) -> Relationship:
    """The vendor presses its r-button (accepted) without answering the terms yet."""
    message = from_vendor(
        person,
        vendor.identity,
        relationship.our_did,
        RelationshipState(state=PartyState.ACCEPTED),
        type=RELATIONSHIP_STATE,
        clock=clock,
        thid=relationship.request_id,
    )
    person.receive(message)
    return person.vendor(str(relationship.id))


def states(person: PersonalAgent, vendor: str) -> list[tuple[str, str, str]]:
    """Each proffer or agreement of a vendor as (terms, by, state), oldest first."""
    return [(a.terms.name, a.proffered_by, a.state) for a in person.agreements(vendor)]


def audited(person: PersonalAgent, prefix: str = "agreement.") -> list[tuple[str, str, str]]:
    """The audit entries about agreements as (kind, terms, by)."""
    return [
        (e.kind, e.details["terms"], e.details["by"])
        for e in person.audit_entries()
        if e.kind.startswith(prefix)
    ]


async def test_adding_a_vendor_proffers_the_default_terms(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """The relationship request proffers SD-BASE + mine-too + delete-on-end, signed by the DID."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)

    [record] = person.agreements("Corner Shop")
    assert (record.terms.name, record.proffered_by, record.state) == (
        DEFAULT_NAME,
        "person",
        "proffered",
    )
    assert record.message_id == relationship.request_id
    assert record.agreement is None
    offer = record.document
    assert isinstance(offer, Proffer)
    offer.verify()  # the signature is the person's, over these terms
    assert (offer.statement.person, offer.statement.vendor) == (relationship.our_did, shop.did)
    assert offer.statement.terms_sha256 == record.terms_sha256 == offer.terms.sha256()
    assert record.terms.obligations().delete_on_end is True
    assert record.terms.obligations().data_access is True

    await deliver(worker)
    [request] = shop.received(RELATIONSHIP_REQUEST)
    assert request.body.proffer == offer
    assert request.sender == relationship.our_did


async def test_agreements_are_kept_sealed(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, tmp_path: Path
) -> None:
    """Neither the signed proffer nor the vendor's signature is stored in clear."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    [record] = person.agreements("Corner Shop")
    assert record.agreement is not None

    stored = files_on_disk(person.engine, tmp_path)
    assert in_clear(relationship.our_did, stored), "the person's own DID is its look-up key"
    for secret in (
        record.agreement.signatures["person"],
        record.agreement.signatures["vendor"],
        record.agreement.signatures["vendor"].split(".")[-1],
        record.agreement.model_dump_json(exclude_none=True),
        DEFAULT_NAME,
        record.terms.agreement.text[0],
    ):
        assert not in_clear(secret, stored), secret


async def test_acceptance_of_the_terms_lets_data_flow(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Grants are held until the vendor signs the terms; then the agreement is active, verified."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    assert person.vendor("Corner Shop").held_because == "the vendor has not accepted"

    accepted = vendor_accepts_relationship(person, shop, relationship, clock)
    assert (accepted.vendor_state, accepted.agreed, accepted.active) == ("accepted", False, False)
    assert accepted.held_because == "no agreement on your terms yet"
    await deliver(worker)
    assert shop.received(PROFILE_UPDATE) == []

    queued: list[str] = []
    person.on_queued = queued.extend
    agree(person, shop, relationship, clock=clock)
    [record] = person.agreements("Corner Shop")
    assert record.state == "active"
    assert isinstance(record.agreement, Agreement)
    record.agreement.verify()
    assert set(record.agreement.signatures) == {"person", "vendor"}
    assert record.answered_at == clock.now
    now_active = person.vendor("Corner Shop")
    assert (now_active.agreed, now_active.active, now_active.held_because) == (True, True, None)

    assert len(queued) == 1, "the granted field's value, and nothing else"
    await deliver(worker)
    [update] = shop.received(PROFILE_UPDATE)
    assert update.id == queued[0]
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}


def _signed_by_another_key(offer: Proffer, vendor: Vendor, accepted_time: int) -> str:
    return sign_detached(offer.statement.acceptance_payload(accepted_time), Identity.generate())


def _signed_over_other_terms(offer: Proffer, vendor: Vendor, accepted_time: int) -> str:
    other = Statement(**{**offer.statement.model_dump(), "terms_sha256": terms("PDC-AI").sha256()})
    return sign_detached(other.acceptance_payload(accepted_time), vendor.identity)


def _signed_at_another_time(offer: Proffer, vendor: Vendor, accepted_time: int) -> str:
    return sign_detached(offer.statement.acceptance_payload(accepted_time + 60), vendor.identity)


@pytest.mark.parametrize(
    "forge",
    [_signed_by_another_key, _signed_over_other_terms, _signed_at_another_time],
    ids=["another key", "other terms", "another time"],
)
async def test_an_acceptance_that_does_not_verify_is_refused(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock, forge
) -> None:
    """A vendor signature by another key, over other terms or another time makes nothing active."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    [record] = person.agreements("Corner Shop")
    assert isinstance(record.document, Proffer)
    accepted_time = int(clock.now)
    body = AgreementAnswer(
        terms_sha256=record.terms_sha256,
        answer="accepted",
        accepted_time=accepted_time,
        signature=forge(record.document, shop, accepted_time),
    )

    with pytest.raises(ProtocolError) as refused:
        person.receive(terms_answer(person, shop, relationship, body, clock=clock))
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "proffered")]
    assert not person.vendor("Corner Shop").active
    assert [k for k, _, _ in audited(person)] == ["agreement.proffered"]
    await deliver(worker)
    assert shop.received(PROFILE_UPDATE) == []


async def test_an_answer_from_another_party_is_wrong_recipient(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Only the vendor the DID was made for may answer its terms, even with a valid signature."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    books, _ = await connect(person, network, "Book Barn", clock=clock, state=None)
    [record] = person.agreements("Corner Shop")
    assert isinstance(record.document, Proffer)
    genuine = accept(record.document, shop.identity, now=int(clock.now))
    body = AgreementAnswer(
        terms_sha256=record.terms_sha256,
        answer="accepted",
        accepted_time=genuine.accepted_time,
        signature=genuine.signatures["vendor"],
    )
    for sender in (books.identity, Identity.generate()):
        message = terms_answer(person, shop, relationship, body, clock=clock, sender=sender)
        with pytest.raises(ProtocolError) as refused:
            person.receive(message)
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "proffered")]


@pytest.mark.parametrize("answer", ["accepted", "rejected"])
async def test_an_answer_naming_an_unknown_hash_is_invalid(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, answer: str
) -> None:
    """An answer to terms the person never proffered this vendor is invalid_body."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    signed = {"accepted_time": int(clock.now), "signature": "e30..%s" % ("A" * 86)}
    body = AgreementAnswer(
        terms_sha256=terms("PDC-AI").sha256(),
        answer=answer,  # type: ignore[arg-type]
        **(signed if answer == "accepted" else {}),  # type: ignore[arg-type]
    )
    with pytest.raises(ProtocolError) as refused:
        person.receive(terms_answer(person, shop, relationship, body, clock=clock))
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert "no proffer of ours" in refused.value.detail
    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "proffered")]


async def test_the_same_acceptance_twice_is_harmless(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A repeated acceptance changes nothing and queues nothing: one agreement, audited once."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    [record] = person.agreements("Corner Shop")
    assert isinstance(record.document, Proffer)
    agreement = accept(record.document, shop.identity, now=int(clock.now))
    body = AgreementAnswer(
        terms_sha256=record.terms_sha256,
        answer="accepted",
        accepted_time=agreement.accepted_time,
        signature=agreement.signatures["vendor"],
    )
    message = terms_answer(person, shop, relationship, body, clock=clock)
    queued: list[str] = []
    person.on_queued = queued.extend

    person.receive(message)
    first = person.agreements("Corner Shop")
    clock.advance(5)
    person.receive(message)
    assert person.agreements("Corner Shop") == first
    assert [a.state for a in first] == ["active"]
    assert len(queued) == 1, "the granted value once"
    assert [k for k, _, _ in audited(person)] == ["agreement.proffered", "agreement.accepted"]


async def test_a_rejection_means_nothing_flows(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """The vendor rejects the terms: no agreement, the grant is held, the reason is audited."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    [record] = person.agreements("Corner Shop")
    body = AgreementAnswer(
        terms_sha256=record.terms_sha256, answer="rejected", reason="not these terms"
    )
    person.receive(terms_answer(person, shop, relationship, body, clock=clock))

    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "rejected")]
    rejected = person.vendor("Corner Shop")
    assert (rejected.active, rejected.held_because) == (False, "no agreement on your terms yet")
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    assert shop.received(PROFILE_UPDATE) == []
    [entry] = [e for e in person.audit_entries() if e.kind == "agreement.rejected"]
    assert (entry.details["by"], entry.details["reason"]) == ("vendor", "not these terms")
    assert entry.details["vendor"] == relationship.id


async def test_a_protective_alternative_is_accepted_for_the_person(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """SD-BASE-DP with the same additional terms protects as much: it is signed and sent back."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    offered = terms("SD-BASE-DP", "mine-too", "delete-on-end")
    message, alternative = offer_alternative(person, shop, relationship, offered, clock=clock)
    queued: list[str] = []
    person.on_queued = queued.extend

    person.receive(message)
    assert states(person, "Corner Shop") == [
        (DEFAULT_NAME, "person", "rejected"),
        (offered.name, "vendor", "active"),
    ]
    active = person.agreements("Corner Shop")[-1]
    assert isinstance(active.agreement, Agreement)
    active.agreement.verify()
    assert active.agreement.proffer == alternative
    assert person.vendor("Corner Shop").active
    assert len(queued) == 2, "the person's answer, then the granted value"

    await deliver(worker)
    [sent] = shop.received(AGREEMENT_ANSWER)
    assert sent.id == queued[0]
    assert sent.envelope.thid == message.id
    assert (sent.body.answer, sent.body.terms_sha256) == ("accepted", offered.sha256())
    both = countersigned(
        alternative, accepted_time=sent.body.accepted_time, signature=sent.body.signature
    )
    both.verify()
    assert shop.customer(relationship.our_did).agreement == offered
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}


async def test_a_weaker_alternative_waits_for_the_person(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """PDC-AI lets the vendor train AI: it waits as "alternative" until the person accepts it."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    offered = terms("PDC-AI", "mine-too", "delete-on-end")
    message, _ = offer_alternative(person, shop, relationship, offered, clock=clock)
    queued: list[str] = []
    person.on_queued = queued.extend

    person.receive(message)
    waiting = person.agreements("Corner Shop")[-1]
    assert (waiting.terms.name, waiting.proffered_by, waiting.state) == (
        offered.name,
        "vendor",
        "alternative",
    )
    assert queued == []
    assert person.vendor("Corner Shop").held_because == "no agreement on your terms yet"

    accepted = person.answer_alternative(waiting.id, accept=True)
    assert accepted.state == "active"
    assert isinstance(accepted.agreement, Agreement)
    accepted.agreement.verify()
    assert person.vendor("Corner Shop").active
    await deliver(worker)
    [sent] = shop.received(AGREEMENT_ANSWER)
    assert (sent.body.answer, sent.body.reason) == ("accepted", "accepted by the person")
    assert shop.holds(relationship.our_did) == {"email.primary": EMAIL}


async def test_the_person_may_reject_a_weaker_alternative(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Rejecting an alternative tells the vendor and sends nothing else."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    vendor_accepts_relationship(person, shop, relationship, clock)
    message, _ = offer_alternative(person, shop, relationship, terms("PDC-AI"), clock=clock)
    person.receive(message)
    waiting = person.agreements("Corner Shop")[-1]

    rejected = person.answer_alternative(waiting.id, accept=False)
    assert rejected.state == "rejected"
    assert not person.vendor("Corner Shop").active
    await deliver(worker)
    [sent] = shop.received(AGREEMENT_ANSWER)
    assert (sent.body.answer, sent.body.signature) == ("rejected", None)
    assert shop.received(PROFILE_UPDATE) == []


async def test_with_rule_reject_a_weaker_alternative_is_rejected_for_the_person(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Told to reject, the agent answers a weaker alternative on its own; protective ones pass."""
    person.set_default_terms(alternatives=AlternativeRule.REJECT)
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    vendor_accepts_relationship(person, shop, relationship, clock)
    message, _ = offer_alternative(person, shop, relationship, terms("PDC-AI"), clock=clock)
    person.receive(message)
    assert [a.state for a in person.agreements("Corner Shop")] == ["rejected", "rejected"]
    await deliver(worker)
    [sent] = shop.received(AGREEMENT_ANSWER)
    assert (sent.body.answer, sent.body.reason) == (
        "rejected",
        "less protective than the terms proffered",
    )

    books, with_books = await connect(person, network, "Book Barn", clock=clock, state=None)
    vendor_accepts_relationship(person, books, with_books, clock)
    protective = terms("SD-BASE-DP", "mine-too", "delete-on-end")
    message, _ = offer_alternative(person, books, with_books, protective, clock=clock)
    person.receive(message)
    assert [a.state for a in person.agreements("Book Barn")] == ["rejected", "active"]


async def test_with_rule_never_every_alternative_is_asked(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Told never to decide, the agent asks even about an alternative that protects as much."""
    person.set_default_terms(alternatives=AlternativeRule.NEVER)
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    protective = terms("SD-BASE-DP", "mine-too", "delete-on-end")
    message, _ = offer_alternative(person, shop, relationship, protective, clock=clock)
    person.receive(message)
    assert [a.state for a in person.agreements("Corner Shop")] == ["rejected", "alternative"]


async def test_only_an_alternative_can_be_answered(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Answering a proffer or an agreement is a Conflict; an unknown number is NotFound."""
    await connect(person, network, "Corner Shop", clock=clock, state=None)
    await connect(person, network, "Book Barn", clock=clock)
    proffered, active = person.agreements()
    assert (proffered.state, active.state) == ("proffered", "active")
    for record in (proffered, active):
        with pytest.raises(Conflict, match="nothing to answer"):
            person.answer_alternative(record.id, accept=True)
    with pytest.raises(NotFound):
        person.answer_alternative(99, accept=False)
    assert [a.state for a in person.agreements()] == ["proffered", "active"]


async def test_new_terms_replace_the_agreement_once_accepted(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Choosing other terms proffers them; the old agreement holds until the vendor accepts."""
    person.set_field("email.primary", EMAIL, changed_by="cli")
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
    person.grant("Corner Shop", ["email.primary"], purpose="receipts")
    queued: list[str] = []
    person.on_queued = queued.extend

    record = person.set_vendor_terms("Corner Shop", "SD-BASE-DP", ["NoStalking"])
    assert record is not None
    assert (record.terms.name, record.state) == ("SD-BASE-DP + NoStalking", "proffered")
    assert queued == [record.message_id]
    _, choice, is_default = person.vendor_terms("Corner Shop")
    assert (choice, is_default) == (TermsChoice("SD-BASE-DP", ("NoStalking",)), False)
    assert states(person, "Corner Shop") == [
        (DEFAULT_NAME, "person", "active"),
        ("SD-BASE-DP + NoStalking", "person", "proffered"),
    ]
    person.set_field("email.primary", "ann@work.example", changed_by="cli")
    await deliver(worker)
    [offer] = shop.received(AGREEMENT_PROFFER)
    assert offer.id == record.message_id
    assert offer.body.proffer == record.document
    assert shop.holds(relationship.our_did) == {"email.primary": "ann@work.example"}

    agree(person, shop, relationship, clock=clock)
    assert states(person, "Corner Shop") == [
        (DEFAULT_NAME, "person", "superseded"),
        ("SD-BASE-DP + NoStalking", "person", "active"),
    ]
    assert person.vendor("Corner Shop").active


async def test_the_same_terms_again_proffer_nothing(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Choosing the terms already agreed (however spelled) sends nothing."""
    await connect(person, network, "Corner Shop", clock=clock)
    queued: list[str] = []
    person.on_queued = queued.extend
    assert person.set_vendor_terms("Corner Shop", "sd-base", ["MINE-TOO", "delete-on-end"]) is None
    assert person.set_vendor_terms("Corner Shop", None) is None
    assert queued == []
    assert [a.state for a in person.agreements("Corner Shop")] == ["active"]


async def test_terms_chosen_before_the_vendor_answers_follow_its_acceptance(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Nothing is sent while the vendor decides; the new choice is proffered once it accepts."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    queued: list[str] = []
    person.on_queued = queued.extend
    assert person.set_vendor_terms("Corner Shop", "SD-BASE-DP") is None
    assert queued == []
    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "proffered")]

    vendor_accepts_relationship(person, shop, relationship, clock)
    agree(person, shop, relationship, clock=clock)
    assert states(person, "Corner Shop") == [
        (DEFAULT_NAME, "person", "active"),
        ("SD-BASE-DP", "person", "proffered"),
    ]
    newest = person.agreements("Corner Shop")[-1]
    assert newest.message_id in queued
    await deliver(worker)
    assert [m.id for m in shop.received(AGREEMENT_PROFFER)] == [newest.message_id]

    agree(person, shop, relationship, clock=clock)
    assert [a.state for a in person.agreements("Corner Shop")] == ["superseded", "active"]


@pytest.mark.parametrize("answer", ["rejected", "alternative"])
async def test_terms_chosen_before_the_vendor_answers_follow_a_rejection_or_alternative(
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
    answer: str,
) -> None:
    """Whatever the vendor answers to the older terms, the person's newer choice is proffered."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    assert person.set_vendor_terms("Corner Shop", "SD-BASE-DP") is None
    vendor_accepts_relationship(person, shop, relationship, clock)
    [older] = person.agreements("Corner Shop")
    if answer == "rejected":
        body = AgreementAnswer(terms_sha256=older.terms_sha256, answer="rejected", reason="no")
        person.receive(terms_answer(person, shop, relationship, body, clock=clock))
    else:
        weaker = terms("PDC-AI", "mine-too", "delete-on-end")
        message, _ = offer_alternative(person, shop, relationship, weaker, clock=clock)
        person.receive(message)

    newest = person.agreements("Corner Shop")[-1]
    assert (newest.terms.name, newest.proffered_by, newest.state) == (
        "SD-BASE-DP",
        "person",
        "proffered",
    )
    await deliver(worker)
    assert [m.id for m in shop.received(AGREEMENT_PROFFER)] == [newest.message_id]
    agree(person, shop, relationship, clock=clock)
    assert person.agreements("Corner Shop")[-1].state == "active"
    assert person.vendor("Corner Shop").active


@pytest.mark.parametrize(
    ("agreement", "additional", "expected"),
    [
        ("SD-EVERYTHING", None, "no agreement 'SD-EVERYTHING' (known: SD-BASE, SD-BASE-DP,"),
        ("SD-BASE", ["no-stalking-ever"], "'no-stalking-ever' (known: NoStalking,"),
    ],
)
def test_an_unknown_default_is_refused_naming_the_known_ids(
    person: PersonalAgent, agreement: str, additional: list[str] | None, expected: str
) -> None:
    """A default that is not in the library changes nothing; the error lists what is."""
    with pytest.raises(Conflict) as refused:
        person.set_default_terms(agreement, additional)
    assert expected in str(refused.value)
    assert person.terms_settings().default.terms().name == DEFAULT_NAME


async def test_a_new_default_is_proffered_to_vendors_that_use_it(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Open relationships on the default get the new default; own choices and ended ones do not."""
    shop, _ = await connect(person, network, "Corner Shop", clock=clock)
    books, _ = await connect(person, network, "Book Barn", clock=clock)
    person.set_vendor_terms("Book Barn", "SD-BASE-DP")
    agree(person, books, person.vendor("Book Barn"), clock=clock)
    cafe, _ = await connect(person, network, "Cafe", clock=clock)
    person.end("Cafe")
    await deliver(worker)
    queued: list[str] = []
    person.on_queued = queued.extend

    settings = person.set_default_terms("SD-BASE-DP", ["NoStalking"])
    assert settings.default.terms().name == "SD-BASE-DP + NoStalking"
    assert person.terms_settings() == settings
    [offer] = [a for a in person.agreements("Corner Shop") if a.state == "proffered"]
    assert offer.terms.name == "SD-BASE-DP + NoStalking"
    assert queued == [offer.message_id]
    assert [a.state for a in person.agreements("Book Barn")] == ["superseded", "active"]
    assert [a.state for a in person.agreements("Cafe")] == ["active"]
    await deliver(worker)
    assert len(shop.received(AGREEMENT_PROFFER)) == 1
    assert len(cafe.received(AGREEMENT_PROFFER)) == 0

    person.set_default_terms(alternatives=AlternativeRule.REJECT)
    assert len(queued) == 1, "changing only the rule proffers nothing"

    await connect(person, network, "Deli", clock=clock, state=None)
    [first] = person.agreements("Deli")
    assert first.terms.name == "SD-BASE-DP + NoStalking"


async def test_every_step_is_audited_with_vendor_and_terms_hash(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Proffered, alternative, rejected and accepted each name the vendor and the terms' hash."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    offered = terms("PDC-AI")
    message, _ = offer_alternative(person, shop, relationship, offered, clock=clock)
    person.receive(message)
    person.answer_alternative(person.agreements("Corner Shop")[-1].id, accept=True)

    entries = [e for e in person.audit_entries() if e.kind.startswith("agreement.")]
    assert [(e.kind, e.details["terms"], e.details["by"]) for e in entries] == [
        ("agreement.proffered", DEFAULT_NAME, "person"),
        ("agreement.rejected", DEFAULT_NAME, "vendor"),
        ("agreement.alternative", "PDC-AI", "vendor"),
        ("agreement.accepted", "PDC-AI", "person"),
    ]
    default_sha = terms("SD-BASE", "mine-too", "delete-on-end").sha256()
    assert [e.details["terms_sha256"] for e in entries] == [default_sha] * 2 + [
        offered.sha256()
    ] * 2
    assert {e.details["vendor"] for e in entries} == {relationship.id}
    assert person.audit_verify().intact


def _naming_another_person(vendor: Vendor, relationship: Relationship, clock: Clock) -> Proffer:
    return proffer(
        terms("SD-BASE-DP"),
        vendor.identity,
        person=Identity.generate().did,
        vendor=vendor.did,
        proffered_by="vendor",
        now=int(clock.now),
    )


def _signed_by_a_stranger(vendor: Vendor, relationship: Relationship, clock: Clock) -> Proffer:
    stranger = Identity.generate()
    forged = proffer(
        terms("SD-BASE-DP"),
        stranger,
        person=relationship.our_did,
        vendor=stranger.did,
        proffered_by="vendor",
        now=int(clock.now),
    )
    statement = forged.statement.model_copy(update={"vendor": vendor.did})
    return forged.model_copy(update={"statement": statement})


def _with_other_terms(vendor: Vendor, relationship: Relationship, clock: Clock) -> Proffer:
    genuine = proffer(
        terms("SD-BASE-DP"),
        vendor.identity,
        person=relationship.our_did,
        vendor=vendor.did,
        proffered_by="vendor",
        now=int(clock.now),
    )
    return genuine.model_copy(update={"terms": terms("PDC-AI")})


@pytest.mark.parametrize(
    "forge",
    [_naming_another_person, _signed_by_a_stranger, _with_other_terms],
    ids=["another person", "another key", "other terms"],
)
async def test_an_alternative_that_is_not_the_vendors_is_refused(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, forge
) -> None:
    """An alternative for someone else, signed by another key, or altered is invalid_body."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    [record] = person.agreements("Corner Shop")
    body = AgreementAnswer(
        terms_sha256=record.terms_sha256,
        answer="alternative",
        alternative=forge(shop, relationship, clock),
    )
    with pytest.raises(ProtocolError) as refused:
        person.receive(terms_answer(person, shop, relationship, body, clock=clock))
    assert refused.value.code == RefusalCode.INVALID_BODY
    assert states(person, "Corner Shop") == [(DEFAULT_NAME, "person", "proffered")]
    assert [k for k, _, _ in audited(person)] == ["agreement.proffered"]


async def test_nothing_is_proffered_after_the_person_ended(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Terms chosen, then the relationship ended: a late acceptance sends the vendor nothing."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.set_vendor_terms("Corner Shop", "SD-BASE-DP")
    person.end("Corner Shop")
    queued: list[str] = []
    person.on_queued = queued.extend

    vendor_accepts_relationship(person, shop, relationship, clock)
    agree(person, shop, relationship, clock=clock)
    assert queued == []
    await deliver(worker)
    assert shop.received(AGREEMENT_PROFFER) == []


async def test_choosing_the_waiting_terms_again_keeps_the_vendors_acceptance_good(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Choosing the same terms twice before the vendor answers: its acceptance still counts."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    vendor_accepts_relationship(person, shop, relationship, clock)
    first = person.set_vendor_terms("Corner Shop", "SD-BASE-DP")
    assert first is not None
    assert isinstance(first.document, Proffer)
    clock.advance(5)
    person.set_vendor_terms("Corner Shop", "SD-BASE-DP")

    agreement = accept(first.document, shop.identity, now=int(clock.now))
    body = AgreementAnswer(
        terms_sha256=first.terms_sha256,
        answer="accepted",
        accepted_time=agreement.accepted_time,
        signature=agreement.signatures["vendor"],
    )
    person.receive(terms_answer(person, shop, relationship, body, clock=clock))
    assert person.vendor("Corner Shop").active
