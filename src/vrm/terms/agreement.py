"""Agreements: terms both parties signed, which either can verify offline at any time.

The terms are hashed as their RFC 8785 canonical JSON (SHA-256, hex). One party
proffers: it signs a *statement* naming that hash, both DIDs, who proffered and
when. The other accepts: it signs the same statement plus the time it accepted.
Each signature is a compact JWS with a detached payload (RFC 7515 appendix F), the
payload being the canonical JSON of what was signed. Changing one character of the
terms, a DID or a time afterwards breaks the hash or a signature.
Specification: docs/terms.md and docs/protocol.md section 7.6.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, model_validator

from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.envelope import Did
from vrm.protocol.errors import ProtocolError
from vrm.protocol.jws import decode_header, sign_compact
from vrm.protocol.keys import Identity
from vrm.terms.canonical import canonical_json
from vrm.terms.library import Term
from vrm.terms.obligations import Obligations

STATEMENT_TYPE: Literal["vrm/agreement/1"] = "vrm/agreement/1"
SIGNATURE_TYP = "vrm-agreement+jws"
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Party = Literal["person", "vendor"]
Time = Annotated[int, Strict(), Field(ge=0, lt=2**53)]
DetachedJws = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]{86}$")]


class AgreementInvalid(ValueError):
    """An agreement, proffer or acceptance does not hold; the message says why."""


class Terms(BaseModel):
    """What is agreed: one roster agreement and the person's additional terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agreement: Term
    additional: Annotated[tuple[Term, ...], Field(max_length=16)]

    @model_validator(mode="after")
    def _kinds(self) -> Terms:
        if self.agreement.kind != "agreement":
            raise ValueError("terms start from one agreement of the roster")
        if any(term.kind != "term" for term in self.additional):
            raise ValueError("additional terms are terms, not agreements")
        ids = [term.id.casefold() for term in self.additional]
        if len(ids) != len(set(ids)):
            raise ValueError("an additional term appears twice")
        return self

    def canonical(self) -> bytes:
        """The RFC 8785 canonical JSON of the terms (null members left out)."""
        return canonical_json(self.model_dump(mode="json", exclude_none=True))

    def sha256(self) -> str:
        """The hash agreements are signed over."""
        return hashlib.sha256(self.canonical()).hexdigest()

    def obligations(self) -> Obligations:
        """The agreement's obligations with every additional term applied."""
        combined = self.agreement.obligations
        for term in self.additional:
            combined = combined.combined(term.obligations)
        return combined

    @property
    def name(self) -> str:
        """``SD-BASE + NoStalking + delete-on-end``: for people."""
        return " + ".join([self.agreement.id, *(term.id for term in self.additional)])

    def ids(self) -> list[str]:
        """The agreement's id then the additional terms' ids."""
        return [self.agreement.id, *(term.id for term in self.additional)]


class Statement(BaseModel):
    """What both parties sign: the terms' hash, both DIDs, who proffered them and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["vrm/agreement/1"] = STATEMENT_TYPE
    terms_sha256: Sha256Hex
    person: Did
    vendor: Did
    proffered_by: Party
    proffered_time: Time

    def signer(self, party: Party) -> str:
        """The DID of ``party``."""
        return self.person if party == "person" else self.vendor

    @property
    def accepting_party(self) -> Party:
        """The party that did not proffer."""
        return "vendor" if self.proffered_by == "person" else "person"

    def proffer_payload(self) -> bytes:
        """What the proffering party signs."""
        return canonical_json(self.model_dump(mode="json"))

    def acceptance_payload(self, accepted_time: int) -> bytes:
        """What the accepting party signs: the statement and the time it accepted."""
        return canonical_json({**self.model_dump(mode="json"), "accepted_time": accepted_time})


class Proffer(BaseModel):
    """Terms one party offers and has signed; the other accepts, counters or rejects them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: Terms
    statement: Statement
    signature: DetachedJws

    def verify(self) -> None:
        """Check the hash and the proffering party's signature.

        Raises:
            AgreementInvalid: the terms were changed after signing, or the
                signature is not the proffering party's.
        """
        if self.terms.sha256() != self.statement.terms_sha256:
            raise AgreementInvalid("the terms do not match the hash that was signed")
        by = self.statement.proffered_by
        check_detached(
            self.signature, self.statement.proffer_payload(), self.statement.signer(by), by
        )


class Agreement(BaseModel):
    """Terms signed by both parties: what each side keeps and can show later."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: Terms
    statement: Statement
    accepted_time: Time
    signatures: dict[Party, DetachedJws]

    @property
    def proffer(self) -> Proffer:
        """The proffer this agreement accepted."""
        by = self.statement.proffered_by
        return Proffer(terms=self.terms, statement=self.statement, signature=self.signatures[by])

    def verify(self) -> None:
        """Check the terms' hash and both signatures, offline.

        Raises:
            AgreementInvalid: with the first problem found.
        """
        missing = {"person", "vendor"} - set(self.signatures)
        if missing:
            names = " and ".join(sorted(missing))
            raise AgreementInvalid(
                f"the {names} signature{'s are' if len(missing) > 1 else ' is'} missing"
            )
        if self.accepted_time < self.statement.proffered_time:
            raise AgreementInvalid("accepted before it was proffered")
        self.proffer.verify()
        accepting = self.statement.accepting_party
        check_detached(
            self.signatures[accepting],
            self.statement.acceptance_payload(self.accepted_time),
            self.statement.signer(accepting),
            accepting,
        )


def proffer(
    terms: Terms,
    identity: Identity,
    *,
    person: str,
    vendor: str,
    proffered_by: Party,
    now: int,
) -> Proffer:
    """Sign ``terms`` as ``identity`` (the ``proffered_by`` party) for the other to answer."""
    statement = Statement(
        terms_sha256=terms.sha256(),
        person=person,
        vendor=vendor,
        proffered_by=proffered_by,
        proffered_time=now,
    )
    if statement.signer(proffered_by) != identity.did:
        raise ValueError(f"the {proffered_by}'s DID is not the signing identity's")
    return Proffer(
        terms=terms,
        statement=statement,
        signature=sign_detached(statement.proffer_payload(), identity),
    )


def accept(offer: Proffer, identity: Identity, *, now: int) -> Agreement:
    """Verify ``offer`` and sign it as the other party: the agreement both keep.

    Raises:
        AgreementInvalid: the proffer does not verify, or is not addressed to ``identity``.
    """
    offer.verify()
    statement = offer.statement
    accepting = statement.accepting_party
    if statement.signer(accepting) != identity.did:
        raise AgreementInvalid(f"the proffer names another {accepting}")
    accepted_time = max(now, statement.proffered_time)
    signature = sign_detached(statement.acceptance_payload(accepted_time), identity)
    return Agreement(
        terms=offer.terms,
        statement=statement,
        accepted_time=accepted_time,
        signatures={statement.proffered_by: offer.signature, accepting: signature},
    )


def countersigned(offer: Proffer, *, accepted_time: int, signature: str) -> Agreement:
    """The agreement made when the other party accepted ``offer`` with ``signature``.

    Raises:
        AgreementInvalid: the signature is not the accepting party's over this offer.
    """
    accepting = offer.statement.accepting_party
    try:
        agreement = Agreement(
            terms=offer.terms,
            statement=offer.statement,
            accepted_time=accepted_time,
            signatures={offer.statement.proffered_by: offer.signature, accepting: signature},
        )
    except ValidationError as exc:
        raise AgreementInvalid(f"the {accepting}'s acceptance is malformed") from exc
    agreement.verify()
    return agreement


def sign_detached(payload: bytes, identity: Identity) -> str:
    """A compact JWS over ``payload`` with the payload segment left empty."""
    header, _payload, signature = sign_compact(payload, identity, typ=SIGNATURE_TYP).split(".")
    return f"{header}..{signature}"


def check_detached(token: str, payload: bytes, did: str, party: str) -> None:
    """Check that ``token`` is ``did``'s signature over ``payload``.

    Raises:
        AgreementInvalid: naming ``party`` when it is not.
    """
    header_b64, _empty, signature_b64 = token.split(".")
    try:
        header: dict[str, Any] = decode_header(header_b64)
        signer = did_from_kid(header["kid"])
        key = VerifyKey(ed25519_from_did(did))
    except ProtocolError as exc:
        raise AgreementInvalid(f"the {party}'s signature: {exc.detail}") from exc
    if signer != did:
        raise AgreementInvalid(f"the {party}'s signature is by another key")
    signing_input = f"{header_b64}.{b64url_encode(payload)}".encode("ascii")
    try:
        key.verify(signing_input, b64url_decode(signature_b64))
    except (BadSignatureError, ValueError) as exc:
        raise AgreementInvalid(f"the {party}'s signature does not verify") from exc
