"""The Reviews pages in Chromium, against ``vrm up`` in its own process.

Write a review by keyboard and labels, see it signed, switch the public feed on and
open its address; every page fits a 390 px wide phone and breaks no rule of the CSP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import AgentUp, fits_a_phone, screenshot, sign_in, watched_page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_write_a_review_turn_the_feed_on_and_open_it(
    chromium: Any, agent_up: Callable[..., AgentUp]
) -> None:
    """From the nav to a signed review, then the feed switched on and its address opened."""
    agent = agent_up()
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, agent.url)

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Reviews", exact=True).click()
    page.get_by_role("heading", name="Reviews", exact=True).wait_for()
    page.get_by_role("link", name="Write a review").click()
    page.get_by_label("Name", exact=True).fill("Blue kettle")
    page.get_by_label("Kind").select_option("Product")
    page.get_by_label("4 stars").check()
    page.get_by_label("Title").fill("Quick and quiet")
    page.get_by_label("Review", exact=True).fill("Boils a litre in two minutes without a whistle.")
    page.get_by_label("Sign it as").fill("Kestrel")
    page.get_by_label("CC BY-NC 4.0", exact=True).check()
    page.get_by_label("No AI training: reserve text and data mining").check()
    page.get_by_label("Public: in your feed, for anyone, while the feed is on").check()
    screenshot(page, "review-write")
    page.get_by_role("button", name="Sign and save").click()
    page.get_by_text("Written and signed.").wait_for()
    assert "AI training included, is reserved" in page.content()
    review_url = page.url.split("?")[0]
    page.get_by_text("Signed by your reviewer identity").click()
    screenshot(page, "review")

    nav.get_by_role("link", name="Reviews", exact=True).click()
    page.get_by_role("button", name="Turn the feed on").click()
    page.get_by_text("Your feed is on").wait_for()
    feed_url = page.get_by_label("Your feed's address").input_value()
    assert feed_url == f"{agent.url}/reviews"
    screenshot(page, "reviews")
    fits_a_phone(context, f"{agent.url}/my-reviews", f"{agent.url}/my-reviews/new", review_url)

    watched.assert_clean()
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.get_by_role("link", name="Open your feed").click()
    page.wait_for_url(feed_url)
    document = json.loads(page.locator("body").inner_text())
    [entry] = document["reviews"]
    assert entry["review"]["name"] == "Quick and quiet"
    assert entry["review"]["tdm:reservation"] == 1
    assert document["reviewer"] == entry["review"]["author"]["@id"]
    # A JSON document names no icon: the browser asks for /favicon.ico, which is not there.
    assert [url for url in missing if not url.endswith("/favicon.ico")] == []
    context.close()
