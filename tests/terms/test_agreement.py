"""Agreements: proffered, accepted, kept by both, and caught when changed afterwards."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from typing import Any

import pytest
import rfc8785
from pydantic import ValidationError

from vrm.protocol import Identity
from vrm.terms import (
    Agreement,
    AgreementInvalid,
    Proffer,
    Terms,
    accept,
    countersigned,
    library,
    proffer,
)
from vrm.terms.agreement import sign_detached

PERSON = Identity.from_seed(b"\x01" * 32)
VENDOR = Identity.from_seed(b"\x02" * 32)
STRANGER = Identity.from_seed(b"\x03" * 32)
PROFFERED = 1_767_225_600  # 2026-01-01T00:00:00Z
ACCEPTED = PROFFERED + 60
HASH_MISMATCH = "the terms do not match the hash that was signed"


def sd_base_no_stalking() -> Terms:
    return Terms(
        agreement=library().agreement("SD-BASE"), additional=(library().term("NoStalking"),)
    )


def person_offer(terms: Terms | None = None) -> Proffer:
    return proffer(
        terms or sd_base_no_stalking(),
        PERSON,
        person=PERSON.did,
        vendor=VENDOR.did,
        proffered_by="person",
        now=PROFFERED,
    )


def signed() -> Agreement:
    return accept(person_offer(), VENDOR, now=ACCEPTED)


def changed(agreement: Agreement, path: tuple[str | int, ...], value: Any) -> Agreement:
    """The agreement with the member at ``path`` of its JSON set to ``value``."""
    data = agreement.model_dump(mode="json")
    *parents, last = path
    node: Any = data
    for step in parents:
        node = node[step]
    node[last] = value
    return Agreement.model_validate(data)


def shipped_entries() -> dict[str, Any]:
    """library.json's entries by id, read as plain JSON (not through the models)."""
    text = resources.files("vrm.terms").joinpath("library.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    return {entry["id"]: entry for entry in (*raw["agreements"], *raw["terms"])}


def reversed_keys(value: Any) -> Any:
    """``value`` with every object's members in reverse order."""
    if isinstance(value, dict):
        return {key: reversed_keys(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [reversed_keys(item) for item in value]
    return value


def test_proffered_terms_accepted_by_the_vendor_verify() -> None:
    """The person proffers, the vendor accepts: both signatures and the hash verify."""
    agreement = signed()

    agreement.verify()
    assert agreement.terms == sd_base_no_stalking()
    assert agreement.statement.person == PERSON.did
    assert agreement.statement.vendor == VENDOR.did
    assert agreement.statement.proffered_time == PROFFERED
    assert agreement.accepted_time == ACCEPTED
    assert set(agreement.signatures) == {"person", "vendor"}


def test_terms_proffered_by_the_vendor_and_accepted_by_the_person_verify() -> None:
    """The roles can be the other way round: the vendor proffers, the person accepts."""
    offer = proffer(
        sd_base_no_stalking(),
        VENDOR,
        person=PERSON.did,
        vendor=VENDOR.did,
        proffered_by="vendor",
        now=PROFFERED,
    )

    agreement = accept(offer, PERSON, now=ACCEPTED)

    agreement.verify()
    assert agreement.statement.accepting_party == "person"


def test_acceptance_is_never_dated_before_the_proffer() -> None:
    """An accepting clock behind the proffering one dates acceptance at the proffer."""
    agreement = accept(person_offer(), VENDOR, now=PROFFERED - 5)

    assert agreement.accepted_time == PROFFERED
    agreement.verify()


def test_an_agreement_survives_json_and_still_verifies() -> None:
    """What either side stores as JSON reads back equal, and verifies offline."""
    agreement = signed()

    restored = Agreement.model_validate_json(agreement.model_dump_json())

    assert restored == agreement
    restored.verify()


def test_a_proffer_survives_json_and_still_verifies() -> None:
    """A proffer sent as JSON verifies at the other end."""
    offer = person_offer()

    Proffer.model_validate_json(offer.model_dump_json()).verify()


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        pytest.param(
            ("terms", "agreement", "text", 0),
            "You may sell my data.",
            HASH_MISMATCH,
            id="a term's text",
        ),
        pytest.param(
            ("terms", "additional", 0, "obligations", "tracking"),
            "any",
            HASH_MISMATCH,
            id="an obligation",
        ),
        pytest.param(
            ("terms", "agreement", "version"),
            "2",
            HASH_MISMATCH,
            id="a term's version",
        ),
        pytest.param(
            ("statement", "person"),
            STRANGER.did,
            "the person's signature is by another key",
            id="the person's DID",
        ),
        pytest.param(
            ("statement", "vendor"),
            STRANGER.did,
            "the person's signature does not verify",
            id="the vendor's DID",
        ),
        pytest.param(
            ("accepted_time",),
            ACCEPTED + 1,
            "the vendor's signature does not verify",
            id="accepted_time",
        ),
        pytest.param(
            ("statement", "proffered_time"),
            PROFFERED + 1,
            "the person's signature does not verify",
            id="proffered_time",
        ),
        pytest.param(
            ("statement", "proffered_time"),
            ACCEPTED + 1,
            "accepted before it was proffered",
            id="proffered after accepted",
        ),
        pytest.param(
            ("statement", "proffered_by"),
            "vendor",
            "the vendor's signature does not verify",
            id="who proffered",
        ),
    ],
)
def test_a_change_after_signing_is_caught(
    path: tuple[str | int, ...], value: Any, problem: str
) -> None:
    """Changing a term, a DID, a time or a role after signing fails verification, saying why."""
    tampered = changed(signed(), path, value)

    with pytest.raises(AgreementInvalid, match=problem):
        tampered.verify()


def test_changed_terms_with_a_matching_new_hash_break_the_signature() -> None:
    """Rehashing changed terms does not help: the hash is what the person signed."""
    agreement = signed()
    terms = Terms(agreement=library().agreement("PDC-AI"), additional=())
    rehashed = changed(
        changed(agreement, ("terms",), terms.model_dump(mode="json")),
        ("statement", "terms_sha256"),
        terms.sha256(),
    )

    with pytest.raises(AgreementInvalid, match="the person's signature does not verify"):
        rehashed.verify()


def test_swapped_signatures_are_caught() -> None:
    """Each signature must be in its own party's place."""
    agreement = signed()
    swapped = changed(
        agreement,
        ("signatures",),
        {"person": agreement.signatures["vendor"], "vendor": agreement.signatures["person"]},
    )

    with pytest.raises(AgreementInvalid, match="the person's signature is by another key"):
        swapped.verify()


def test_a_signature_by_a_third_key_is_caught() -> None:
    """Someone else signing what the vendor should have signed is not the vendor accepting."""
    agreement = signed()
    payload = agreement.statement.acceptance_payload(ACCEPTED)
    forged = changed(agreement, ("signatures", "vendor"), sign_detached(payload, STRANGER))

    with pytest.raises(AgreementInvalid, match="the vendor's signature is by another key"):
        forged.verify()


def test_a_third_key_signing_under_the_vendors_header_is_caught() -> None:
    """Claiming the vendor's key in the header does not make another key's signature valid."""
    agreement = signed()
    vendor_header = agreement.signatures["vendor"].split(".")[0]
    stranger_signature = sign_detached(
        agreement.statement.acceptance_payload(ACCEPTED), STRANGER
    ).split(".")[2]
    forged = changed(agreement, ("signatures", "vendor"), f"{vendor_header}..{stranger_signature}")

    with pytest.raises(AgreementInvalid, match="the vendor's signature does not verify"):
        forged.verify()


@pytest.mark.parametrize("party", ["person", "vendor"])
def test_a_missing_signature_is_caught(party: str) -> None:
    """An agreement signed by one party only is not an agreement."""
    agreement = signed()
    signatures = {p: s for p, s in agreement.signatures.items() if p != party}

    with pytest.raises(AgreementInvalid, match=f"the {party} signature is missing"):
        changed(agreement, ("signatures",), signatures).verify()


def test_accept_refuses_a_proffer_addressed_to_another_vendor() -> None:
    """A vendor cannot accept terms the person proffered to someone else."""
    with pytest.raises(AgreementInvalid, match="the proffer names another vendor"):
        accept(person_offer(), STRANGER, now=ACCEPTED)


def test_accept_refuses_a_proffer_whose_terms_were_changed() -> None:
    """The accepting party checks the proffer before signing it."""
    offer = person_offer()
    data = offer.model_dump(mode="json")
    data["terms"]["agreement"]["obligations"]["resale"] = "allowed"

    with pytest.raises(AgreementInvalid, match=HASH_MISMATCH):
        accept(Proffer.model_validate(data), VENDOR, now=ACCEPTED)


def test_proffer_refuses_to_sign_for_another_party() -> None:
    """The proffering identity must be the party it says it proffers as."""
    with pytest.raises(ValueError, match="the person's DID is not the signing identity's"):
        proffer(
            sd_base_no_stalking(),
            STRANGER,
            person=PERSON.did,
            vendor=VENDOR.did,
            proffered_by="person",
            now=PROFFERED,
        )


def test_countersigned_makes_the_same_agreement_as_accept() -> None:
    """The proffering side rebuilds, from the returned signature, the agreement the other kept."""
    agreement = signed()

    rebuilt = countersigned(
        person_offer(), accepted_time=ACCEPTED, signature=agreement.signatures["vendor"]
    )

    assert rebuilt == agreement


@pytest.mark.parametrize(
    ("accepted_time", "signer"),
    [
        pytest.param(ACCEPTED, STRANGER, id="another key"),
        pytest.param(ACCEPTED + 1, VENDOR, id="another time"),
    ],
)
def test_countersigned_refuses_a_bad_signature(accepted_time: int, signer: Identity) -> None:
    """A returned signature that is not the vendor's over this proffer makes no agreement."""
    offer = person_offer()
    signature = sign_detached(offer.statement.acceptance_payload(ACCEPTED), signer)

    with pytest.raises(AgreementInvalid, match="the vendor's signature"):
        countersigned(offer, accepted_time=accepted_time, signature=signature)


def test_terms_hash_is_sha256_of_rfc8785_json() -> None:
    """Anyone can recompute the hash from library.json with any RFC 8785 implementation."""
    entries = shipped_entries()
    document = {"agreement": entries["SD-BASE"], "additional": [entries["NoStalking"]]}

    expected = hashlib.sha256(rfc8785.dumps(document)).hexdigest()

    assert sd_base_no_stalking().sha256() == expected
    assert person_offer().statement.terms_sha256 == expected


def test_terms_hash_does_not_depend_on_key_order() -> None:
    """Terms read from JSON with members in another order hash the same."""
    terms = sd_base_no_stalking()
    reordered = json.dumps(reversed_keys(terms.model_dump(mode="json")), indent=3)

    assert Terms.model_validate_json(reordered).sha256() == terms.sha256()


def test_terms_hash_leaves_out_null_members() -> None:
    """A term without a source hashes without a "source" member, not with a null."""
    entry = {k: v for k, v in shipped_entries()["SD-BASE"].items() if k != "source"}
    terms = Terms.model_validate({"agreement": entry, "additional": []})

    assert b"null" not in terms.canonical()
    assert (
        terms.sha256()
        == hashlib.sha256(rfc8785.dumps({"agreement": entry, "additional": []})).hexdigest()
    )


def test_terms_refuse_an_additional_term_twice() -> None:
    """The same additional term cannot be listed twice, in any letter case."""
    no_stalking = library().term("NoStalking")
    shouted = no_stalking.model_copy(update={"id": "NOSTALKING"})

    with pytest.raises(ValidationError, match="an additional term appears twice"):
        Terms(agreement=library().agreement("SD-BASE"), additional=(no_stalking, shouted))


def test_terms_refuse_an_agreement_among_the_additional_terms() -> None:
    """Terms are one roster agreement; a second agreement cannot ride as an additional term."""
    with pytest.raises(ValidationError, match="additional terms are terms, not agreements"):
        Terms(
            agreement=library().agreement("SD-BASE"),
            additional=(library().agreement("SD-BASE-DP"),),
        )


def test_terms_refuse_an_additional_term_as_the_agreement() -> None:
    """Terms start from a roster agreement, not from an additional term."""
    with pytest.raises(ValidationError, match="terms start from one agreement of the roster"):
        Terms(agreement=library().term("NoStalking"), additional=())
