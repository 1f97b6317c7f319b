"""Signed reviews: a schema.org Review under a licence, verifiable offline from its reviewer DID."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from vrm.protocol import (
    LICENCES,
    REVIEW,
    Identity,
    ProtocolError,
    RefusalCode,
    Review,
    ReviewMessage,
    Verifier,
    compose,
    read_feed,
    review_types,
    sign_review,
    verify_review,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.protocol.jws import sign_compact
from vrm.protocol.v1.licences import licence
from vrm.protocol.v1.review_feed import feed_document
from vrm.protocol.v1.reviews import REVIEW_TYP, LicenceUrl, time_text

REVIEWER = Identity.from_seed(bytes(range(32)))
PAIRWISE = Identity.from_seed(bytes(range(1, 33)))
VENDOR = Identity.from_seed(bytes(range(2, 34)))
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"


def document(**changes: Any) -> dict[str, Any]:
    """A review of a kettle, four stars, under CC BY-NC with mining reserved."""
    body: dict[str, Any] = {
        "@context": ["https://schema.org", {"tdm": "http://www.w3.org/ns/tdmrep#"}],
        "@type": "Review",
        "@id": f"urn:uuid:{uuid.UUID(int=7)}",
        "itemReviewed": {
            "@type": "Product",
            "name": "Blue kettle",
            "url": "https://shop.example/k",
        },
        "reviewRating": {"@type": "Rating", "ratingValue": 4, "bestRating": 5, "worstRating": 1},
        "name": "Quick and quiet",
        "reviewBody": "Boils a litre in two minutes without a whistle.",
        "datePublished": "2026-03-01T09:30:00Z",
        "inLanguage": "en",
        "author": {"@type": "Person", "@id": REVIEWER.did, "name": "Kestrel"},
        "license": CC_BY_NC,
        "tdm:reservation": 1,
    }
    body.update(changes)
    return body


def review(**changes: Any) -> Review:
    return Review.model_validate_json(json.dumps(document(**changes)))


def refused(token: str, **options: Any) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        verify_review(token, **options)
    return caught.value


def test_a_signed_review_verifies_from_its_did_alone() -> None:
    """Anyone holding only the JWS gets the review back, its reviewer and its licence."""
    token = sign_review(review(), REVIEWER)
    checked = verify_review(token)
    assert checked.review == review()
    assert checked.reviewer == REVIEWER.did
    assert checked.review.license == CC_BY_NC
    assert checked.review.reserved
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": "Ed25519", "kid": REVIEWER.kid, "typ": REVIEW_TYP}
    assert json.loads(b64url_decode(token.split(".")[1])) == document()


def test_a_tampered_review_is_refused() -> None:
    """Five stars put in place of four: the signature no longer verifies."""
    header, payload, signature = sign_review(review(), REVIEWER).split(".")
    changed = json.loads(b64url_decode(payload))
    changed["reviewRating"]["ratingValue"] = 5
    forged = ".".join([header, b64url_encode(json.dumps(changed).encode()), signature])
    assert refused(forged).code == RefusalCode.BAD_SIGNATURE


def test_a_review_signed_by_another_key_than_its_authors_is_refused() -> None:
    """The kid names a key that is not the author's @id: sender_mismatch."""
    payload = json.dumps(review().as_json()).encode()
    token = sign_compact(payload, PAIRWISE, typ=REVIEW_TYP)
    assert refused(token).code == RefusalCode.SENDER_MISMATCH
    with pytest.raises(ValueError, match="author's @id"):
        sign_review(review(), PAIRWISE)


def test_a_kid_that_is_not_the_dids_own_key_is_refused() -> None:
    """A kid pairing one DID with another key's fragment does not resolve."""
    token = sign_review(review(), REVIEWER)
    header = json.loads(b64url_decode(token.split(".")[0]))
    header["kid"] = f"{REVIEWER.did}#{PAIRWISE.did.removeprefix('did:key:')}"
    mixed = b64url_encode(json.dumps(header).encode()) + token[token.index(".") :]
    assert refused(mixed).code == RefusalCode.UNRESOLVABLE_KEY


def test_a_review_from_another_reviewer_than_expected_is_refused() -> None:
    """A feed's entries must be signed by the feed's reviewer."""
    token = sign_review(review(), REVIEWER)
    assert refused(token, reviewer=PAIRWISE.did).code == RefusalCode.SENDER_MISMATCH
    assert verify_review(token, reviewer=REVIEWER.did).reviewer == REVIEWER.did


def test_a_signed_message_is_not_taken_for_a_review() -> None:
    """A vrm message (typ vrm+jws) carrying a review's members is refused as malformed."""
    token = sign_compact(json.dumps(document()).encode(), REVIEWER)
    assert refused(token).code == RefusalCode.MALFORMED
    assert refused("not.a.jws").code == RefusalCode.MALFORMED


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"reviewRating": {"ratingValue": 6}}, "less than or equal to 5"),
        ({"reviewRating": {"ratingValue": 0}}, "greater than or equal to 1"),
        ({"license": "https://example.com/my-licence"}, "Input should be"),
        ({"license": licence("cc0").url}, "CC0 waives every right"),
        ({"dateModified": "2026-02-01T00:00:00Z"}, "before datePublished"),
        ({"datePublished": "2026-02-30T09:00:00Z"}, "not a time of the calendar"),
        ({"@id": "review-1"}, "should match pattern"),
        ({"reviewBody": ""}, "at least 1 character"),
        ({"stars": 4}, "Extra inputs are not permitted"),
        ({"itemReviewed": {"@type": "Person", "name": "Bob"}}, "Input should be"),
    ],
)
def test_a_review_that_does_not_fit_is_refused(changes: dict[str, Any], problem: str) -> None:
    """Ratings 1 to 5, a licence of the list, CC0 without a reservation, times in order."""
    with pytest.raises(ValidationError) as caught:
        review(**changes)
    assert problem in str(caught.value)


def test_cc0_without_a_reservation_is_taken() -> None:
    """CC0 alone is a licence like any other."""
    assert review(license=licence("cc0").url, **{"tdm:reservation": 0}).reserved is False


def test_the_review_message_carries_a_review_that_verifies() -> None:
    """A vendor's verifier takes a review message; a tampered review inside is invalid_body."""
    verifier = Verifier(receiver=VENDOR.did, types=review_types(), seen_ids=None)
    token = sign_review(review(), REVIEWER)
    _, message = compose(PAIRWISE, type=REVIEW, to=VENDOR.did, body=ReviewMessage(review=token))
    taken = verifier.verify(message)
    assert isinstance(taken.body, ReviewMessage)
    assert taken.body.signed().reviewer == REVIEWER.did

    header, payload, signature = token.split(".")
    forged = ".".join([header, payload[:-4] + "AAAA", signature])
    body = {"review": forged}
    _, message = compose(PAIRWISE, type=REVIEW, to=VENDOR.did, body=body)
    with pytest.raises(ProtocolError) as caught:
        verifier.verify(message)
    assert caught.value.code == RefusalCode.INVALID_BODY
    assert "review:" in caught.value.detail


def test_a_feed_sets_apart_the_entries_that_do_not_verify() -> None:
    """Tampered, another reviewer's, an id not the review's, a repeat: refused, the rest kept."""
    first = verify_review(sign_review(review(), REVIEWER))
    second_id = f"urn:uuid:{uuid.UUID(int=8)}"
    second = verify_review(sign_review(review(**{"@id": second_id}), REVIEWER))
    feed = feed_document(REVIEWER.did, [first, second], updated=1772357400)
    stranger = Identity.generate()
    theirs = document(author={"@type": "Person", "@id": stranger.did, "name": "Mallory"})
    header, payload, signature = first.signed.split(".")
    feed["reviews"] += [
        {**feed["reviews"][0], "signed": ".".join([header, payload[:-4] + "AAAA", signature])},
        {
            "id": theirs["@id"],
            "signed": sign_review(Review.model_validate_json(json.dumps(theirs)), stranger),
            "review": theirs,
        },
        {**feed["reviews"][1], "id": f"urn:uuid:{uuid.UUID(int=9)}"},
        feed["reviews"][0],
    ]
    read = read_feed(json.dumps(feed).encode())
    assert read.reviewer == REVIEWER.did
    assert read.updated == time_text(1772357400)
    assert [r.review.id for r in read.reviews] == [first.review.id, second_id]
    assert [(r.index, r.code) for r in read.refused] == [
        (2, "bad_signature"),
        (3, "sender_mismatch"),
        (4, "invalid_body"),
        (5, "invalid_body"),
    ]


def test_a_document_that_is_not_a_feed_is_malformed() -> None:
    """Not JSON, or JSON of another shape: malformed, naming what is wrong."""
    for body in (b"<html>", b'{"type": "vrm/1/reviews"}', b"[]"):
        with pytest.raises(ProtocolError) as caught:
            read_feed(body)
        assert caught.value.code == RefusalCode.MALFORMED


def test_the_licences_are_the_creative_commons_ones_by_canonical_url() -> None:
    """Keys and URLs are unique, look-ups work both ways, an unknown name says which exist."""
    assert len({entry.key for entry in LICENCES}) == len({entry.url for entry in LICENCES}) == 7
    assert all(entry.url.startswith("https://creativecommons.org/") for entry in LICENCES)
    assert tuple(LicenceUrl.__args__) == tuple(entry.url for entry in LICENCES)
    assert licence("CC-BY-NC") is licence(CC_BY_NC)
    assert licence("cc-by-nc").name == "CC BY-NC 4.0"
    with pytest.raises(ValueError, match="choose one of cc-by"):
        licence("all rights reserved")
