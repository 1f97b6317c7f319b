"""The Vendors pages in Chromium, against ``vrm up`` and a fleet of vendors in their own processes.

Add a vendor by its address and watch its r-button turn accepted, grant a field
and see the vendor hold it, revoke it and see it gone; pause by keyboard. The
screenshots ``vendors`` and ``vendor`` in docs/screenshots/ are made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import AgentUp, screenshot, sign_in, watched_page
from tests.processes import ServiceProcess, fleet_customers, start_fleet
from vrm.agent.personal_agent import PersonalAgent

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
EMAIL = "ann@example.org"
VENDOR = "fleet vendor 0"
DEADLINE = 20.0


@pytest.fixture
def fleet() -> Iterator[ServiceProcess]:
    """One vendor that accepts every relationship and the terms proffered with it."""
    vendors = start_fleet(1, base="vendors pages")
    yield vendors
    vendors.stop()


def until(check: Callable[[], bool], what: str, *, reload: Any = None) -> None:
    """Wait for ``check`` to hold (reloading ``reload``, a page, between tries)."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        assert time.monotonic() < deadline, f"waited {DEADLINE:.0f} s for {what}"
        time.sleep(0.2)
        if reload is not None:
            reload.reload()


def held_by_vendor(fleet: ServiceProcess, our_did: str) -> dict[str, Any] | None:
    """The fields the fleet's vendor holds on the person (None: it does not know them)."""
    customer = fleet_customers(fleet).get(our_did)
    return None if customer is None else dict(customer["fields"])


def test_add_a_vendor_grant_and_revoke(
    chromium: Any, agent_up: Callable[..., AgentUp], fleet: ServiceProcess
) -> None:
    """The whole round by the pages: add, accepted, grant, pause and resume, revoke."""

    def prepare(person: PersonalAgent) -> None:
        person.set_field("email.home", EMAIL, changed_by="test")

    up = agent_up(prepare)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, up.url)

    page.goto(f"{up.url}/vendors")
    assert "No vendors yet" in page.locator("main").inner_text()
    page.get_by_label("The vendor's address").fill(fleet.url)
    page.get_by_role("button", name="Add vendor").click()
    page.get_by_role("heading", name=VENDOR, level=1).wait_for()
    assert "Asked fleet vendor 0 for a relationship" in page.get_by_role("status").inner_text()
    vendor_side = page.locator(".rbutton.vendor")
    until(lambda: "accepted" in vendor_side.inner_text(), "the vendor to accept", reload=page)
    until(lambda: "Agreed:" in page.locator("#terms").inner_text(), "the agreement", reload=page)
    assert "You: want it" in page.locator(".rbutton.person").inner_text()
    our_did = page.locator("dd.did code").nth(1).inner_text()

    page.goto(f"{up.url}/vendors")
    page.get_by_label("The vendor's address").fill(fleet.url)
    page.get_by_role("button", name="Add vendor").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "Already in a relationship with fleet vendor 0" in alert.inner_text()
    assert page.get_by_label("The vendor's address").input_value() == fleet.url

    page.get_by_role("link", name=VENDOR, exact=True).click()
    page.get_by_label("Field", exact=True).select_option("email.home")
    page.get_by_label(f"What {VENDOR} may use it for").fill("receipts")
    page.get_by_role("button", name=f"Grant it to {VENDOR}").click()
    page.get_by_role("status").wait_for()
    assert "Granted" in page.get_by_role("status").inner_text()
    grant = page.locator("#grants tbody tr")
    assert "email.home" in grant.inner_text()
    assert "receipts" in grant.inner_text()
    until(lambda: held_by_vendor(fleet, our_did) == {"email.home": EMAIL}, "the grant to arrive")
    page.reload()
    screenshot(page, "vendor")

    page.get_by_role("button", name=f"Pause sending to {VENDOR}").focus()
    page.keyboard.press("Enter")
    page.get_by_role("status").wait_for()
    assert "You: paused" in page.locator(".rbutton.person").inner_text()
    until(lambda: fleet_customers(fleet)[our_did]["person_state"] == "paused", "the vendor told")
    page.get_by_role("button", name=f"Resume sending to {VENDOR}").click()
    page.get_by_role("status").wait_for()
    assert "You: want it" in page.locator(".rbutton.person").inner_text()

    page.goto(f"{up.url}/vendors")
    card = page.locator(".vendor-card")
    assert "You: want it" in card.locator(".rbutton.person").inner_text()
    assert "fleet vendor 0: accepted" in card.locator(".rbutton.vendor").inner_text()
    assert "0 failed" in card.inner_text()
    screenshot(page, "vendors")

    card.get_by_role("link", name=VENDOR, exact=True).click()
    page.get_by_role("button", name=f"Revoke email.home from {VENDOR}").click()
    page.get_by_role("status").wait_for()
    assert "Revoked" in page.get_by_role("status").inner_text()
    assert f"You have granted {VENDOR} nothing." in page.locator("#grants").inner_text()
    until(lambda: held_by_vendor(fleet, our_did) == {}, "the vendor to drop the field")

    phone = chromium.new_context(
        viewport={"width": 390, "height": 844}, storage_state=context.storage_state()
    )
    small = watched_page(phone)
    for path in ("/vendors", "/vendors/1", "/vendors/1/end", "/vendors/1/erase"):
        small.page.goto(f"{up.url}{path}")
        width = small.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a phone"
    small.page.goto(f"{up.url}/vendors")
    screenshot(small.page, "vendors-phone")
    phone.close()

    # The second add was answered 409 on purpose; nothing else went wrong.
    watched.assert_clean("status of 409")
    small.assert_clean()
    context.close()
