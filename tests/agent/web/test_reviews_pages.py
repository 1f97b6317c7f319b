"""The Reviews pages in-process: write, show signed, edit, publish, send, withdraw; the feed."""

from __future__ import annotations

import httpx
import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.agent.web.test_pages import submit
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.reviews.desk import ReviewDesk
from vrm.protocol import PartyState

pytestmark = pytest.mark.anyio
KETTLE = {
    "item": "Blue kettle",
    "item_type": "Product",
    "item_url": "",
    "rating": "4",
    "title": "Quick and quiet",
    "body": "Boils a litre in two minutes\r\nwithout a whistle.",
    "language": "en",
    "author": "Kestrel",
    "licence": "cc-by-nc",
    "no_ai_training": "on",
    "public": "on",
}


async def test_writing_a_review_on_the_page_signs_and_shows_it(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """The form explains each licence; the review is kept, shown with its signature checked."""
    form = await signed_in.get("/my-reviews/new")
    assert form.status_code == 200
    assert "Anyone may use, share and adapt it, crediting you, but not commercially." in form.text
    assert 'name="author" type="text" maxlength="100" required value=""' in form.text
    written = await submit(signed_in, "/my-reviews/new", "/my-reviews/new", **KETTLE)
    assert written.status_code == 303
    [record] = ReviewDesk(person).reviews()
    assert written.headers["location"] == f"/my-reviews/{record.id}?done=written"
    assert record.review.reviewBody == "Boils a litre in two minutes\nwithout a whistle."
    assert (record.public, record.review.reserved) == (True, True)

    shown = await signed_in.get(written.headers["location"])
    assert "Written and signed." in shown.text
    assert "CC BY-NC 4.0: Anyone may use" in shown.text
    assert "AI training included, is reserved" in shown.text
    assert record.signed.signed in shown.text
    assert record.signed.reviewer in shown.text
    listed = await signed_in.get("/my-reviews")
    assert "Quick and quiet" in listed.text
    assert 'aria-current="page">Reviews' in listed.text
    again = await signed_in.get("/my-reviews/new")
    assert 'value="Kestrel"' in again.text  # the pen name used last, never the profile's


async def test_a_form_that_does_not_fit_is_shown_again_as_typed(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """422, each problem beside its field, what was typed kept; nothing is written."""
    wrong = {**KETTLE, "rating": "9", "licence": "cc0", "author": "", "body": "Kept as typed"}
    refused = await submit(signed_in, "/my-reviews/new", "/my-reviews/new", **wrong)
    assert refused.status_code == 422
    assert "Nothing was saved: 3 things to put right below." in refused.text
    assert 'id="rating-error">Give 1 to 5 stars.' in refused.text
    assert 'id="author-error">Give the name to sign with.' in refused.text
    assert "CC0 gives up every right" in refused.text
    assert "Kept as typed</textarea>" in refused.text
    assert ReviewDesk(person).reviews() == []


async def test_edit_publish_send_and_withdraw_from_the_review_page(
    signed_in: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Each action goes back to the review with a word on what was done."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock)
    await connect(person, network, "Book Barn", clock=clock, state=PartyState.REFUSED)
    desk = ReviewDesk(person)
    await submit(signed_in, "/my-reviews/new", "/my-reviews/new", **{**KETTLE, "public": ""})
    [record] = desk.reviews()
    page = f"/my-reviews/{record.id}"
    shown = await signed_in.get(page)
    assert "Corner Shop</option>" in shown.text
    assert "Book Barn" not in shown.text  # it refused: no review goes there

    edited = await submit(
        signed_in, f"{page}/edit", f"{page}/edit", **{**KETTLE, "rating": "2", "public": ""}
    )
    assert edited.headers["location"] == f"{page}?done=edited"
    assert desk.review(record.id).version == 2
    public = await submit(signed_in, page, f"{page}/public", public="on")
    assert public.headers["location"] == f"{page}?done=public"
    assert desk.review(record.id).public
    sent = await submit(signed_in, page, f"{page}/send", vendor=str(shop.id))
    assert sent.headers["location"] == f"{page}?done=sent"
    assert [s.vendor_id for s in desk.review(record.id).sent_to] == [shop.id]
    nowhere = await submit(signed_in, page, f"{page}/send", vendor="")
    assert nowhere.status_code == 422
    assert "Choose the vendor to send the review to." in nowhere.text

    confirm = await signed_in.get(f"{page}/withdraw")
    assert "Corner Shop is told to stop using it and delete its text." in confirm.text
    withdrawn = await submit(signed_in, f"{page}/withdraw", f"{page}/withdraw")
    assert withdrawn.headers["location"] == f"{page}?done=withdrawn"
    after = await signed_in.get(page)
    assert "You withdrew this review" in after.text
    assert "/edit" not in after.text
    assert (await signed_in.get(f"{page}/edit")).status_code == 409
    assert (await signed_in.get("/my-reviews/999")).status_code == 404
    assert (await signed_in.get("/my-reviews/x²")).status_code == 404


async def test_the_feed_switch_gives_its_address_and_the_feed_answers(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Off at first; on, the page shows the address, and /reviews answers with the review."""
    await submit(signed_in, "/my-reviews/new", "/my-reviews/new", **KETTLE)
    listed = await signed_in.get("/my-reviews")
    assert "Turn the feed on" in listed.text
    assert (await signed_in.get("/reviews")).status_code == 404
    on = await submit(signed_in, "/my-reviews", "/my-reviews/feed", feed="on")
    assert on.headers["location"] == "/my-reviews?done=feed-on#feed"
    page = await signed_in.get("/my-reviews")
    assert 'value="http://127.0.0.1:8470/reviews"' in page.text
    assert "Turn the feed off" in page.text
    feed = await signed_in.get("/reviews")
    assert feed.status_code == 200
    assert feed.json()["reviews"][0]["review"]["name"] == "Quick and quiet"
    await submit(signed_in, "/my-reviews", "/my-reviews/feed", feed="off")
    missing = await signed_in.get("/reviews")
    assert missing.headers["content-type"] == "application/problem+json"
