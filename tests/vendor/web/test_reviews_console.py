"""The console's Reviews page in-process: reviews held, licence in words; a feed fetched."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.vendor.people import REPLY_TO, VENDOR, offer
from tests.vendor.reviewers import feed, signed, tampered
from tests.vendor.test_reviews import PersonsFeed
from tests.vendor.web.test_console_pages import Console, csrf_of
from vrm.protocol import RELATIONSHIP_REQUEST, REVIEW, Identity
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

pytestmark = pytest.mark.anyio
TOKEN = "vendor-api-token"
BASE = "http://grocer.test"
FEED_URL = "https://kestrel.example/reviews"


@pytest.fixture
def person_feed() -> PersonsFeed:
    return PersonsFeed()


@pytest.fixture
async def console(tmp_path: Path, person_feed: PersonsFeed) -> AsyncIterator[Console]:
    """The signed-in console of an endpoint that accepts every request and reaches the feed."""
    endpoint = VendorEndpoint.open(
        settings_from({"name": "Corner Grocer", "public_url": BASE}),
        home=tmp_path,
        identity=VENDOR,
        transport=AsgiTransport(person_feed.app(), base_url="https://kestrel.example"),
    )
    app = create_vendor_app(endpoint, api_token=TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        opened = Console(endpoint, client, None)  # type: ignore[arg-type]
        assert (await opened.sign_in()).status_code == 303
        yield opened
    await endpoint.aclose()


async def test_reviews_are_listed_with_their_licence_in_words(console: Console) -> None:
    """A customer's review: its text, stars, licence in words, the reservation, the sender."""
    person = Identity.generate()
    proffer = offer(person).model_dump(mode="json", exclude_none=True)
    await console.arrives(person, RELATIONSHIP_REQUEST, {"reply_to": REPLY_TO, "proffer": proffer})
    review = signed(Identity.generate())
    await console.arrives(person, REVIEW, {"review": review.signed})

    page = await console.browser.get("/console/reviews")
    assert page.status_code == 200
    assert 'aria-current="page">Reviews' in page.text
    assert "Boils a litre in two minutes without a whistle." in page.text
    assert "4 of 5" in page.text
    assert "CC BY-NC 4.0: Anyone may use, share and adapt it, crediting you" in page.text
    assert "Reserved by the author" in page.text
    assert "your customer" in page.text
    assert review.signed in page.text


async def test_a_feed_is_fetched_from_the_page_and_a_forged_entry_refused(
    console: Console, person_feed: PersonsFeed
) -> None:
    """The page says what the fetch did and which entry it refused; a bad address says so."""
    reviewer = Identity.generate()
    kettle = signed(reviewer, licence_key="cc-by", reserved=False)
    document = feed(reviewer, kettle)
    forged = signed(reviewer)
    document["reviews"].append(
        {"id": forged.review.id, "signed": tampered(forged.signed), "review": {}}
    )
    person_feed.document = document
    page = await console.browser.get("/console/reviews")
    fetched = await console.post("/console/reviews/fetch", page, url=FEED_URL)
    assert fetched.status_code == 200
    assert f"Fetched {FEED_URL}: 1 new, 0 updated, 0 unchanged, 0 withdrawn, 1 refused." in (
        fetched.text
    )
    assert "the review&#39;s signature does not verify — not stored." in fetched.text
    assert "CC BY 4.0: Anyone may use, share and adapt it, even commercially" in fetched.text

    person_feed.document = None
    off = await console.post("/console/reviews/fetch", page, url=FEED_URL)
    assert off.status_code == 502
    assert "answered 404: this agent publishes no reviews" in off.text
    bad = await console.post("/console/reviews/fetch", page, url="kestrel.example")
    assert bad.status_code == 422
    assert "starting with https://" in bad.text
    assert 'value="kestrel.example"' in bad.text
    assert csrf_of(bad)
