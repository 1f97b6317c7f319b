"""Reviews through the agent's app: /api/reviews with the token, the public feed without."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import PartyState, verify_review

pytestmark = pytest.mark.anyio
KETTLE: dict[str, Any] = {
    "item": "Blue kettle",
    "item_url": "https://shop.example/kettle",
    "rating": 4,
    "title": "Quick and quiet",
    "body": "Boils a litre in two minutes without a whistle.",
    "licence": "cc-by-nc",
    "no_ai_training": True,
    "author": "Kestrel",
}


def anyone(app: httpx.AsyncClient) -> dict[str, str]:
    """Headers of a reader with no token: the app client's own token taken away."""
    return {"authorization": ""}


async def write(app: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    reply = await app.post("/api/reviews", json={**KETTLE, **changes})
    assert reply.status_code == 201, reply.text
    written: dict[str, Any] = reply.json()
    return written


async def test_write_show_edit_and_withdraw_through_the_api(app: httpx.AsyncClient) -> None:
    """201 with the signed review; a PATCH signs a new version; withdrawn, it is final (409)."""
    written = await write(app)
    assert verify_review(written["signed"]).review.as_json() == written["review"]
    assert written["review"]["license"] == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert written["review"]["tdm:reservation"] == 1
    shown = (await app.get(f"/api/reviews/{written['id']}")).json()
    assert shown == written

    edited = (await app.patch(f"/api/reviews/{written['id']}", json={"rating": 2})).json()
    assert (edited["version"], edited["review"]["reviewRating"]["ratingValue"]) == (2, 2)
    assert edited["review"]["@id"] == written["review"]["@id"]
    assert edited["review"]["reviewBody"] == KETTLE["body"]
    public = (await app.patch(f"/api/reviews/{written['id']}", json={"public": True})).json()
    assert (public["public"], public["version"]) == (True, 2)

    withdrawn = (await app.post(f"/api/reviews/{written['id']}/withdraw")).json()
    assert withdrawn["state"] == "withdrawn"
    again = await app.patch(f"/api/reviews/{written['id']}", json={"rating": 5})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert [r["id"] for r in (await app.get("/api/reviews")).json()] == [written["id"]]


@pytest.mark.parametrize(
    ("changes", "status", "said"),
    [
        ({"rating": 0}, 422, "rating: Give 1 to 5 stars."),
        ({"licence": "mine"}, 422, "licence: No licence 'mine'"),
        ({"licence": "cc0"}, 422, "CC0 gives up every right"),
        ({"author": None}, 422, "author: give the name your reviews are signed with"),
        ({"stars": 5}, 422, "Extra inputs are not permitted"),
    ],
)
async def test_a_review_that_does_not_fit_is_a_problem_document(
    app: httpx.AsyncClient, changes: dict[str, Any], status: int, said: str
) -> None:
    """problem+json naming what is wrong; nothing is written."""
    body = {key: value for key, value in {**KETTLE, **changes}.items() if value is not None}
    reply = await app.post("/api/reviews", json=body)
    assert reply.status_code == status
    assert reply.headers["content-type"] == "application/problem+json"
    assert said in reply.json()["detail"]
    assert (await app.get("/api/reviews")).json() == []
    missing = await app.get("/api/reviews/99")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_the_author_defaults_to_the_name_used_last(app: httpx.AsyncClient) -> None:
    """After one review, the next may leave the author out: the same pen name signs it."""
    await write(app, author="K. Finch")
    second = await write(app, author=None)
    assert second["review"]["author"]["name"] == "K. Finch"


async def test_sending_to_a_vendor_and_only_an_accepted_one(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """202 with the vendor in sent_to; a vendor that has not accepted is a 409."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock)
    await connect(person, network, "Book Barn", clock=clock, state=PartyState.REFUSED)
    written = await write(app)
    sent = await app.post(f"/api/reviews/{written['id']}/send", json={"vendor": "Corner Shop"})
    assert sent.status_code == 202, sent.text
    assert [s["vendor_id"] for s in sent.json()["sent_to"]] == [shop.id]
    refused = await app.post(f"/api/reviews/{written['id']}/send", json={"vendor": "Book Barn"})
    assert (refused.status_code, refused.json()["code"]) == (409, "conflict")


async def test_the_licences_are_listed_with_what_they_allow(app: httpx.AsyncClient) -> None:
    """Seven licences, each with its key, URL and one line for people."""
    listed = (await app.get("/api/reviews/licences")).json()
    assert [entry["key"] for entry in listed][:3] == ["cc-by", "cc-by-sa", "cc-by-nc"]
    assert all(entry["summary"] and entry["url"].startswith("https://") for entry in listed)


async def test_the_feed_is_off_by_default_and_a_404_problem(app: httpx.AsyncClient) -> None:
    """No token needed to ask, and the answer says nothing but that there is no feed."""
    await write(app, public=True)
    for path in ("/reviews", "/reviews/0b8e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"):
        reply = await app.get(path, headers=anyone(app))
        assert reply.status_code == 404, path
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.headers["access-control-allow-origin"] == "*"
        assert reply.json()["code"] == "not_found"
    assert (await app.get("/api/reviews/feed")).json()["on"] is False
    assert (await app.get("/api/reviews", headers=anyone(app))).status_code == 401


async def test_the_feed_on_serves_the_public_reviews_to_anyone(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Signed reviews and the reviewer DID only; cacheable, CORS, conditional, per review."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock)
    person.set_field("email.home", "kestrel@example.org", changed_by="test")
    public = await write(app, public=True)
    private = await write(app, item="Secret teapot")
    await app.post(f"/api/reviews/{public['id']}/send", json={"vendor": "Corner Shop"})
    status = (await app.put("/api/reviews/feed", json={"on": True})).json()
    assert (status["on"], status["reviews"]) == (True, 1)
    assert status["url"].endswith("/reviews")

    reply = await app.get("/reviews", headers=anyone(app))
    assert reply.status_code == 200, reply.text
    document = reply.json()
    assert document["reviewer"] == public["reviewer"] == status["reviewer"]
    assert [entry["signed"] for entry in document["reviews"]] == [public["signed"]]
    for secret in (shop.our_did, "kestrel@example.org", "Secret teapot", private["review"]["@id"]):
        assert secret not in reply.text
    assert reply.headers["access-control-allow-origin"] == "*"
    assert reply.headers["cache-control"] == "public, max-age=60"
    assert "content-security-policy" not in reply.headers
    etag, modified = reply.headers["etag"], reply.headers["last-modified"]
    cached = await app.get("/reviews", headers={**anyone(app), "if-none-match": etag})
    assert (cached.status_code, cached.content) == (304, b"")
    since = await app.get("/reviews", headers={**anyone(app), "if-modified-since": modified})
    assert since.status_code == 304
    head = await app.head("/reviews", headers=anyone(app))
    assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)
    preflight = await app.options("/reviews", headers=anyone(app))
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-methods"] == "GET, HEAD"

    uuid = public["review"]["@id"].removeprefix("urn:uuid:")
    one = await app.get(f"/reviews/{uuid}", headers=anyone(app))
    assert one.json()["signed"] == public["signed"]
    assert one.headers["tdm-reservation"] == "1"
    hidden = private["review"]["@id"].removeprefix("urn:uuid:")
    assert (await app.get(f"/reviews/{hidden}", headers=anyone(app))).status_code == 404

    await app.post(f"/api/reviews/{public['id']}/withdraw")
    after = await app.get("/reviews", headers={**anyone(app), "if-none-match": etag})
    assert (after.status_code, after.json()["reviews"]) == (200, [])
    await app.put("/api/reviews/feed", json={"on": False})
    assert (await app.get("/reviews", headers=anyone(app))).status_code == 404
