"""Membership credentials, the code shown at a checkout, and its offline verification."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
import segno

from vrm.protocol import (
    MEMBERSHIP,
    CredentialStanding,
    Identity,
    MembershipRefusal,
    MembershipRefused,
    MemorySeenIds,
    ProtocolError,
    RefusalCode,
    SignedCredential,
    VerifiedMembership,
    Verifier,
    compose,
    issue_membership,
    membership_types,
    present_membership,
    read_membership,
    verify_membership,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.v1.membership_presentations import (
    CLOCK_SKEW,
    MAX_PRESENTATION_CHARS,
    PROOF_LIFETIME,
)
from vrm.protocol.v1.memberships import MAX_BENEFITS

GROCER = Identity.from_seed(bytes(range(32)))
BAKER = Identity.from_seed(bytes(range(2, 34)))
PERSON = Identity.from_seed(bytes(range(1, 33)))
STRANGER = Identity.from_seed(bytes(range(3, 35)))
NOW = 1_795_000_000
YEAR = 365 * 24 * 3600


def gold(
    member: Identity = PERSON, issuer: Identity = GROCER, **changes: object
) -> SignedCredential:
    """A year's gold membership of the grocer's club, with two benefits and a number."""
    values: dict[str, object] = {
        "subject": member.did,
        "program": "Corner Grocer Club",
        "tier": "gold",
        "member_since": dt.date(2024, 3, 1),
        "benefits": ["10% off fresh bread", "free delivery over 30 GBP"],
        "valid_from": NOW - 60,
        "valid_until": NOW + YEAR,
        "membership_number": "CG-000123",
    }
    values.update(changes)
    return issue_membership(issuer, **values)  # type: ignore[arg-type]


def good(_credential_id: str, _digest: str) -> CredentialStanding:
    return CredentialStanding.GOOD


def check(
    text: str,
    *,
    now: float = NOW,
    verifier: Identity = GROCER,
    standing: Callable[[str, str], CredentialStanding] = good,
    seen: MemorySeenIds | None = None,
) -> VerifiedMembership:
    """Verify ``text`` at ``verifier``'s checkout, as of ``now``."""
    return verify_membership(
        text,
        verifier=verifier.did,
        now=now,
        standing=standing,
        seen=seen if seen is not None else MemorySeenIds(lambda: now),
    )


def refused(text: str, **options: object) -> MembershipRefusal:
    """The reason ``text`` is refused (the test fails if it is accepted)."""
    with pytest.raises(MembershipRefused) as caught:
        check(text, **options)  # type: ignore[arg-type]
    return caught.value.reason


def changed(token: str, index: int) -> str:
    """``token`` with the base64url character at ``index`` replaced by another."""
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def test_a_credential_is_a_signed_verifiable_credential_of_the_membership() -> None:
    """The payload is a VC 2.0 document from the vendor's DID to the person's pairwise DID."""
    signed = read_membership(gold().token)
    credential = signed.credential
    assert credential.context == ("https://www.w3.org/ns/credentials/v2", "https://schema.org/")
    assert credential.type == ("VerifiableCredential", "MembershipCredential")
    assert credential.id.startswith("urn:uuid:")
    assert credential.issuer == GROCER.did
    assert credential.validFrom == "2026-11-18T11:05:40Z"
    subject = credential.credentialSubject
    assert (subject.id, subject.tier, subject.memberSince) == (PERSON.did, "gold", "2024-03-01")
    assert subject.benefits == ["10% off fresh bread", "free delivery over 30 GBP"]
    assert (subject.programName, subject.membershipNumber) == ("Corner Grocer Club", "CG-000123")
    header = signed.token.split(".")[0]
    assert header.startswith("eyJhbGciOiJFZDI1NTE5Ii")  # {"alg":"Ed25519", …


def test_a_credential_issued_again_keeps_its_id() -> None:
    """Re-issuing with the same id (a new tier) makes a different credential of the same id."""
    first = gold()
    silver = gold(tier="silver", credential_id=first.credential.id)
    assert silver.credential.id == first.credential.id
    assert silver.digest != first.digest


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"tier": " gold"}, "tier"),
        ({"benefits": ["x" * 121]}, "benefits"),
        ({"benefits": ["free coffee"] * (MAX_BENEFITS + 1)}, "benefits"),
        ({"valid_until": NOW - 3600}, "validUntil must be after validFrom"),
        ({"subject": "did:web:example.com"}, "credentialSubject.id"),
        ({"benefits": ["a generous benefit, described at length"] * 5}, "QR code"),
    ],
)
def test_a_credential_that_would_not_hold_or_not_fit_a_qr_code_is_not_issued(
    changes: dict[str, object], words: str
) -> None:
    """Blank edges, too many or too long benefits, an end before the start: a clear error."""
    with pytest.raises(ValueError, match=words):
        gold(**changes)


def test_a_fresh_presentation_verifies_at_the_issuer_s_checkout() -> None:
    """The checkout learns the tier, benefits and membership, and who showed it."""
    credential = gold()
    shown = present_membership(credential.token, PERSON, audience=GROCER.did, now=NOW)
    assert shown.expires_at == NOW + PROOF_LIFETIME
    verified = check(shown.text, now=NOW + 5)
    assert verified.credential == credential.credential
    assert (verified.holder, verified.digest) == (PERSON.did, credential.digest)


def test_a_presentation_fits_a_qr_code_a_phone_shows() -> None:
    """A typical membership is within 1,500 characters (QR version 32); the longest, 1,600."""
    typical = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW).text
    assert len(typical) <= 1_500
    assert segno.make(typical, error="m").version <= 32
    longest = _longest_issued()
    text = present_membership(longest.token, PERSON, audience=GROCER.did, now=NOW).text
    assert MAX_PRESENTATION_CHARS - 10 < len(text) <= MAX_PRESENTATION_CHARS
    assert segno.make(text, error="m").version <= 33


def test_any_byte_changed_in_the_credential_is_tampering() -> None:
    """A changed character in the credential's header, payload or signature: ``tampered``."""
    credential = gold()
    header, payload, _ = credential.token.split(".")
    shown = present_membership(credential.token, PERSON, audience=GROCER.did, now=NOW).text
    start = len("VRM1.")
    for index in (start + 10, start + len(header) + 40, start + len(header) + len(payload) + 30):
        assert refused(changed(shown, index)) == MembershipRefusal.TAMPERED


def test_any_byte_changed_in_the_holder_s_proof_is_tampering() -> None:
    """A changed character in the proof's header, claims or signature: ``tampered``."""
    shown = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW).text
    proof = shown.split("~")[1]
    start = shown.index("~") + 1
    for offset in (5, 80, len(proof) - 20):
        assert refused(changed(shown, start + offset)) == MembershipRefusal.TAMPERED


def test_another_vendor_s_credential_is_refused() -> None:
    """The baker's genuine credential, shown to the grocer: ``another_vendor``."""
    bakers = gold(issuer=BAKER)
    shown = present_membership(bakers.token, PERSON, audience=GROCER.did, now=NOW).text
    assert refused(shown) == MembershipRefusal.ANOTHER_VENDOR
    made_for_baker = present_membership(bakers.token, PERSON, audience=BAKER.did, now=NOW).text
    assert check(made_for_baker, verifier=BAKER).holder == PERSON.did


def test_someone_else_s_credential_shown_with_one_s_own_key_is_refused() -> None:
    """A copied credential with a proof signed by the copier: ``wrong_holder``."""
    copied = gold().token
    with pytest.raises(ValueError, match="subject"):
        present_membership(copied, STRANGER, audience=GROCER.did, now=NOW)
    forged = _proof_for(copied, STRANGER)
    assert refused("VRM1." + copied + "~" + forged) == MembershipRefusal.WRONG_HOLDER
    own = present_membership(gold(member=STRANGER).token, STRANGER, audience=GROCER.did, now=NOW)
    own_proof = own.text.split("~")[1]
    assert refused("VRM1." + copied + "~" + own_proof) == MembershipRefusal.WRONG_HOLDER


def test_a_proof_of_another_of_one_s_credentials_is_refused() -> None:
    """The member's proof for their other credential, put beside this one: ``tampered``."""
    gold_card, silver_card = gold(), gold(tier="silver")
    shown = present_membership(silver_card.token, PERSON, audience=GROCER.did, now=NOW).text
    moved = "VRM1." + gold_card.token + "~" + shown.split("~")[1]
    assert refused(moved) == MembershipRefusal.TAMPERED


def test_a_proof_made_for_another_vendor_is_refused() -> None:
    """A proof naming the baker as audience, shown to the grocer: ``wrong_audience``."""
    shown = present_membership(gold().token, PERSON, audience=BAKER.did, now=NOW).text
    assert refused(shown) == MembershipRefusal.WRONG_AUDIENCE


def test_a_credential_outside_its_dates_is_refused() -> None:
    """Before ``validFrom`` (30 s allowed): ``not_yet_valid``; from ``validUntil``: ``expired``."""
    later = gold(valid_from=NOW + CLOCK_SKEW + 1, valid_until=NOW + YEAR)
    shown = present_membership(later.token, PERSON, audience=GROCER.did, now=NOW).text
    assert refused(shown) == MembershipRefusal.NOT_YET_VALID
    assert check(shown, now=NOW + 1).holder == PERSON.did  # the till's clock a little behind
    ended = gold(valid_from=NOW - YEAR, valid_until=NOW - 10)
    shown = present_membership(ended.token, PERSON, audience=GROCER.did, now=NOW).text
    assert refused(shown) == MembershipRefusal.EXPIRED


def test_a_revoked_or_replaced_credential_is_refused_and_its_code_stays_usable() -> None:
    """The vendor's own lists say revoked or superseded; a refusal does not use up the code."""
    credential = gold()
    shown = present_membership(credential.token, PERSON, audience=GROCER.did, now=NOW).text
    seen = MemorySeenIds(lambda: NOW)
    for standing in (CredentialStanding.REVOKED, CredentialStanding.SUPERSEDED):
        reason = refused(shown, standing=lambda _id, _digest, s=standing: s, seen=seen)
        assert reason == MembershipRefusal(standing.value)
    assert check(shown, seen=seen).holder == PERSON.did


def test_a_proof_older_than_two_minutes_or_from_the_future_is_stale() -> None:
    """A photographed code is refused once the proof's lifetime and the skew have passed."""
    shown = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW).text
    assert check(shown, now=NOW + PROOF_LIFETIME + CLOCK_SKEW).holder == PERSON.did
    assert refused(shown, now=NOW + PROOF_LIFETIME + CLOCK_SKEW + 1) == MembershipRefusal.STALE
    ahead = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW + 60).text
    assert check(ahead, now=NOW + 60 - CLOCK_SKEW).holder == PERSON.did
    assert refused(ahead, now=NOW + 60 - CLOCK_SKEW - 1) == MembershipRefusal.STALE


def test_the_same_code_twice_is_a_replay() -> None:
    """Within its lifetime a code verifies once: the second scan is ``replayed``."""
    shown = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW).text
    seen = MemorySeenIds(lambda: NOW)
    check(shown, seen=seen)
    assert refused(shown, seen=seen, now=NOW + 1) == MembershipRefusal.REPLAYED
    again = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW + 2).text
    assert check(again, seen=seen, now=NOW + 2).holder == PERSON.did


@pytest.mark.parametrize(
    "text",
    ["", "hello", "VRM1.", "VRM1.a.b.c", "VRM1.x~y~z", "VRM2." + "a" * 40, "VRM1." + "a" * 1700],
)
def test_text_that_is_no_membership_code_is_malformed(text: str) -> None:
    """Not ``VRM1.<credential>~<proof>``, or too long to be one: ``malformed``."""
    assert refused(text) == MembershipRefusal.MALFORMED


def test_a_scanner_s_trailing_newline_is_no_problem() -> None:
    """Scanners type a return after the code: the text is read without the spaces around it."""
    shown = present_membership(gold().token, PERSON, audience=GROCER.did, now=NOW).text
    assert check(shown + "\r\n").holder == PERSON.did


def test_the_membership_message_carries_only_a_credential_that_verifies() -> None:
    """``vrm/1/membership`` with a changed credential is ``invalid_body`` at the inbox."""
    verifier = Verifier(receiver=PERSON.did, types=membership_types(), seen_ids=None)
    body = {"credential": gold().token}
    _, token = compose(GROCER, type=MEMBERSHIP, to=PERSON.did, body=body)
    assert verifier.verify(token).body.signed().credential.credentialSubject.tier == "gold"
    body = {"credential": changed(gold().token, 60)}
    _, token = compose(GROCER, type=MEMBERSHIP, to=PERSON.did, body=body)
    with pytest.raises(ProtocolError) as caught:
        verifier.verify(token)
    assert caught.value.code == RefusalCode.INVALID_BODY


def _proof_for(credential: str, signer: Identity) -> str:
    """A proof over ``credential`` signed by ``signer``, who is not its subject."""
    own = gold(member=signer)
    shown = present_membership(own.token, signer, audience=GROCER.did, now=NOW).text
    header, claims_b64, _ = shown.split("~")[1].split(".")
    claims = json.loads(b64url_decode(claims_b64))
    claims["vc_hash"] = read_membership(credential).digest
    signing_input = header + "." + b64url_encode(json.dumps(claims).encode())
    return signing_input + "." + b64url_encode(signer.sign(signing_input.encode()))


def _longest_issued() -> SignedCredential:
    """The credential with the longest benefit the issuer still signs."""
    issued = gold(benefits=[])
    for length in range(1, 121):
        try:
            issued = gold(benefits=["b" * length], host="Corner Grocer Ltd")
        except ValueError:
            break
    return issued
