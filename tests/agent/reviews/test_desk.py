"""The person's reviews: signed apart from every relationship, sealed, sent, withdrawn."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect, files_on_disk, in_clear
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox import store as outbox
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.reviews.desk import ReviewDesk
from vrm.agent.reviews.writing import Draft
from vrm.protocol import REVIEW, REVIEW_WITHDRAW, PartyState, verify_review
from vrm.protocol.v1.reviews import parse_time

pytestmark = pytest.mark.anyio


def kettle(**changes: Any) -> Draft:
    """Four stars for a kettle under CC BY-NC, AI training reserved, signed as Kestrel."""
    values: dict[str, Any] = {
        "item": "Chartreuse kettle",
        "rating": 4,
        "title": "Quick and quiet",
        "body": "Boils a litre in two minutes without a whistle.",
        "licence": "cc-by-nc",
        "author": "Kestrel",
        "no_ai_training": True,
        "item_url": "https://shop.example/kettle",
        "language": "en",
    }
    values.update(changes)
    return Draft(**values)


@pytest.fixture
def desk(person: PersonalAgent) -> ReviewDesk:
    return ReviewDesk(person)


def entries(person: PersonalAgent, kind: str) -> list[Any]:
    return [entry for entry in person.audit_entries() if entry.kind == kind]


def sent(person: PersonalAgent, vendor_id: int, kind: str) -> list[dict[str, Any]]:
    with person.engine.begin() as connection:
        return outbox.sent_bodies(connection, person.sealer, vendor_id=vendor_id, type=kind)


async def test_a_review_is_signed_by_the_reviewer_did_and_verifies_offline(
    desk: ReviewDesk, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """One reviewer DID signs every review; it is no relationship's; anyone can check it."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    first = desk.write(kettle())
    second = desk.write(kettle(item="Teapot", licence="cc-by", no_ai_training=False))
    assert first.signed.reviewer == second.signed.reviewer != relationship.our_did
    checked = verify_review(first.signed.signed)
    assert checked.review == first.review
    review = first.review
    assert review.author.id == first.signed.reviewer
    assert (review.author.name, review.reviewRating.ratingValue) == ("Kestrel", 4)
    assert review.license == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert review.reserved
    assert review.datePublished.endswith("Z")
    assert review.dateModified is None
    assert (first.version, first.public, first.current) == (1, False, True)
    assert desk.review(first.id) == first
    assert [r.id for r in desk.reviews()] == [second.id, first.id]


async def test_writing_is_audited_in_words_and_sealed_at_rest(
    desk: ReviewDesk, person: PersonalAgent, tmp_path: Path
) -> None:
    """The log says what was written; item, text, title and pen name are nowhere in clear."""
    record = desk.write(kettle(), public=True)
    [written] = entries(person, "review.written")
    assert written.details["licence"] == "cc-by-nc"
    assert describe(written, {}) == (
        f"You wrote review {record.id} of Chartreuse kettle: 4 stars, under cc-by-nc, "
        "AI training reserved, public"
    )
    [published] = entries(person, "review.published")
    assert describe(published, {}) == f"You made review {record.id} of Chartreuse kettle public"
    stored = files_on_disk(person.engine, tmp_path)
    for secret in ("Chartreuse kettle", "Quick and quiet", "without a whistle", "Kestrel"):
        assert not in_clear(secret, stored), secret
    assert person.audit_verify().intact


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"rating": 6}, "rating: Give 1 to 5 stars."),
        ({"licence": "all rights reserved"}, "licence: No licence 'all rights reserved'"),
        ({"licence": "cc0"}, "no_ai_training: CC0 gives up every right"),
        ({"author": "  "}, "author: Give the name to sign with."),
        ({"body": "x" * 5001}, "body: At most 5,000 characters (5,001 now)."),
        ({"item_url": "shop.example"}, "item_url: Give a web address"),
        ({"item_type": "Person"}, "item_type: Choose what kind of thing it is"),
    ],
)
def test_a_review_that_does_not_fit_is_refused_in_words(
    desk: ReviewDesk, person: PersonalAgent, changes: dict[str, Any], said: str
) -> None:
    """The first problem, named by its field; nothing kept, nothing logged."""
    with pytest.raises(ValueError, match=f"^{re.escape(said)}"):
        desk.write(kettle(**changes))
    assert desk.reviews() == []
    assert entries(person, "review.written") == []


async def test_sending_puts_the_signed_review_in_the_outbox_to_that_vendor(
    desk: ReviewDesk, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A review message carries the review as signed; the log names the vendor."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    record = desk.write(kettle())
    after = desk.send(record.id, "Corner Shop")
    [body] = sent(person, relationship.id, REVIEW)
    assert body == {"review": record.signed.signed}
    assert [(s.vendor_id, s.version, s.withdrawal_id) for s in after.sent_to] == [
        (relationship.id, 1, None)
    ]
    [entry] = entries(person, "review.sent")
    words = describe(entry, {relationship.id: "Corner Shop"})
    assert words == f"Sent review {record.id} of Chartreuse kettle to Corner Shop"


@pytest.mark.parametrize("state", [None, PartyState.REFUSED])
async def test_a_review_goes_only_over_an_accepted_relationship(
    desk: ReviewDesk,
    person: PersonalAgent,
    network: VendorNetwork,
    clock: Clock,
    state: PartyState | None,
) -> None:
    """Not yet accepted, refused, or ended by the person: Conflict, nothing queued."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock, state=state)
    _, ended = await connect(person, network, "Book Barn", clock=clock)
    person.end("Book Barn")
    record = desk.write(kettle())
    for vendor in ("Corner Shop", "Book Barn"):
        with pytest.raises(Conflict, match="accepted and neither side ended"):
            desk.send(record.id, vendor)
    assert sent(person, relationship.id, REVIEW) == sent(person, ended.id, REVIEW) == []
    with pytest.raises(NotFound):
        desk.send(record.id, "Nobody Ltd")
    assert [r.vendor.name for r in desk.sendable()] == []


async def test_an_edit_is_a_later_version_of_the_same_review_sent_again(
    desk: ReviewDesk, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Same @id, datePublished kept, dateModified later (even within the second), re-sent."""
    _, relationship = await connect(person, network, "Corner Shop", clock=clock)
    record = desk.write(kettle())
    desk.send(record.id, "Corner Shop")
    edited = desk.edit(record.id, kettle(rating=2, body="The lid broke after a week."))
    again = desk.edit(edited.id, kettle(rating=1, body="Now the handle too."))
    assert again.review.id == edited.review.id == record.review.id
    assert again.review.datePublished == record.review.datePublished
    published = parse_time(record.review.datePublished, "")
    first_edit = parse_time(edited.review.version, "")
    assert published < first_edit < parse_time(again.review.version, "")
    assert (again.version, again.review.reviewRating.ratingValue) == (3, 1)
    bodies = sent(person, relationship.id, REVIEW)
    assert [verify_review(b["review"]).review.version for b in bodies] == [
        record.review.version,
        edited.review.version,
        again.review.version,
    ]
    assert [s.version for s in again.sent_to] == [3]


async def test_withdrawing_tells_every_vendor_that_has_it_and_is_final(
    desk: ReviewDesk, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """review.withdraw to each vendor sent it (not to ended ones); then nothing more changes."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock)
    _, books = await connect(person, network, "Book Barn", clock=clock)
    record = desk.write(kettle(), public=True)
    desk.send(record.id, "Corner Shop")
    desk.send(record.id, "Book Barn")
    person.end("Book Barn")
    withdrawn = desk.withdraw(record.id)
    assert withdrawn.state == "withdrawn"
    assert sent(person, shop.id, REVIEW_WITHDRAW) == [{"review": record.review.id}]
    assert sent(person, books.id, REVIEW_WITHDRAW) == []
    [entry] = entries(person, "review.withdrawn")
    names = {shop.id: "Corner Shop", books.id: "Book Barn"}
    assert describe(entry, names) == f"You withdrew review {record.id}; told Corner Shop"
    for action in (
        lambda: desk.withdraw(record.id),
        lambda: desk.edit(record.id, kettle()),
        lambda: desk.publish(record.id, True),
        lambda: desk.send(record.id, "Corner Shop"),
    ):
        with pytest.raises(Conflict, match="withdrawn"):
            action()
    assert desk.review(record.id).review == record.review  # the person's own copy stays


def test_the_feed_is_off_until_turned_on_and_lists_only_public_reviews(
    desk: ReviewDesk, person: PersonalAgent
) -> None:
    """Off: nothing served. On: the public reviews, as signed, with the reviewer DID only."""
    public = desk.write(kettle(), public=True)
    desk.write(kettle(item="Secret teapot"))
    assert desk.served_feed() is None
    status = desk.set_feed(True)
    assert (status.on, status.reviews, status.url) == (True, 1, "http://127.0.0.1:8470/reviews")
    served = desk.served_feed()
    assert served is not None
    document = json.loads(served.body)
    assert document["reviewer"] == public.signed.reviewer
    assert [e["signed"] for e in document["reviews"]] == [public.signed.signed]
    assert "Secret teapot" not in served.body.decode()
    assert desk.served_feed() is served  # nothing changed: the same document

    desk.publish(public.id, False)
    changed = desk.served_feed()
    assert changed is not None
    assert json.loads(changed.body)["reviews"] == []
    assert changed.etag != served.etag
    desk.set_feed(False)
    assert desk.served_feed() is None
    kinds = [e.details["on"] for e in entries(person, "reviews.feed")]
    assert kinds == [True, False]
    [on, off] = entries(person, "reviews.feed")
    assert describe(on, {}).startswith("You turned your public review feed on at http://")
    assert describe(off, {}) == "You turned your public review feed off"


def test_a_withdrawn_review_leaves_the_feed_and_its_address(desk: ReviewDesk) -> None:
    """Its own address answers while it is published, and nothing once withdrawn."""
    record = desk.write(kettle(), public=True)
    desk.set_feed(True)
    uuid = record.review.id.removeprefix("urn:uuid:")
    one = desk.served_review(uuid)
    assert one is not None
    assert one.reserved
    assert json.loads(one.body)["signed"] == record.signed.signed
    desk.withdraw(record.id)
    assert desk.served_review(uuid) is None
    served = desk.served_feed()
    assert served is not None
    assert json.loads(served.body)["reviews"] == []


def test_the_author_name_offered_is_the_last_one_used(desk: ReviewDesk) -> None:
    """Never a name from the profile: none before the first review, then the last pen name."""
    assert desk.default_author() is None
    desk.write(kettle(author="Kestrel"))
    desk.write(kettle(author="K. Finch"))
    assert desk.default_author() == "K. Finch"


async def test_edits_and_unpublishing_read_as_sentences(
    desk: ReviewDesk, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The log says which version an edit made, what was sent again, and what left the feed."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock)
    record = desk.write(kettle(), public=True)
    desk.send(record.id, "Corner Shop")
    desk.edit(record.id, kettle(rating=3))
    desk.publish(record.id, False)
    names = {shop.id: "Corner Shop"}
    [edited] = entries(person, "review.edited")
    assert describe(edited, names) == f"You edited review {record.id} (version 2)"
    said = [describe(entry, names) for entry in entries(person, "review.sent")]
    assert said == [
        f"Sent review {record.id} of Chartreuse kettle to Corner Shop",
        f"Sent review {record.id} of Chartreuse kettle to Corner Shop (version 2)",
    ]
    [unpublished] = entries(person, "review.unpublished")
    assert describe(unpublished, names) == (
        f"You took review {record.id} of Chartreuse kettle out of your public feed"
    )
