"""Portable reviews: a person's schema.org ``Review``, signed, under a licence they chose.

A review is a JSON-LD document (schema.org ``Review``) signed as a compact JWS of
its own — ``typ`` ``vrm-review+jws`` — by the person's reviewer DID: one did:key
for all their reviews, apart from every relationship's, named again as the
author's ``@id``. Anyone can verify it offline from that DID alone, whoever passes
it on. Its ``license`` is one of :data:`~vrm.protocol.v1.licences.LICENCES`; its
``tdm:reservation`` (W3C TDMRep) says whether text and data mining, AI training
included, is reserved. An edit is a new version: the same ``@id``, a later
``dateModified``.

Two message types carry reviews over a relationship, from the person's pairwise
DID to the vendor: ``review`` (the signed review, which the vendor keeps as it
came) and ``review.withdraw`` (the person takes it back: the vendor stops using it
and deletes its text). Reviews published for anyone are served in a feed
(:mod:`vrm.protocol.v1.review_feed`).
Specification: docs/protocol.md, section 7.11.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, get_args

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.envelope import Did
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.jws import decode_header, sign_compact, split_compact
from vrm.protocol.keys import Identity
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.licences import LICENCE_URLS, TDMREP, licence
from vrm.protocol.v1.message_types import Body, HttpUrl, v1_types

REVIEW = "vrm/1/review"
REVIEW_WITHDRAW = "vrm/1/review.withdraw"
REVIEW_TYP = "vrm-review+jws"
"""The ``typ`` of a signed review: never taken for a message, nor a message for a review."""
SCHEMA_ORG: Final = "https://schema.org"
MAX_SIGNED_REVIEW = 32 * 1024
"""The longest signed review taken, in characters (a 5,000-character review is well inside)."""

ReviewId = Annotated[
    str,
    Field(pattern=r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
"""A review's ``@id``: a UUID URN, the same for every version."""
DateTime = Annotated[
    str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
]
"""An ISO 8601 date and time in UTC, to the second: ``2026-03-01T09:30:00Z``."""
Language = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,4}$", max_length=35)]
"""A BCP 47 language tag: ``en``, ``fr-CA``."""
ItemType = Literal[
    "Product",
    "Service",
    "Organization",
    "LocalBusiness",
    "Place",
    "Event",
    "Book",
    "Movie",
    "MusicRecording",
    "CreativeWork",
    "SoftwareApplication",
]
"""The schema.org types a review's ``itemReviewed`` may have."""
ITEM_TYPES: tuple[str, ...] = get_args(ItemType)
LicenceUrl = Literal[
    "https://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-nc-sa/4.0/",
    "https://creativecommons.org/licenses/by-nd/4.0/",
    "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
]
"""The canonical URL of a licence of :data:`~vrm.protocol.v1.licences.LICENCES`."""
if get_args(LicenceUrl) != LICENCE_URLS:  # pragma: no cover - a check on the module itself
    raise RuntimeError("LicenceUrl must list the URLs of LICENCES, in order")


class Document(BaseModel):
    """Base of the JSON-LD objects: exact JSON types, no other members, ``@`` names."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class TdmContext(Document):
    """The context entry that names the TDMRep vocabulary ``tdm``."""

    tdm: Literal["http://www.w3.org/ns/tdmrep#"]


CONTEXT = (SCHEMA_ORG, TdmContext(tdm=TDMREP))
"""A review's ``@context``."""


class ReviewedItem(Document):
    """schema.org ``Thing`` reviewed: its type, its name, where to find it."""

    type: ItemType = Field(alias="@type")
    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: HttpUrl | None = None


class Rating(Document):
    """schema.org ``Rating``: stars from 1 to 5."""

    type: Literal["Rating"] = Field("Rating", alias="@type")
    ratingValue: Annotated[int, Field(ge=1, le=5)]
    bestRating: Literal[5] = 5
    worstRating: Literal[1] = 1


class Author(Document):
    """schema.org ``Person``: the name the person signs with (a pseudonym is fine), and the DID."""

    type: Literal["Person"] = Field("Person", alias="@type")
    id: Did = Field(alias="@id")
    """The reviewer DID that signs the review."""
    name: Annotated[str, Field(min_length=1, max_length=100)]


class Review(Document):
    """schema.org ``Review``, with its licence and whether text and data mining is reserved."""

    context: tuple[Literal["https://schema.org"], TdmContext] = Field(alias="@context")
    """schema.org's vocabulary, and TDMRep's under the prefix ``tdm``."""
    type: Literal["Review"] = Field(alias="@type")
    id: ReviewId = Field(alias="@id")
    itemReviewed: ReviewedItem
    reviewRating: Rating
    name: Annotated[str, Field(min_length=1, max_length=200)]
    """The review's title."""
    reviewBody: Annotated[str, Field(min_length=1, max_length=5000)]
    datePublished: DateTime
    dateModified: DateTime | None = None
    """When this version was written, for every version after the first."""
    inLanguage: Language | None = None
    author: Author
    license: LicenceUrl
    tdm_reservation: Literal[0, 1] = Field(alias="tdm:reservation")
    """``1``: text and data mining (AI training included) is reserved (W3C TDMRep)."""

    @model_validator(mode="after")
    def _times_and_reservation(self) -> Review:
        published = parse_time(self.datePublished, "datePublished")
        modified = self.dateModified
        if modified is not None and parse_time(modified, "dateModified") < published:
            raise ValueError("dateModified is before datePublished")
        if self.tdm_reservation and not licence(self.license).reservable:
            raise ValueError(
                "CC0 waives every right, reserving text and data mining too: "
                "choose another licence to reserve it"
            )
        return self

    @property
    def version(self) -> str:
        """When this version was written: ``dateModified``, else ``datePublished``."""
        return self.dateModified or self.datePublished

    @property
    def reserved(self) -> bool:
        """True when text and data mining, AI training included, is reserved."""
        return self.tdm_reservation == 1

    def as_json(self) -> dict[str, Any]:
        """The document as signed: JSON-LD names, absent members left out."""
        document: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return document


def parse_time(value: str, where: str) -> dt.datetime:
    """A :data:`DateTime` as a UTC datetime; ValueError naming ``where`` when it is no time."""
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise ValueError(f"{where} {value} is not a time of the calendar") from None


def time_text(epoch: float) -> str:
    """An epoch time as a review writes it (UTC, to the second)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SignedReview:
    """A review whose signature verified: the document, who signed it, and the JWS."""

    review: Review
    reviewer: str
    """The reviewer DID (the JWS ``kid``'s, and the author's ``@id``)."""
    signed: str
    """The compact JWS, as anyone can check it again."""


def sign_review(review: Review, identity: Identity) -> str:
    """The review signed by the reviewer ``identity`` (compact JWS, ``typ`` vrm-review+jws).

    Raises:
        ValueError: the author's ``@id`` is not the identity's DID.
    """
    if review.author.id != identity.did:
        raise ValueError("a review is signed by the DID its author's @id names")
    payload = json.dumps(review.as_json(), ensure_ascii=False, separators=(",", ":"))
    return sign_compact(payload.encode("utf-8"), identity, typ=REVIEW_TYP)


def verify_review(token: str, *, reviewer: str | None = None) -> SignedReview:
    """Verify a signed review offline, from the did:key in its ``kid``.

    With ``reviewer``, the review must also be signed by that DID (a feed's reviewer).

    Raises:
        ProtocolError: ``malformed`` (not a compact JWS of a review), ``unsupported_algorithm``,
            ``unresolvable_key`` (the kid is not a did:key), ``bad_signature``,
            ``invalid_body`` (not a valid Review), ``sender_mismatch`` (signed by
            another key than its author's, or than ``reviewer``).
    """
    if len(token) > MAX_SIGNED_REVIEW:
        raise ProtocolError(RefusalCode.OVERSIZE, f"a signed review is at most {MAX_SIGNED_REVIEW}")
    parts = split_compact(token)
    header = decode_header(parts.header_b64)
    if header.get("typ") != REVIEW_TYP:
        raise ProtocolError(RefusalCode.MALFORMED, f"not a signed review (typ is not {REVIEW_TYP})")
    signer = did_from_kid(header["kid"])
    try:
        VerifyKey(ed25519_from_did(signer)).verify(parts.signing_input, parts.signature)
    except BadSignatureError as exc:
        raise ProtocolError(
            RefusalCode.BAD_SIGNATURE, "the review's signature does not verify"
        ) from exc
    try:
        review = Review.model_validate_json(b64url_decode(parts.payload_b64))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        raise ProtocolError(RefusalCode.INVALID_BODY, f"review {where}: {error['msg']}") from exc
    if review.author.id != signer:
        raise ProtocolError(
            RefusalCode.SENDER_MISMATCH, "the review is signed by another key than its author's"
        )
    if reviewer is not None and signer != reviewer:
        raise ProtocolError(RefusalCode.SENDER_MISMATCH, "the review is not signed by the reviewer")
    return SignedReview(review=review, reviewer=signer, signed=token)


class ReviewMessage(Body):
    """A review the person sends a vendor, signed by their reviewer DID; the vendor keeps it.

    ``review`` is the signed review (compact JWS); one that does not verify is ``invalid_body``.
    """

    review: Annotated[str, Field(max_length=MAX_SIGNED_REVIEW)]

    @model_validator(mode="after")
    def _review_verifies(self) -> ReviewMessage:
        try:
            verify_review(self.review)
        except ProtocolError as exc:
            raise ValueError(f"review: {exc.detail}") from None
        return self

    def signed(self) -> SignedReview:
        """The review, verified."""
        return verify_review(self.review)


class ReviewWithdraw(Body):
    """The person withdraws a review they sent: the vendor stops using it, deletes its text."""

    review: ReviewId
    """The review's ``@id``."""


def review_types() -> MessageTypes:
    """The v1 types plus those of reviews, as a vendor takes them from people."""
    types = v1_types()
    types.add(REVIEW, ReviewMessage)
    types.add(REVIEW_WITHDRAW, ReviewWithdraw)
    return types
