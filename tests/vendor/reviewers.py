"""A person's reviews for the vendor tests: written, signed by a reviewer DID, put in a feed."""

from __future__ import annotations

import json
import uuid
from typing import Any

from vrm.protocol import Identity, Review, SignedReview, sign_review, verify_review
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.v1.licences import licence
from vrm.protocol.v1.review_feed import feed_document


def written(
    reviewer: Identity,
    review_id: str | None = None,
    *,
    stars: int = 4,
    body: str = "Boils a litre in two minutes without a whistle.",
    licence_key: str = "cc-by-nc",
    reserved: bool = True,
    modified: str | None = None,
) -> Review:
    """A review of a kettle by ``reviewer`` (a new id unless one is given)."""
    document: dict[str, Any] = {
        "@context": ["https://schema.org", {"tdm": "http://www.w3.org/ns/tdmrep#"}],
        "@type": "Review",
        "@id": review_id or f"urn:uuid:{uuid.uuid4()}",
        "itemReviewed": {"@type": "Product", "name": "Blue kettle"},
        "reviewRating": {"ratingValue": stars},
        "name": "Quick and quiet",
        "reviewBody": body,
        "datePublished": "2026-03-01T09:30:00Z",
        "author": {"@id": reviewer.did, "name": "Kestrel"},
        "license": licence(licence_key).url,
        "tdm:reservation": int(reserved),
    }
    if modified is not None:
        document["dateModified"] = modified
    return Review.model_validate_json(json.dumps(document))


def signed(reviewer: Identity, review: Review | None = None, **changes: Any) -> SignedReview:
    """``review`` (or a new one written with ``changes``) signed by ``reviewer``, verified."""
    return verify_review(sign_review(review or written(reviewer, **changes), reviewer))


def feed(reviewer: Identity, *reviews: SignedReview) -> dict[str, Any]:
    """``reviewer``'s feed listing ``reviews``."""
    return feed_document(reviewer.did, list(reviews), updated=1772357400)


def tampered(token: str) -> str:
    """``token`` with its payload changed (five stars): its signature no longer verifies."""
    header, payload, signature = token.split(".")
    document = json.loads(b64url_decode(payload))
    document["reviewRating"]["ratingValue"] = 5
    return ".".join([header, b64url_encode(json.dumps(document).encode()), signature])
