"""Showing a membership at a checkout, and the checkout's offline verification.

The person's agent makes a presentation: the vendor's credential and a holder's
proof, a short JWS signed by the key of the credential's subject (the person's
pairwise DID) over ``{iss, aud, iat, nonce, vc_hash}`` — the holder, the vendor that
may accept it, when it was made, a random value, and the SHA-256 of the credential.
Its claims follow SD-JWT's key-binding JWT (``typ`` ``kb+jwt``). As text::

    VRM1.<credential JWS>~<proof JWS>

which a QR code carries (the whole is at most :data:`MAX_PRESENTATION_CHARS`).

The vendor verifies it with nothing but its own DID, its list of revoked and
replaced credentials, and the proofs it has seen: its own signature on the
credential, the dates, the proof signed by the subject, naming this vendor, made
within :data:`PROOF_LIFETIME` seconds (:data:`CLOCK_SKEW` allowed either way), and
never seen before. A photographed code is useless two minutes later; a credential
copied from someone else cannot be shown without their key.
Specification: docs/protocol.md, section 7.12.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from vrm.protocol.did import ed25519_from_did
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.errors import ProtocolError
from vrm.protocol.jws import ALG, split_compact
from vrm.protocol.keys import Identity
from vrm.protocol.replay import SeenIds
from vrm.protocol.v1.memberships import (
    MembershipCredential,
    MembershipRefusal,
    MembershipRefused,
    SignedCredential,
    read_membership,
)

PREFIX = "VRM1."
SEPARATOR = "~"
PROOF_TYP = "kb+jwt"
PROOF_LIFETIME = 120
"""Seconds a holder's proof is accepted after it was made: the page makes a new one sooner."""
CLOCK_SKEW = 30
"""Seconds the phone's clock and the checkout's may differ, either way."""
MAX_PRESENTATION_CHARS = 1_600
"""The longest presentation: a QR code of version 33 at error correction M, or smaller."""
_PROOF_HEADER = b64url_encode(
    json.dumps({"alg": ALG, "typ": PROOF_TYP}, separators=(",", ":")).encode()
)
_CLAIMS = frozenset({"iss", "aud", "iat", "nonce", "vc_hash"})
_NONCE_BYTES = 12


class CredentialStanding(StrEnum):
    """What the issuer's own lists say of a credential it signed."""

    GOOD = "good"
    """Current, or on none of its lists."""
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    """A newer credential with the same id replaced this one."""


StandingOf = Callable[[str, str], CredentialStanding]
"""The issuer's look-up: credential id and digest → its standing."""


@dataclass(frozen=True)
class MembershipPresentation:
    """A presentation's text (what the QR code carries) and when its proof runs out."""

    text: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True)
class VerifiedMembership:
    """A presentation that passed every check: the credential, and who held it."""

    credential: MembershipCredential
    digest: str
    holder: str
    presented_at: int


def present_membership(
    credential: str,
    holder: Identity,
    *,
    audience: str,
    now: float,
    nonce: str | None = None,
) -> MembershipPresentation:
    """The credential with a fresh proof that ``holder`` holds it, for ``audience`` to read.

    Raises:
        MembershipRefused: the credential does not verify.
        ValueError: ``holder`` is not the credential's subject.
    """
    signed = read_membership(credential)
    if signed.credential.credentialSubject.id != holder.did:
        raise ValueError("only the credential's subject can show it")
    issued = int(now)
    claims = {
        "iss": holder.did,
        "aud": audience,
        "iat": issued,
        "nonce": nonce or secrets.token_urlsafe(_NONCE_BYTES),
        "vc_hash": signed.digest,
    }
    payload = json.dumps(claims, separators=(",", ":")).encode()
    proof = _sign_proof(payload, holder)
    return MembershipPresentation(
        PREFIX + credential + SEPARATOR + proof, issued, issued + PROOF_LIFETIME
    )


def verify_membership(
    text: str,
    *,
    verifier: str,
    now: float,
    standing: StandingOf,
    seen: SeenIds,
) -> VerifiedMembership:
    """Verify a scanned presentation offline, as the vendor ``verifier`` (its DID).

    The proof's nonce is remembered (in ``seen``) only once every other check passed.

    Raises:
        MembershipRefused: with the first reason it fails, in this order: malformed,
            tampered, another_vendor, wrong_holder, wrong_audience, stale,
            not_yet_valid, expired, revoked, superseded, replayed.
    """
    credential_text, proof_text = _split(text.strip())
    signed = read_membership(credential_text)
    credential = signed.credential
    if credential.issuer != verifier:
        raise MembershipRefused(
            MembershipRefusal.ANOTHER_VENDOR, "the credential was issued by another vendor"
        )
    claims = _proof_claims(proof_text, subject=credential.credentialSubject.id)
    if claims["vc_hash"] != signed.digest:
        raise MembershipRefused(
            MembershipRefusal.TAMPERED, "the holder's proof is for another credential"
        )
    if claims["aud"] != verifier:
        raise MembershipRefused(
            MembershipRefusal.WRONG_AUDIENCE, "the holder's proof was made for another vendor"
        )
    issued: int = claims["iat"]
    if issued > now + CLOCK_SKEW:
        raise MembershipRefused(MembershipRefusal.STALE, "the holder's proof is from the future")
    if now > issued + PROOF_LIFETIME + CLOCK_SKEW:
        raise MembershipRefused(
            MembershipRefusal.STALE, f"the holder's proof is older than {PROOF_LIFETIME} s"
        )
    _check_dates(signed, now)
    found = standing(credential.id, signed.digest)
    if found != CredentialStanding.GOOD:
        detail = {
            CredentialStanding.REVOKED: "the vendor revoked this membership",
            CredentialStanding.SUPERSEDED: "a newer credential replaced this one",
        }[found]
        raise MembershipRefused(MembershipRefusal(found.value), detail)
    forget_after = issued + PROOF_LIFETIME + 2 * CLOCK_SKEW
    if not seen.remember(f"{claims['iss']} {claims['nonce']}", forget_after):
        raise MembershipRefused(MembershipRefusal.REPLAYED, "this code was shown before")
    return VerifiedMembership(credential, signed.digest, claims["iss"], issued)


def _split(text: str) -> tuple[str, str]:
    if len(text) > MAX_PRESENTATION_CHARS:
        raise MembershipRefused(
            MembershipRefusal.MALFORMED, f"longer than {MAX_PRESENTATION_CHARS} characters"
        )
    if not text.startswith(PREFIX):
        raise MembershipRefused(MembershipRefusal.MALFORMED, f"not a membership code ({PREFIX}…)")
    parts = text[len(PREFIX) :].split(SEPARATOR)
    if len(parts) != 2:
        raise MembershipRefused(
            MembershipRefusal.MALFORMED, "a membership code is a credential and a proof"
        )
    return parts[0], parts[1]


def _sign_proof(payload: bytes, holder: Identity) -> str:
    """A compact JWS whose header names no key: the payload's ``iss`` does.

    The same Ed25519 signature as :func:`vrm.protocol.jws.sign_compact`; leaving the
    ``kid`` out of the header keeps the QR code a version smaller.
    """
    signing_input = _PROOF_HEADER + "." + b64url_encode(payload)
    return signing_input + "." + b64url_encode(holder.sign(signing_input.encode("ascii")))


def _proof_claims(token: str, *, subject: str) -> dict[str, Any]:
    """The proof's claims, once its signature verifies under the key its ``iss`` names.

    Raises:
        MembershipRefused: malformed or tampered; ``wrong_holder`` when a valid proof
            was signed by someone other than the credential's subject.
    """
    try:
        parts = split_compact(token)
        header = json.loads(b64url_decode(parts.header_b64))
        claims = json.loads(b64url_decode(parts.payload_b64))
    except (ProtocolError, ValueError):
        raise MembershipRefused(
            MembershipRefusal.TAMPERED, "the holder's proof does not decode"
        ) from None
    if header != {"alg": ALG, "typ": PROOF_TYP} or not _well_formed(claims):
        raise MembershipRefused(MembershipRefusal.TAMPERED, "the holder's proof is not one")
    try:
        VerifyKey(ed25519_from_did(claims["iss"])).verify(parts.signing_input, parts.signature)
    except (ProtocolError, BadSignatureError, ValueError):
        raise MembershipRefused(
            MembershipRefusal.TAMPERED, "the holder's proof's signature does not verify"
        ) from None
    if claims["iss"] != subject:
        raise MembershipRefused(
            MembershipRefusal.WRONG_HOLDER, "the code was made by someone other than the member"
        )
    return dict(claims)


def _well_formed(claims: Any) -> bool:
    return (
        isinstance(claims, dict)
        and set(claims) == _CLAIMS
        and all(isinstance(claims[name], str) for name in ("iss", "aud", "nonce", "vc_hash"))
        and type(claims["iat"]) is int
        and 8 <= len(claims["nonce"]) <= 64
    )


def _check_dates(signed: SignedCredential, now: float) -> None:
    credential = signed.credential
    # The till's clock may be a little behind the one that issued the credential.
    if now + CLOCK_SKEW < credential.valid_from():
        raise MembershipRefused(
            MembershipRefusal.NOT_YET_VALID, f"the membership starts at {credential.validFrom}"
        )
    until = credential.valid_until()
    if until is not None and now >= until:
        raise MembershipRefused(
            MembershipRefusal.EXPIRED, f"the membership ended at {credential.validUntil}"
        )
