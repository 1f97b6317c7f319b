"""Change once, in Chromium: edit the home address on the Profile page, watch three vendors get it.

``vrm up`` and a fleet of three vendor inboxes run in their own processes. The
relationships are arranged ahead (a fleet serves one discovery document for all
its inboxes, so its vendors cannot each be added by URL); the grants are made
through the API. Each vendor takes a moment per message, so the change's page
shows the deliveries on their way before it shows them delivered — without
reloading. The screenshots ``profile``, ``change-once`` and ``change-once-delivered``
are made here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import AgentUp, screenshot, sign_in, watched_page
from tests.processes import ServiceProcess, fleet_customers, start_fleet
from vrm.agent.personal_agent import PersonalAgent
from vrm.demo.prearranged import prearranged_relationship
from vrm.protocol import Discovery, relationship_types

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
VENDORS = ("Corner Grocer", "Leith Bank", "Weekly Magazine")
DELAY = 1.5
"""Seconds each vendor takes per message: long enough to see a delivery on its way."""
OLD_HOME = {"streetAddress": "1 Elm Row", "addressLocality": "Leith", "postalCode": "EH6 1AA"}


@pytest.fixture
def fleet() -> Iterator[ServiceProcess]:
    """Three vendor inboxes that accept the person's requests and terms, slowly."""
    process = start_fleet(len(VENDORS), base="change once", policy="silent", delay=DELAY)
    yield process
    process.stop()


def related_with(fleet: ServiceProcess) -> Callable[[PersonalAgent], None]:
    """Set up the person: a home address and e-mail, and the fleet's vendors as relationships."""
    inboxes = httpx.get(f"{fleet.url}/fleet", timeout=10).json()

    def prepare(person: PersonalAgent) -> None:
        person.set_field("address.home", OLD_HOME, changed_by="test")
        person.set_field("email.home", "ann@example.org", changed_by="test")
        with person.engine.begin() as connection:
            for name, vendor in zip(VENDORS, inboxes, strict=True):
                prearranged_relationship(
                    connection,
                    person.sealer,
                    discovery=Discovery(
                        did=vendor["did"],
                        name=name,
                        inbox=vendor["inbox"],
                        message_types=list(relationship_types()),
                    ),
                    url=vendor["inbox"],
                    reply_to="http://127.0.0.1:9/inbox",  # the fleet answers nothing
                    grant=[],
                    purpose="deliveries",
                )

    return prepare


def grant_and_settle(agent: AgentUp) -> None:
    """Grant the home address and e-mail to every vendor through the API; wait until sent."""
    with httpx.Client(
        base_url=agent.url, headers={"Authorization": f"Bearer {agent.api_token}"}, timeout=20
    ) as api:
        for vendor in api.get("/api/vendors").json():
            assert vendor["vendor_state"] == "accepted"
            api.post(
                "/api/grants",
                json={
                    "vendor": str(vendor["id"]),
                    "fields": ["address.home", "email.home"],
                    "purpose": "deliveries and receipts",
                },
            ).raise_for_status()
        deadline = time.monotonic() + 30
        while api.get("/api/deliveries", params={"state": "pending"}).json():
            assert time.monotonic() < deadline, "the grants were never delivered"
            time.sleep(0.1)
        assert api.get("/api/deliveries", params={"state": "failed"}).json() == []


def test_an_address_changed_once_reaches_every_vendor_live(
    chromium: Any, agent_up: Callable[..., AgentUp], fleet: ServiceProcess
) -> None:
    """Edit the address by keyboard; the three deliveries turn delivered without a reload."""
    agent = agent_up(related_with(fleet))
    grant_and_settle(agent)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, agent.url)

    page.goto(f"{agent.url}/profile")
    page.get_by_role("heading", name="Profile", exact=True).wait_for()
    home = page.locator("#field-address-home")
    for name in VENDORS:
        assert name in home.inner_text()
    screenshot(page, "profile")

    home.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the edit form
    home.get_by_label("Street").fill("9 Quay St")
    home.get_by_label("Town or city").fill("Leith")
    home.get_by_label("Postal code").fill("EH6 6NE")
    home.get_by_label("Country code").fill("gb")
    page.keyboard.press("Enter")  # submits from the last input
    page.wait_for_url(re.compile(r".*/profile/address\.home/changes/\d+$"))
    region = page.locator("#deliveries")
    assert region.get_attribute("aria-live") == "polite"
    assert region.locator(".delivery").count() == len(VENDORS)
    screenshot(page, "change-once")

    page.evaluate("window.notReloaded = true")
    region.locator("[data-live-done]").wait_for(timeout=20_000)
    rows = region.locator(".delivery")
    assert rows.count() == len(VENDORS)
    for index, name in enumerate(VENDORS):
        assert name in rows.nth(index).inner_text()
        assert rows.nth(index).locator(".delivery-state").inner_text() == "delivered"
    assert "delivered to 3 of 3 vendors" in region.inner_text()
    assert page.evaluate("window.notReloaded") is True  # updated in place
    assert region.get_attribute("data-live-stopped") == "done"
    screenshot(page, "change-once-delivered")

    for index in range(len(VENDORS)):
        [held] = fleet_customers(fleet, index).values()
        assert held["fields"]["address.home"] == {
            "streetAddress": "9 Quay St",
            "addressLocality": "Leith",
            "postalCode": "EH6 6NE",
            "addressCountry": "GB",
        }
        assert held["fields"]["email.home"] == "ann@example.org"

    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    small = watched_page(phone)
    for url in (f"{agent.url}/profile", page.url):
        small.page.goto(url)
        small.page.locator("main h1").wait_for()
        assert small.page.evaluate("document.documentElement.scrollWidth") <= 390
    phone.close()
    watched.assert_clean()
    small.assert_clean()
    context.close()
