"""A person's public review feed: the reviews they published, each as they signed it.

The person's agent serves it, read-only, to anyone (``GET /reviews``) once the
person turns it on. It is one JSON document: the reviewer DID, when it last
changed, and for each published review its ``@id``, the signed review (compact
JWS) and, for reading, the review decoded. A reader trusts only what verifies:
each entry's signature, by the feed's reviewer, over a review with the entry's id.
A review that left the feed was withdrawn or made private: a reader that took it
from the feed stops using it.
Specification: docs/protocol.md, section 7.11.4.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vrm.protocol.envelope import Did
from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.v1.reviews import (
    MAX_SIGNED_REVIEW,
    DateTime,
    ReviewId,
    SignedReview,
    time_text,
    verify_review,
)

FEED_TYPE = "vrm/1/reviews"
"""The feed document's ``type``."""
MAX_FEED_ENTRIES = 10_000


class FeedEntry(BaseModel):
    """One published review: its id, as signed, and decoded for reading (trust ``signed``)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    id: ReviewId
    signed: Annotated[str, Field(max_length=MAX_SIGNED_REVIEW)]
    review: dict[str, Any]


class ReviewFeed(BaseModel):
    """The feed document. Unknown members are ignored, so later versions can add some."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    type: Literal["vrm/1/reviews"]
    reviewer: Did
    """The DID every review of the feed is signed by."""
    updated: DateTime
    """When the feed last changed (a review published, edited, withdrawn or made private)."""
    reviews: Annotated[list[FeedEntry], Field(max_length=MAX_FEED_ENTRIES)]


@dataclass(frozen=True)
class RefusedEntry:
    """An entry of a feed that did not verify, and why."""

    index: int
    id: str | None
    code: str
    detail: str

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"index": self.index, "id": self.id, "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class ReadFeed:
    """A feed read: its reviewer, the reviews that verified, the entries refused."""

    reviewer: str
    updated: str
    reviews: list[SignedReview]
    refused: list[RefusedEntry]


def feed_document(reviewer: str, reviews: list[SignedReview], *, updated: float) -> dict[str, Any]:
    """The feed of ``reviewer``'s published ``reviews`` as served (JSON-ready)."""
    return {
        "type": FEED_TYPE,
        "reviewer": reviewer,
        "updated": time_text(updated),
        "reviews": [entry(review) for review in reviews],
    }


def entry(review: SignedReview) -> dict[str, Any]:
    """One review as a feed lists it (and as ``GET /reviews/{id}`` serves it)."""
    return {"id": review.review.id, "signed": review.signed, "review": review.review.as_json()}


def read_feed(body: bytes) -> ReadFeed:
    """Parse a fetched feed and verify each entry; those that do not verify are set apart.

    Raises:
        ProtocolError: ``malformed`` when the document is not a feed at all.
    """
    try:
        feed = ReviewFeed.model_validate_json(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        raise ProtocolError(
            RefusalCode.MALFORMED, f"not a review feed: {where}: {error['msg']}"
        ) from exc
    verified: list[SignedReview] = []
    refused: list[RefusedEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(feed.reviews):
        try:
            review = verify_review(item.signed, reviewer=feed.reviewer)
            if review.review.id != item.id:
                raise ProtocolError(RefusalCode.INVALID_BODY, "the entry's id is not the review's")
            if item.id in seen:
                raise ProtocolError(RefusalCode.INVALID_BODY, "the review is in the feed twice")
        except ProtocolError as exc:
            refused.append(RefusedEntry(index, item.id, exc.code.value, exc.detail))
            continue
        seen.add(item.id)
        verified.append(review)
    return ReadFeed(feed.reviewer, feed.updated, verified, refused)
