"""Agreements at the vendor: proffers checked, answered by the terms policy, kept signed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.vendor.people import (
    VENDOR,
    message,
    of_type,
    offer,
    proffer_message,
    request,
    sent_to,
    terms,
    update,
)
from vrm.protocol import (
    AGREEMENT_ANSWER,
    RELATIONSHIP_STATE,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
)
from vrm.terms import Agreement, Answer, Terms, VendorTermsPolicy, accept, countersigned, library
from vrm.terms.agreement import sign_detached
from vrm.vendor.errors import NotPending, UnknownProffer
from vrm.vendor.records import Policy, PolicyMode, Records

STRICT = VendorTermsPolicy(accepts=frozenset({"SD-BASE"}), accepts_additional=frozenset())
WITH_ALTERNATIVE = VendorTermsPolicy(
    accepts=frozenset({"SD-BASE"}),
    accepts_additional=frozenset({"NoStalking"}),
    alternative="SD-BASE",
)


def records(
    engine: Engine, terms_policy: VendorTermsPolicy | None = None, policy: Policy | None = None
) -> Records:
    return Records(
        engine,
        identity=VENDOR,
        policy=policy or Policy(),
        adapters=["crm"],
        terms_policy=terms_policy,
    )


def answers(engine: Engine, person: Identity) -> list[dict[str, Any]]:
    """The agreement answers queued for the person, as their agent reads them."""
    return [m.body.model_dump() for m in of_type(sent_to(engine, person), AGREEMENT_ANSWER)]


def answer_message(person: Identity, body: dict[str, Any]) -> Message:
    return message(person, AGREEMENT_ANSWER, body)


def refused_code(book: Records, received: Message) -> tuple[RefusalCode, str]:
    with pytest.raises(ProtocolError) as refused:
        book.receive(received)
    return refused.value.code, refused.value.detail


def test_an_accepted_proffer_makes_an_agreement_both_signed_and_kept(engine: Engine) -> None:
    """The vendor's answer completes the person's proffer into an agreement that verifies."""
    person = Identity.generate()
    book = records(engine)
    proffered = offer(person, terms("SD-BASE", "NoStalking", "mine-too"))
    carrier = request(person, proffered)
    book.receive(carrier)
    [answer] = of_type(sent_to(engine, person), AGREEMENT_ANSWER)
    assert answer.envelope.thid == carrier.id
    body = answer.body.model_dump()
    assert (body["answer"], body["terms_sha256"]) == ("accepted", proffered.terms.sha256())
    ours = countersigned(
        proffered, accepted_time=body["accepted_time"], signature=body["signature"]
    )
    ours.verify()  # what the person's agent keeps
    [held] = book.agreements(person.did)
    assert (held["state"], held["proffered_by"]) == ("active", "person")
    assert held["name"] == "SD-BASE + NoStalking + mine-too"
    kept = Agreement.model_validate(held["document"])
    kept.verify()
    assert kept == ours
    book.receive(update(person, "email.home", 1, "ann@example.org"))  # now data may flow
    assert book.customer(person.did)["fields"] == {"email.home": "ann@example.org"}


def test_a_proffer_changed_after_signing_is_refused(engine: Engine) -> None:
    """Terms swapped under the person's signature: the request is refused, nothing is kept."""
    person = Identity.generate()
    signed = offer(person, terms("SD-BASE", "NoStalking"))
    tampered = signed.model_copy(update={"terms": terms("PDC-AI", "NoStalking")})
    book = records(engine)
    code, detail = refused_code(book, request(person, tampered))
    assert code == RefusalCode.INVALID_BODY
    assert "do not match the hash" in detail
    assert book.customers() == []


@pytest.mark.parametrize(
    ("whose", "detail"),
    [("another vendor", "another vendor"), ("another person", "names another person")],
)
def test_a_proffer_not_the_sender_s_own_to_this_vendor_is_refused(
    engine: Engine, whose: str, detail: str
) -> None:
    """A proffer signed for another vendor, or by someone else, does not bind this one."""
    person, stranger = Identity.generate(), Identity.generate()
    if whose == "another vendor":
        proffered = offer(person, vendor=Identity.generate().did)
    else:
        proffered = offer(stranger)
    code, said = refused_code(records(engine), request(person, proffered))
    assert code == RefusalCode.INVALID_BODY
    assert detail in said


def test_the_alternative_is_signed_by_the_vendor_and_the_person_s_acceptance_makes_it_hold(
    engine: Engine,
) -> None:
    """Terms not accepted get the vendor's one alternative; countersigned, it is in force."""
    person = Identity.generate()
    book = records(engine, WITH_ALTERNATIVE)
    proffered = offer(person, terms("PDC-AI", "NoStalking", "mine-too"))
    book.receive(request(person, proffered))
    [body] = answers(engine, person)
    assert (body["answer"], body["terms_sha256"]) == ("alternative", proffered.terms.sha256())
    alternative = proffered.model_validate(body["alternative"])
    alternative.verify()  # signed by the vendor
    assert alternative.statement.proffered_by == "vendor"
    assert alternative.statement.vendor == VENDOR.did
    assert alternative.terms.ids() == ["SD-BASE", "NoStalking"]  # kept what it accepts
    assert [row["state"] for row in book.agreements(person.did)] == ["alternative", "proffered"]
    with pytest.raises(ProtocolError) as early:
        book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert early.value.code == RefusalCode.NO_AGREEMENT

    agreed = accept(alternative, person, now=int(time.time()))
    acceptance = {
        "terms_sha256": alternative.statement.terms_sha256,
        "answer": "accepted",
        "accepted_time": agreed.accepted_time,
        "signature": agreed.signatures["person"],
    }
    book.receive(answer_message(person, acceptance))
    book.receive(answer_message(person, acceptance))  # sent again: nothing changes
    [_, held] = book.agreements(person.did)
    assert held["state"] == "active"
    Agreement.model_validate(held["document"]).verify()
    book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert book.customer(person.did)["fields"] == {"email.home": "ann@example.org"}


def test_the_person_rejecting_the_alternative_leaves_no_agreement(engine: Engine) -> None:
    """Rejected, the alternative is kept as rejected and data is still refused."""
    person = Identity.generate()
    book = records(engine, WITH_ALTERNATIVE)
    book.receive(request(person, offer(person, terms("PDC-GOOD"))))
    [body] = answers(engine, person)
    sha = body["alternative"]["statement"]["terms_sha256"]
    book.receive(answer_message(person, {"terms_sha256": sha, "answer": "rejected"}))
    assert [row["state"] for row in book.agreements(person.did)] == ["alternative", "rejected"]
    with pytest.raises(ProtocolError) as refused:
        book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert refused.value.code == RefusalCode.NO_AGREEMENT


def test_answers_to_no_alternative_or_with_a_wrong_signature_are_refused(engine: Engine) -> None:
    """An answer must name the vendor's alternative, and its signature must make the agreement."""
    person = Identity.generate()
    book = records(engine, WITH_ALTERNATIVE)
    book.receive(request(person, offer(person, terms("PDC-AI"))))
    [body] = answers(engine, person)
    alternative = offer(person).model_validate(body["alternative"])
    unknown = {"terms_sha256": "0" * 64, "answer": "rejected"}
    assert refused_code(book, answer_message(person, unknown)) == (
        RefusalCode.INVALID_BODY,
        "no proffer with this hash",
    )
    now = int(time.time())
    by_a_stranger = sign_detached(
        alternative.statement.acceptance_payload(now), Identity.generate()
    )
    code, detail = refused_code(
        book,
        answer_message(
            person,
            {
                "terms_sha256": alternative.statement.terms_sha256,
                "answer": "accepted",
                "accepted_time": now,
                "signature": by_a_stranger,
            },
        ),
    )
    assert code == RefusalCode.INVALID_BODY
    assert "signature" in detail
    assert [row["state"] for row in book.agreements(person.did)] == ["alternative", "proffered"]


def test_terms_not_accepted_without_an_alternative_are_rejected_saying_what_is(
    engine: Engine,
) -> None:
    """The rejection lists what the vendor accepts; the relationship stands without data."""
    person = Identity.generate()
    book = records(engine, STRICT)
    book.receive(request(person, offer(person, terms("SD-BASE", "mine-too"))))
    [body] = answers(engine, person)
    assert body["answer"] == "rejected"
    assert "SD-BASE" in body["reason"]
    assert [row["state"] for row in book.agreements(person.did)] == ["rejected"]
    assert book.customer(person.did)["state"] == "accepted"
    with pytest.raises(ProtocolError) as refused:
        book.receive(update(person, "email.home", 1, "ann@example.org"))
    assert refused.value.code == RefusalCode.NO_AGREEMENT


def test_a_known_id_with_other_words_is_not_accepted(engine: Engine) -> None:
    """SD-BASE reworded by the person is not the SD-BASE the vendor accepts."""
    person = Identity.generate()
    original = library().agreement("SD-BASE")
    reworded = original.model_copy(update={"text": ("You may sell my data.",)})
    proffered = offer(person, Terms(agreement=reworded, additional=()))
    book = records(engine)
    book.receive(request(person, proffered))
    [body] = answers(engine, person)
    assert body["answer"] == "rejected"


def test_a_request_without_terms_relates_but_no_data_is_taken(engine: Engine) -> None:
    """No proffer: the relationship is answered as before; profile updates get no_agreement."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person, bare=True))
    assert [m.type for m in sent_to(engine, person)] == [RELATIONSHIP_STATE]
    assert book.agreements(person.did) == []
    code, detail = refused_code(book, update(person, "email.home", 1, "ann@example.org"))
    assert code == RefusalCode.NO_AGREEMENT
    assert "no agreement is in force" in detail


def test_new_terms_in_the_relationship_supersede_the_agreement(engine: Engine) -> None:
    """An accepted agreement.proffer replaces the one in force, which is kept as superseded."""
    person = Identity.generate()
    book = records(engine)
    book.receive(request(person))
    newer = offer(person, terms("SD-BASE-DP", "delete-on-end"))
    carrier = proffer_message(person, newer)
    book.receive(carrier)
    [_, second] = of_type(sent_to(engine, person), AGREEMENT_ANSWER)
    assert second.envelope.thid == carrier.id
    assert second.body.model_dump()["answer"] == "accepted"
    assert [(a["name"], a["state"]) for a in book.agreements(person.did)] == [
        ("SD-BASE", "superseded"),
        ("SD-BASE-DP + delete-on-end", "active"),
    ]


def test_manual_terms_wait_for_the_vendor_who_decides_once(engine: Engine) -> None:
    """Manual terms: the proffer waits; the vendor accepts or offers another, and only once."""
    person, other = Identity.generate(), Identity.generate()
    book = records(engine, VendorTermsPolicy(manual=True))
    proffered = offer(person, terms("PDC-INTENT"))
    carrier = request(person, proffered)
    book.receive(carrier)
    book.receive(request(other, offer(other)))
    assert answers(engine, person) == []
    pending = book.pending_agreements()
    assert [p["customer"] for p in pending] == [person.did, other.did]
    sha = proffered.terms.sha256()
    decided = book.decide_agreement(person.did, sha, Answer.ACCEPTED)
    assert decided["state"] == "active"
    [answer] = of_type(sent_to(engine, person), AGREEMENT_ANSWER)
    assert answer.envelope.thid == carrier.id
    assert answer.body.model_dump()["answer"] == "accepted"
    with pytest.raises(NotPending):
        book.decide_agreement(person.did, sha, Answer.REJECTED)
    with pytest.raises(UnknownProffer):
        book.decide_agreement(person.did, "f" * 64, Answer.ACCEPTED)
    offered = book.decide_agreement(
        other.did, offer(other).terms.sha256(), Answer.ALTERNATIVE, alternative="sd-base-dp"
    )
    assert offered["state"] == "alternative"
    [body] = answers(engine, other)
    assert body["alternative"]["terms"]["agreement"]["id"] == "SD-BASE-DP"
    assert book.pending_agreements() == []


def test_terms_are_answered_when_a_held_relationship_is_approved(engine: Engine) -> None:
    """A request held for approval gets its agreement answer right after the acceptance."""
    person, refused = Identity.generate(), Identity.generate()
    book = records(engine, policy=Policy(PolicyMode.MANUAL))
    book.receive(request(person))
    book.receive(request(refused))
    assert sent_to(engine, person) == []
    book.approve(person.did)
    assert [m.type for m in sent_to(engine, person)] == [RELATIONSHIP_STATE, AGREEMENT_ANSWER]
    book.refuse(refused.did)
    assert [m.type for m in sent_to(engine, refused)] == [RELATIONSHIP_STATE]
    assert [row["state"] for row in book.agreements(refused.did)] == ["rejected"]


def test_a_late_acceptance_of_a_withdrawn_alternative_is_refused(engine: Engine) -> None:
    """The person proffered again instead of answering: accepting the old alternative is
    refused, so the person's agent does not take as agreed what the vendor no longer offers."""
    person = Identity.generate()
    book = records(engine, WITH_ALTERNATIVE)
    book.receive(request(person, offer(person, terms("PDC-AI"))))
    [body] = answers(engine, person)
    alternative = offer(person).model_validate(body["alternative"])
    book.receive(proffer_message(person, offer(person, terms("SD-BASE"))))
    agreed = accept(alternative, person, now=int(time.time()))
    late = {
        "terms_sha256": alternative.statement.terms_sha256,
        "answer": "accepted",
        "accepted_time": agreed.accepted_time,
        "signature": agreed.signatures["person"],
    }
    assert refused_code(book, answer_message(person, late))[0] == RefusalCode.INVALID_BODY
    assert [(a["name"], a["state"]) for a in book.agreements(person.did)] == [
        ("PDC-AI", "alternative"),
        ("SD-BASE", "superseded"),
        ("SD-BASE", "active"),
    ]
    countering = {"terms_sha256": alternative.statement.terms_sha256, "answer": "alternative"}
    countering["alternative"] = offer(person).model_dump(mode="json", exclude_none=True)
    assert refused_code(book, answer_message(person, countering))[0] == RefusalCode.INVALID_BODY
