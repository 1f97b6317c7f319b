"""People's reviews at the vendor: sent by customers, fetched from feeds, kept with the licence.

The store-level tests run on SQLite and on PostgreSQL; the API tests call the endpoint's
whole app in-process, with a person's feed served by a small app beside it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.vendor.people import VENDOR, message, request
from tests.vendor.reviewers import feed, signed, tampered, written
from tests.vendor.test_migrations import upgrade_to
from vrm.protocol import (
    REVIEW,
    REVIEW_WITHDRAW,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    review_types,
)
from vrm.storage import migrate_to_newest
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import MIGRATIONS, VendorEndpoint
from vrm.vendor.records import Policy, Records
from vrm.vendor.reviews import Reviews
from vrm.vendor.schema import reviews

pytestmark = pytest.mark.anyio
TOKEN = "vendor-api-token"
FEED_URL = "https://kestrel.example/reviews"
CC_BY_NC = "https://creativecommons.org/licenses/by-nc/4.0/"


class PersonsFeed:
    """The person's agent as far as a vendor sees it: a feed at /reviews, or none (404)."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | bytes | None = None

    def app(self) -> Starlette:
        async def serve(_request: Request) -> Response:
            if self.document is None:
                body = {"code": "not_found", "detail": "this agent publishes no reviews"}
                return JSONResponse(body, status_code=404, media_type="application/problem+json")
            if isinstance(self.document, bytes):
                return Response(self.document, media_type="text/html")
            return JSONResponse(self.document)

        return Starlette(routes=[Route("/reviews", serve)])


def review_message(person: Identity, kind: str, body: dict[str, Any]) -> Message:
    """A message from ``person`` to the vendor, verified as the endpoint's inbox does."""
    _, token = compose(person, type=kind, to=VENDOR.did, body=body)
    return Verifier(receiver=VENDOR.did, types=review_types(), seen_ids=None).verify(token)


def customer_of(engine: Engine) -> Identity:
    """A person whose relationship the vendor accepted."""
    person = Identity.generate()
    Records(engine, identity=VENDOR, policy=Policy(), adapters=[]).receive(request(person))
    return person


def held(engine: Engine) -> list[Any]:
    with engine.begin() as connection:
        return connection.execute(select(reviews).order_by(reviews.c.id)).all()


# the store


def test_a_customers_review_is_kept_as_signed_with_its_licence(engine: Engine) -> None:
    """The signed review, its licence and its reservation are held; the customer is named."""
    book = Reviews(engine, transport=AsgiTransport(PersonsFeed().app()))
    person, reviewer = customer_of(engine), Identity.generate()
    review = signed(reviewer)
    assert book.receive(review_message(person, REVIEW, {"review": review.signed})) is False

    [listed] = book.listed()
    assert listed["review_id"] == review.review.id
    assert (listed["reviewer"], listed["customer"], listed["feed"]) == (
        reviewer.did,
        person.did,
        None,
    )
    assert listed["license"]["url"] == CC_BY_NC
    assert listed["license"]["commercial"] is False
    assert listed["tdm_reservation"] is True
    assert listed["licence_in_words"].startswith("CC BY-NC 4.0: ")
    assert "AI training included, is reserved" in listed["licence_in_words"]
    assert listed["signed"] == review.signed
    assert listed["review"] == review.review.as_json()


@pytest.mark.parametrize("approve", [False, True])
def test_a_review_from_no_accepted_relationship_is_refused(engine: Engine, approve: bool) -> None:
    """A stranger, a held request, or a person who ended it: wrong_recipient, nothing kept."""
    book = Reviews(engine, transport=AsgiTransport(PersonsFeed().app()))
    records = Records(engine, identity=VENDOR, policy=Policy(mode="manual"), adapters=[])
    person = Identity.generate()
    records.receive(request(person))
    if approve:
        records.approve(person.did)
        records.receive(message(person, "vrm/1/relationship.state", {"state": "ended"}))
    body = {"review": signed(Identity.generate()).signed}
    for sender in (person, Identity.generate()):
        with pytest.raises(ProtocolError) as refused:
            book.receive(review_message(sender, REVIEW, body))
        assert refused.value.code == RefusalCode.WRONG_RECIPIENT
    assert held(engine) == []


def test_a_newer_version_replaces_and_an_older_one_changes_nothing(engine: Engine) -> None:
    """The same @id with a later dateModified is kept in place; a late older copy is not."""
    book = Reviews(engine, transport=AsgiTransport(PersonsFeed().app()))
    person, reviewer = customer_of(engine), Identity.generate()
    first = signed(reviewer)
    edited = signed(
        reviewer,
        written(reviewer, first.review.id, stars=2, modified="2026-03-04T08:00:00Z"),
    )
    for version in (first, edited, first):
        book.receive(review_message(person, REVIEW, {"review": version.signed}))
    [row] = held(engine)
    assert row.token == edited.signed
    assert row.version == "2026-03-04T08:00:00Z"
    assert json.loads(row.review)["reviewRating"]["ratingValue"] == 2


def test_a_withdrawal_deletes_the_text_and_the_review_is_never_taken_again(engine: Engine) -> None:
    """Withdrawn by its sender: text gone, licence kept; sent again, it stays withdrawn."""
    book = Reviews(engine, transport=AsgiTransport(PersonsFeed().app()))
    person, other = customer_of(engine), customer_of(engine)
    review = signed(Identity.generate())
    book.receive(review_message(person, REVIEW, {"review": review.signed}))
    book.receive(review_message(other, REVIEW_WITHDRAW, {"review": review.review.id}))
    assert held(engine)[0].state == "current"  # only its sender withdraws it

    book.receive(review_message(person, REVIEW_WITHDRAW, {"review": review.review.id}))
    book.receive(review_message(person, REVIEW, {"review": review.signed}))
    [listed] = book.listed()
    assert listed["state"] == "withdrawn"
    assert (listed["review"], listed["signed"]) == (None, None)
    assert listed["license"]["url"] == CC_BY_NC
    assert listed["withdrawn_at"] is not None
    assert "Boils a litre" not in json.dumps(held(engine)[0]._asdict())


def test_erasing_a_customer_deletes_the_reviews_they_sent(engine: Engine) -> None:
    """The record erased, no review of theirs is left; others' reviews stay."""
    records = Records(engine, identity=VENDOR, policy=Policy(), adapters=[])
    book = Reviews(engine, transport=AsgiTransport(PersonsFeed().app()))
    person, other = customer_of(engine), customer_of(engine)
    book.receive(review_message(person, REVIEW, {"review": signed(Identity.generate()).signed}))
    book.receive(review_message(other, REVIEW, {"review": signed(Identity.generate()).signed}))
    records.erase(person.did)
    assert [row.customer for row in held(engine)] == [other.did]


def test_a_sixth_version_store_gains_the_reviews_table(empty_engine: Engine) -> None:
    """A store made before reviews is migrated and takes them."""
    upgrade_to(empty_engine, "0006")
    migrate_to_newest(empty_engine, MIGRATIONS)
    with empty_engine.begin() as connection:
        assert connection.execute(select(func.count()).select_from(reviews)).scalar() == 0


# the API, and feeds


@pytest.fixture
def person_feed() -> PersonsFeed:
    return PersonsFeed()


@pytest.fixture
async def vendor(tmp_path: Path, person_feed: PersonsFeed) -> AsyncIterator[VendorEndpoint]:
    """An endpoint that accepts every request and reaches the person's feed."""
    settings = settings_from({"name": "Corner Grocer", "public_url": "https://vrm.grocer.example"})
    endpoint = VendorEndpoint.open(
        settings,
        home=tmp_path,
        identity=VENDOR,
        transport=AsgiTransport(person_feed.app(), base_url="https://kestrel.example"),
    )
    yield endpoint
    await endpoint.aclose()


@pytest.fixture
async def api(vendor: VendorEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    app = create_vendor_app(vendor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://vrm.grocer.example",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def test_the_inbox_takes_a_customers_review_and_the_api_lists_it(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """Through /inbox: a review is taken (202) and listed; a tampered one is invalid_body."""
    person, reviewer = Identity.generate(), Identity.generate()
    await vendor.handle(request(person))
    review = signed(reviewer)
    for body, status in (
        ({"review": tampered(review.signed)}, 422),
        ({"review": review.signed}, 202),
    ):
        _, token = compose(person, type=REVIEW, to=VENDOR.did, body=body)
        sent = await api.post(
            "/inbox", content=token, headers={"content-type": "application/vrm+jws"}
        )
        assert sent.status_code == status, sent.text
        if status == 422:
            assert sent.json()["code"] == "invalid_body"
    [listed] = (await api.get("/api/reviews")).json()
    assert (listed["customer"], listed["signed"]) == (person.did, review.signed)
    assert (await api.get("/api/reviews", params={"state": "withdrawn"})).json() == []
    assert (await api.get("/api/reviews", params={"customer": person.did})).json() == [listed]


async def test_fetching_a_feed_keeps_what_verifies_and_refuses_the_rest(
    api: httpx.AsyncClient, person_feed: PersonsFeed
) -> None:
    """Two reviews verify and are kept; a tampered entry is refused with why, and not kept."""
    reviewer = Identity.generate()
    kettle, teapot = signed(reviewer), signed(reviewer, licence_key="cc-by", reserved=False)
    document = feed(reviewer, kettle, teapot)
    forged = {**document["reviews"][0], "signed": tampered(signed(reviewer).signed)}
    forged["id"] = json.loads(json.dumps(forged["review"]))["@id"]
    document["reviews"].append(forged)
    person_feed.document = document

    report = (await api.post("/api/reviews/fetch", json={"url": FEED_URL})).json()
    assert report["reviewer"] == reviewer.did
    assert sorted(report["stored"]) == sorted([kettle.review.id, teapot.review.id])
    assert [(r["index"], r["code"]) for r in report["refused"]] == [(2, "bad_signature")]
    listed = (await api.get("/api/reviews")).json()
    assert sorted(r["review_id"] for r in listed) == sorted(report["stored"])
    by_id = {r["review_id"]: r for r in listed}
    assert by_id[teapot.review.id]["license"]["name"] == "CC BY 4.0"
    assert by_id[teapot.review.id]["tdm_reservation"] is False
    assert all(r["feed"] == FEED_URL and r["customer"] is None for r in listed)


async def test_a_later_fetch_updates_versions_and_withdraws_what_left_the_feed(
    api: httpx.AsyncClient, vendor: VendorEndpoint, person_feed: PersonsFeed
) -> None:
    """An edit replaces its version; a review gone from the feed is withdrawn, unless sent too."""
    person, reviewer = Identity.generate(), Identity.generate()
    await vendor.handle(request(person))
    kettle, teapot, sent = signed(reviewer), signed(reviewer), signed(reviewer)
    await vendor.handle(review_message(person, REVIEW, {"review": sent.signed}))
    person_feed.document = feed(reviewer, kettle, teapot, sent)
    first = (await api.post("/api/reviews/fetch", json={"url": FEED_URL})).json()
    assert (len(first["stored"]), first["unchanged"]) == (2, [sent.review.id])

    edited = signed(reviewer, written(reviewer, kettle.review.id, modified="2026-05-01T10:00:00Z"))
    person_feed.document = feed(reviewer, edited)
    second = (await api.post("/api/reviews/fetch", json={"url": FEED_URL})).json()
    assert second["updated"] == [kettle.review.id]
    assert second["withdrawn"] == [teapot.review.id]
    states = {r["review_id"]: r for r in (await api.get("/api/reviews")).json()}
    assert states[kettle.review.id]["signed"] == edited.signed
    assert states[teapot.review.id]["state"] == "withdrawn"
    assert states[teapot.review.id]["review"] is None
    assert (states[sent.review.id]["state"], states[sent.review.id]["feed"]) == ("current", None)


@pytest.mark.parametrize(
    ("document", "said"),
    [
        (None, "answered 404: this agent publishes no reviews"),
        (b"<html>hello</html>", "not a review feed"),
    ],
)
async def test_a_feed_that_is_off_or_not_a_feed_is_a_problem(
    api: httpx.AsyncClient, person_feed: PersonsFeed, document: Any, said: str
) -> None:
    """502 feed_unusable saying what went wrong; nothing is kept."""
    person_feed.document = document
    reply = await api.post("/api/reviews/fetch", json={"url": FEED_URL})
    assert reply.status_code == 502
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == "feed_unusable"
    assert said in reply.json()["detail"]
    assert (await api.get("/api/reviews")).json() == []


async def test_a_feed_address_must_be_a_web_address(api: httpx.AsyncClient) -> None:
    """Not http(s), or missing: 422 invalid_request."""
    for body in ({"url": "file:///etc/passwd"}, {}, {"url": FEED_URL, "more": 1}):
        reply = await api.post("/api/reviews/fetch", json=body)
        assert reply.status_code == 422, body
        assert reply.json()["code"] == "invalid_request"
