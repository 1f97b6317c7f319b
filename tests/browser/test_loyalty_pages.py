"""The Loyalty page in Chromium on a phone, against ``vrm up`` and ``vrm serve vendor``.

The grocer issues a gold membership; the person sees its card, opens the code for the
checkout and the QR image loads under the strict Content-Security-Policy; the text
beneath verifies at the grocer; the preferences are shared by keyboard. The
screenshots ``loyalty`` and ``loyalty-checkout`` in docs/screenshots/ are made here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import AgentUp, screenshot, sign_in, watched_page
from tests.e2e.test_vendor_endpoint import start_vendor

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
PHONE = {"width": 390, "height": 844}


def until(check: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 20
    while not (found := check()):
        assert time.monotonic() < deadline, f"waited 20 s for {what}"
        time.sleep(0.1)
    return found


def test_a_membership_card_and_its_code_on_a_phone(
    chromium: Any, agent_up: Callable[..., AgentUp], tmp_path: Path
) -> None:
    """The card in words, the QR image loaded without a CSP error, the page a phone's width."""
    up = agent_up()
    grocer, grocer_api = start_vendor(tmp_path / "grocer")
    try:
        with httpx.Client(
            base_url=up.url, headers={"Authorization": f"Bearer {up.api_token}"}, timeout=20
        ) as api:
            vendor = api.post("/api/vendors", json={"url": grocer.url}).json()
            until(lambda: api.get(f"/api/vendors/{vendor['id']}").json()["active"], "accepted")
            did = api.get(f"/api/vendors/{vendor['id']}").json()["our_did"]
            benefits = ["10% off fresh bread", "free delivery over 30 GBP"]
            issued = grocer_api.post(
                f"/api/customers/{did}/memberships",
                json={"tier": "gold", "benefits": benefits, "valid_until": "2099-12-31"},
            )
            assert issued.status_code == 202, issued.text
            until(lambda: api.get("/api/loyalty").json(), "the membership")

        context = chromium.new_context(viewport=PHONE)
        watched = watched_page(context)
        page = watched.page
        sign_in(page, up.url)
        page.get_by_role("link", name="Loyalty").click()
        page.get_by_role("heading", name="Corner Grocer: gold").wait_for()
        card = page.locator(".membership").inner_text()
        assert "free delivery over 30 GBP" in card
        assert "through 2099-12-31" in card
        screenshot(page, "loyalty")

        page.get_by_role("link", name="Show at checkout").click()
        image = page.get_by_role("img", name="QR code of your gold membership")
        image.wait_for()
        until(
            lambda: page.evaluate("document.querySelector('img.qr').naturalWidth") > 0,
            "the QR image",
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        code = page.locator("#code-text").inner_text()
        checked = grocer_api.post("/api/memberships/verify", json={"presentation": code})
        assert checked.status_code == 200, checked.text
        assert checked.json()["member"]["tier"] == "gold"
        screenshot(page, "loyalty-checkout", full_page=False)

        page.get_by_role("link", name="Loyalty", exact=True).first.click()
        page.get_by_label("Brands you favour").fill("Fairphone")
        page.get_by_label("Corner Grocer").check()
        page.get_by_role("button", name="Save and share").press("Enter")
        page.get_by_role("status").wait_for()
        assert "Only the vendors ticked" in page.get_by_role("status").inner_text()
        until(
            lambda: (
                grocer_api.get(f"/api/customers/{did}").json()["fields"].get("preference.brands")
            ),
            "the brands at the grocer",
        )
        watched.assert_clean()
        context.close()
    finally:
        grocer_api.close()
        grocer.stop()
