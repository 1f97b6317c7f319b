"""Membership credentials: a vendor's signed statement that a person is a member.

A vendor issues a credential to the person's pairwise DID: a compact JWS (Ed25519,
``typ`` ``vc+jwt``, ``kid`` the vendor's key) whose payload is a W3C Verifiable
Credential (Data Model 2.0): the program, the tier, its benefits, since when the
person is a member, and until when the credential holds. The subject's properties
take schema.org's ``ProgramMembership`` names (``programName``,
``membershipNumber``, ``hostingOrganization``) where one fits.

It travels in a ``membership`` message over an accepted relationship; a newer
credential with the same ``id`` replaces the older (a change of tier), and
``membership.revoke`` ends it. The person shows it at a checkout with a proof of
holding it (:mod:`vrm.protocol.v1.membership_presentations`).
Specification: docs/protocol.md, section 7.12.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.errors import ProtocolError
from vrm.protocol.jws import decode_header, sign_compact, split_compact
from vrm.protocol.keys import Identity
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.message_types import Body, ShortText, v1_types

MEMBERSHIP = "vrm/1/membership"
MEMBERSHIP_REVOKE = "vrm/1/membership.revoke"
CREDENTIAL_TYP = "vc+jwt"
"""The JWS ``typ`` of a credential (VC-JOSE-COSE: a Verifiable Credential secured as a JWT)."""
CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"
SCHEMA_ORG = "https://schema.org/"
CREDENTIAL_CONTEXT = (CONTEXT_V2, SCHEMA_ORG)
CREDENTIAL_TYPE = ("VerifiableCredential", "MembershipCredential")
MAX_BENEFITS = 8
MAX_CREDENTIAL_CHARS = 1_150
"""The longest credential (compact JWS) issued.

With the holder's proof (445 characters) a presentation stays within 1,600: a QR
code of version 33 at error correction M. A gold tier with two benefits, a member
number and an end date comes to about 1,500 (version 32).
"""

DidKey = Annotated[str, Field(pattern=r"^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$")]
CredentialId = Annotated[
    str, Field(pattern=r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
Timestamp = Annotated[
    str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
]
"""An XML Schema ``dateTimeStamp`` in UTC to the second: ``2026-11-24T10:00:00Z``."""
Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
Label = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^\S(.*\S)?$")]
Benefit = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^\S(.*\S)?$")]
ProgramName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^\S(.*\S)?$")]
MemberNumber = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$")]


class MembershipRefusal(StrEnum):
    """Why a credential or its presentation is refused. The values never change."""

    MALFORMED = "malformed"
    TAMPERED = "tampered"
    ANOTHER_VENDOR = "another_vendor"
    WRONG_HOLDER = "wrong_holder"
    WRONG_AUDIENCE = "wrong_audience"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    STALE = "stale"
    REPLAYED = "replayed"


class MembershipRefused(ValueError):
    """A credential or presentation that does not hold, with the reason."""

    def __init__(self, reason: MembershipRefusal, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


class HostingOrganization(Body):
    """schema.org ``Organization``: who runs the program, by name."""

    type: Literal["Organization"] = "Organization"
    name: ProgramName


class MemberSubject(Body):
    """The member: the person's pairwise DID, and their membership's terms."""

    id: DidKey
    programName: ProgramName
    tier: Label
    benefits: list[Benefit] = Field(default_factory=list, max_length=MAX_BENEFITS)
    memberSince: Day
    membershipNumber: MemberNumber | None = None
    hostingOrganization: HostingOrganization | None = None

    @field_validator("memberSince")
    @classmethod
    def _a_day(cls, value: str) -> str:
        dt.date.fromisoformat(value)  # ValueError: not a day of the calendar
        return value


class MembershipCredential(Body):
    """A W3C Verifiable Credential (Data Model 2.0) of one membership."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)

    context: tuple[
        Literal["https://www.w3.org/ns/credentials/v2"], Literal["https://schema.org/"]
    ] = Field(alias="@context")
    type: tuple[Literal["VerifiableCredential"], Literal["MembershipCredential"]]
    id: CredentialId
    issuer: DidKey
    validFrom: Timestamp
    validUntil: Timestamp | None = None
    credentialSubject: MemberSubject

    @field_validator("validFrom", "validUntil")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        if value is not None:
            _epoch(value)  # ValueError: not a time of the calendar
        return value

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> MembershipCredential:
        until = self.valid_until()
        if until is not None and until <= self.valid_from():
            raise ValueError("validUntil must be after validFrom")
        return self

    def valid_from(self) -> int:
        """``validFrom`` in Unix seconds."""
        return _epoch(self.validFrom)

    def valid_until(self) -> int | None:
        """``validUntil`` in Unix seconds, or None when the credential holds until revoked."""
        return None if self.validUntil is None else _epoch(self.validUntil)


@dataclass(frozen=True)
class SignedCredential:
    """A credential whose issuer's signature verified, with the JWS it came in."""

    token: str
    credential: MembershipCredential

    @property
    def digest(self) -> str:
        """The SHA-256 of the compact JWS, base64url: what a holder's proof names."""
        return credential_digest(self.token)


class Membership(Body):
    """``vrm/1/membership``: the vendor gives the person a credential (new, or replacing)."""

    credential: Annotated[str, Field(max_length=MAX_CREDENTIAL_CHARS)]

    @field_validator("credential")
    @classmethod
    def _signed(cls, value: str) -> str:
        read_membership(value)
        return value

    def signed(self) -> SignedCredential:
        """The credential, verified again."""
        return read_membership(self.credential)


class MembershipRevoke(Body):
    """``vrm/1/membership.revoke``: the vendor ends a membership it issued."""

    credential: CredentialId
    reason: ShortText | None = None


def issue_membership(
    issuer: Identity,
    *,
    subject: str,
    program: str,
    tier: str,
    member_since: dt.date,
    benefits: list[str] | None = None,
    valid_from: int,
    valid_until: int | None = None,
    credential_id: str | None = None,
    membership_number: str | None = None,
    host: str | None = None,
) -> SignedCredential:
    """Sign a membership credential for ``subject`` (the person's pairwise DID).

    ``credential_id`` is kept when the vendor re-issues (a change of tier); a new
    ``urn:uuid`` otherwise.

    Raises:
        ValueError: a value the credential does not take, or a credential too long
            for a QR code (fewer or shorter benefits, a shorter name).
    """
    document = {
        "@context": CREDENTIAL_CONTEXT,
        "type": CREDENTIAL_TYPE,
        "id": credential_id or uuid.uuid4().urn,
        "issuer": issuer.did,
        "validFrom": timestamp(valid_from),
        "validUntil": None if valid_until is None else timestamp(valid_until),
        "credentialSubject": {
            "id": subject,
            "programName": program,
            "tier": tier,
            "benefits": list(benefits or []),
            "memberSince": member_since.isoformat(),
            "membershipNumber": membership_number,
            "hostingOrganization": None if host is None else {"name": host},
        },
    }
    try:
        credential = MembershipCredential.model_validate(document)
    except ValidationError as exc:
        raise ValueError(_first_error(exc)) from None
    payload = credential.model_dump_json(by_alias=True, exclude_none=True).encode()
    token = sign_compact(payload, issuer, typ=CREDENTIAL_TYP)
    if len(token) > MAX_CREDENTIAL_CHARS:
        raise ValueError(
            f"the credential would be {len(token)} characters, more than a QR code at a "
            f"checkout reads well ({MAX_CREDENTIAL_CHARS}): fewer or shorter benefits"
        )
    return SignedCredential(token, credential)


def read_membership(token: str) -> SignedCredential:
    """Verify a credential's signature and shape; it is signed by its issuer's own key.

    Raises:
        MembershipRefused: ``malformed`` when it is no compact JWS at all; ``tampered``
            when a part does not decode, the signature does not verify, or the
            signer is not the issuer it names.
    """
    header, payload = verified_jws(token, what="credential")
    if header.get("typ") != CREDENTIAL_TYP:
        raise MembershipRefused(MembershipRefusal.TAMPERED, "the credential's typ is not vc+jwt")
    signer = did_from_kid(header["kid"])
    try:
        credential = MembershipCredential.model_validate_json(payload)
    except ValidationError as exc:
        raise MembershipRefused(MembershipRefusal.MALFORMED, _first_error(exc)) from None
    if credential.issuer != signer:
        raise MembershipRefused(
            MembershipRefusal.TAMPERED, "the credential is not signed by the issuer it names"
        )
    return SignedCredential(token, credential)


def verified_jws(token: str, *, what: str) -> tuple[dict[str, Any], bytes]:
    """The header and payload of a compact JWS whose signature verifies under its ``kid``.

    Raises:
        MembershipRefused: ``malformed`` for no compact JWS; ``tampered`` otherwise.
    """
    try:
        parts = split_compact(token)
    except ProtocolError as exc:
        raise MembershipRefused(MembershipRefusal.MALFORMED, f"the {what}: {exc.detail}") from None
    try:
        header = decode_header(parts.header_b64)
        key = VerifyKey(ed25519_from_did(did_from_kid(header["kid"])))
        key.verify(parts.signing_input, parts.signature)
        return header, b64url_decode(parts.payload_b64)
    except (ProtocolError, BadSignatureError, ValueError):
        raise MembershipRefused(
            MembershipRefusal.TAMPERED, f"the {what}'s signature does not verify"
        ) from None


def credential_digest(token: str) -> str:
    """SHA-256 of a credential's compact JWS (its ASCII text), base64url without padding."""
    return b64url_encode(hashlib.sha256(token.encode("ascii")).digest())


def timestamp(epoch: float) -> str:
    """Unix seconds as a credential writes times: ``2026-11-24T10:00:00Z``."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def membership_types() -> MessageTypes:
    """The v1 types plus the membership and its revocation, as a person's agent takes them."""
    types = v1_types()
    types.add(MEMBERSHIP, Membership)
    types.add(MEMBERSHIP_REVOKE, MembershipRevoke)
    return types


def _epoch(text: str) -> int:
    return int(dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC).timestamp())


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])
