"""The Payments page in Chromium, against ``vrm up`` and a payee's ``vrm serve vendor``.

Set a budget, add a station with an endpoint and terms and a per-use podcast, log a
use, pay the month, and watch the station's signed receipt acknowledge the terms. The
screenshot ``payments`` in docs/screenshots/ is made here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import AgentUp, screenshot, sign_in, watched_page
from tests.browser.test_vendors_pages import until
from tests.e2e.test_vendor_endpoint import start_vendor
from tests.processes import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def station(tmp_path: Path) -> Iterator[tuple[ServiceProcess, httpx.Client]]:
    """A payee's endpoint in its own process, and its API."""
    service, api = start_vendor(tmp_path / "station")
    yield service, api
    api.close()
    service.stop()


def test_pay_the_month_and_see_the_terms_acknowledged(
    chromium: Any,
    agent_up: Callable[..., AgentUp],
    station: tuple[ServiceProcess, httpx.Client],
) -> None:
    """Budget, two payees, a use, one press to pay; the station keeps the terms and signs."""
    service, api = station
    up = agent_up()
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, up.url)

    page.get_by_role("link", name="Payments").click()
    page.get_by_role("heading", name="Payments", level=1).wait_for()
    page.get_by_label("Amount", exact=True).fill("15.00")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_role("button", name="Set budget").click()
    assert "15.00 EUR a month" in page.locator("main").inner_text()

    page.get_by_label("Name").fill("Corner Grocer Radio")
    page.get_by_role("radio", name="a share by weight").check()
    page.get_by_label("Weight, amount, or rate per use").fill("1")
    page.get_by_label("Its endpoint (optional)").fill(service.url)
    page.get_by_label("Your terms, one per line (optional)").fill(
        "no fund-drive calls\nno resale of my contact"
    )
    page.get_by_role("button", name="Add payee").click()
    page.get_by_role("status").wait_for()

    page.get_by_text("Add a payee").click()
    page.get_by_label("Name").fill("Quince Podcast")
    page.get_by_role("radio", name="per use").check()
    page.get_by_label("Weight, amount, or rate per use").fill("0.75")
    page.get_by_label("A use is (for per use)").fill("episode")
    page.get_by_role("button", name="Add payee").click()
    page.get_by_role("status").wait_for()

    page.get_by_label("Units").fill("4")
    page.get_by_role("button", name="Log").click()
    page.get_by_role("status").wait_for()
    shares = page.get_by_role("region", name="This month's shares").inner_text()
    assert "12.00 EUR" in shares  # the station: what 4 episodes at 0.75 leave of 15.00
    assert "3.00 EUR" in shares

    page.get_by_role("button", name="Pay").click()
    page.get_by_role("status").wait_for()
    ledger = page.locator("#ledger")
    assert "paid 15.00 EUR" in ledger.inner_text()
    until(
        lambda: "Acknowledged by Corner Grocer" in ledger.inner_text(),
        "the station's signed receipt",
        reload=page,
    )
    assert "with your terms: no fund-drive calls; no resale of my contact" in ledger.inner_text()
    [told] = api.get("/api/payments").json()
    assert (told["amount"], told["terms"]) == (
        "12.00",
        ["no fund-drive calls", "no resale of my contact"],
    )
    screenshot(page, "payments")

    page.get_by_role("link", name="Records").click()
    acknowledged = page.get_by_role("region", name="Payments acknowledged", exact=True).inner_text()
    assert "12.00 EUR" in acknowledged
    watched.assert_clean()
    context.close()
