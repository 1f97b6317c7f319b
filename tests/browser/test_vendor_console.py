"""The vendor's console in Chromium, against ``vrm serve vendor``, an exchange and ``vrm up``.

A person's agent relates with the vendor and grants it an address, then publishes
an intent that the exchange (``vrm serve exchange``) pushes to the vendor; in the
console the vendor sees the customer with the address, answers the intent with an
offer (a wrong form first), which reaches the person's agent, and sees the
exchange's demand for yesterday as a chart. Every page fits a 390 px wide screen.
The screenshots in docs/screenshots/ are made here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from tests.browser.conftest import AgentUp, screenshot, watched_page
from tests.e2e.test_agent_service import HOME_ADDRESS, eventually
from tests.e2e.test_intents_story import vendor_at_exchange
from tests.processes import ServiceProcess, start_service
from tests.vendor.intentcasting import intent
from vrm.exchange.schema import intents
from vrm.exchange.service import DATABASE_FILE, MIGRATIONS
from vrm.storage import database_engine, migrate_to_newest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
YESTERDAYS_DEMAND = [
    ("vehicles/cars/electric", "GB", 25_000.0, 150),
    ("vehicles/cars/electric", "FR", 25_000.0, 90),
    ("vehicles/bicycles/cargo", "GB", 3_000.0, 110),
]
"""Intents the exchange holds from yesterday (UTC): category, country, highest price, how many."""
PHONE = {"width": 390, "height": 844}


def seed_yesterday(home: Path) -> None:
    """Give the exchange's store yesterday's intents, as it keeps them, before it starts."""
    home.mkdir(parents=True)
    engine = database_engine(home / DATABASE_FILE)
    migrate_to_newest(engine, MIGRATIONS)
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    created = (noon - timedelta(days=1)).timestamp()
    rows = [
        {
            "pseudonym": f"did:key:zYesterday{category}{country}{n}",
            "message_id": f"m{n}",
            "category": category,
            "country": country,
            "region": None,
            "min_price": 0.0,
            "max_price": price,
            "currency": "EUR",
            "pool": False,
            "token": "t",
            "state": "expired",
            "created_at": created,
            "expires_at": created + 3600,
        }
        for category, country, price, count in YESTERDAYS_DEMAND
        for n in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(intents), rows)
    engine.dispose()


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ServiceProcess]:
    """``vrm serve exchange`` holding yesterday's demand."""
    home = tmp_path / "exchange"
    seed_yesterday(home)
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(home)]
    service = start_service([*command, "--port", "0", "--allow-loopback"])
    yield service
    service.stop()


@pytest.fixture
def vendor(exchange: ServiceProcess, tmp_path: Path) -> Iterator[tuple[ServiceProcess, str]]:
    """``vrm serve vendor`` subscribed to vehicles at the exchange; its URL and API token."""
    service, api = vendor_at_exchange(tmp_path / "vendor", exchange)
    eventually(lambda: api.get("/api/exchanges").json()[0]["subscribed_at"], what="subscribing")
    api.close()
    yield service, (tmp_path / "vendor" / "api-token").read_text().strip()
    service.stop()


def related_customer(agent: AgentUp, vendor_url: str, vendor_api: httpx.Client) -> str:
    """The agent relates with the vendor and grants it the address; the customer's DID there."""
    with httpx.Client(
        base_url=agent.url, headers={"Authorization": f"Bearer {agent.api_token}"}, timeout=20
    ) as api:
        api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
        added = api.post("/api/vendors", json={"url": vendor_url})
        assert added.status_code == 201, added.text
        number = added.json()["id"]
        eventually(lambda: api.get(f"/api/vendors/{number}").json()["active"], what="active")
        api.post(
            "/api/grants",
            json={"vendor": str(number), "fields": ["address.home"], "purpose": "deliveries"},
        ).raise_for_status()
    did: str = added.json()["our_did"]
    eventually(
        lambda: vendor_api.get(f"/api/customers/{did}").json().get("fields"),
        what="the address reaching the vendor",
    )
    return did


def publish_intent(agent: AgentUp, exchange_url: str) -> int:
    """The agent publishes an intent for a small electric car; its number at the agent."""
    with httpx.Client(
        base_url=agent.url, headers={"Authorization": f"Bearer {agent.api_token}"}, timeout=20
    ) as api:
        published = api.post("/api/intents", json={"exchange": exchange_url, "intent": intent()})
        assert published.status_code == 201, published.text
        number: int = published.json()["id"]
    return number


def fits_a_phone(page: Any, url: str) -> None:
    """The page at ``url`` is no wider than the phone's screen."""
    page.goto(url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{url} is {width} px wide"


def test_the_vendor_sees_its_customer_answers_an_intent_and_reads_demand(
    chromium: Any,
    exchange: ServiceProcess,
    vendor: tuple[ServiceProcess, str],
    agent_up: Callable[..., AgentUp],
) -> None:
    """Sign in by token, see the customer's address, send an offer by the form, see the chart."""
    service, token = vendor
    url = service.url
    agent = agent_up()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    ) as vendor_api:
        did = related_customer(agent, url, vendor_api)
        intent_number = publish_intent(agent, exchange.url)
        [matched] = eventually(lambda: vendor_api.get("/api/intents").json(), what="the push")

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page

    page.goto(f"{url}/console")
    assert page.url == f"{url}/sign-in"
    page.get_by_label("API token").fill("not the token")
    page.keyboard.press("Enter")
    page.get_by_role("alert").wait_for()
    assert "not this endpoint" in page.get_by_role("alert").inner_text()
    page.get_by_label("API token").fill(token)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Customers", exact=True).wait_for()

    customer = page.locator("li.customer", has=page.locator(f'a[title="{did}"]'))
    assert "1 Elm Row, Leith, EH6" in customer.inner_text()
    assert "accepted" in customer.inner_text()
    screenshot(page, "console-customers")
    customer.locator("a.did").click()
    page.get_by_role("heading", name="History").wait_for()
    assert did in page.locator("main").inner_text()

    page.get_by_role("link", name="Intents", exact=True).click()
    page.get_by_role("heading", name="Intents matched").wait_for()
    page.get_by_role("link", name=f"Make an offer for #{matched['id']}").click()
    page.get_by_label("Price").fill("a lot")
    page.get_by_role("button", name="Send the offer").click()
    page.locator("#price-error").wait_for()
    assert "Give a price of 0 or more" in page.locator("#price-error").inner_text()
    assert "Give the offer a name" in page.locator("#name-error").inner_text()
    assert page.get_by_label("Price").input_value() == "a lot"

    page.get_by_label("Name").fill("Nimbus E1, blue")
    page.get_by_label("Price").fill("19900")
    page.get_by_label("Delivery cost").fill("250")
    page.get_by_label("Fields the offer needs").fill("address.home")
    page.get_by_label("Fields the offer needs").press("Enter")
    page.get_by_role("status").wait_for()
    assert "sent" in page.get_by_role("status").inner_text()
    sent = page.locator("#offers tbody tr").first
    assert "Nimbus E1, blue" in sent.inner_text()
    assert "19900.00 EUR + 250.00 delivery" in sent.inner_text()
    screenshot(page, "console-intents")

    with httpx.Client(
        base_url=agent.url, headers={"Authorization": f"Bearer {agent.api_token}"}, timeout=20
    ) as api:
        [received] = eventually(
            lambda: api.get(f"/api/intents/{intent_number}/offers?fetch=true").json(),
            what="the offer reaching the person",
        )
    assert (received["offer"]["name"], received["total"]) == ("Nimbus E1, blue", 20150.0)

    page.get_by_role("link", name="Demand", exact=True).click()
    chart = page.get_by_role("img", name="Intents per category")
    chart.wait_for()
    bars = page.locator("#per-category rect.bar")
    shown = {
        bars.nth(i).get_attribute("data-label"): int(bars.nth(i).get_attribute("data-count"))
        for i in range(bars.count())
    }
    assert set(shown) == {"vehicles/cars/electric", "vehicles/bicycles/cargo"}
    assert abs(shown["vehicles/cars/electric"] - 240) < 40  # noise of scale 5 on each country
    assert abs(shown["vehicles/bicycles/cargo"] - 110) < 40
    table = page.locator("#per-category-table").inner_text()
    for label, count in shown.items():
        assert f"{label}\t{count}" in table
    screenshot(page, "console-demand")

    page.set_viewport_size(PHONE)
    for path in (
        "/console/customers",
        f"/console/customers/{did}",
        "/console/relationships",
        "/console/agreements",
        "/console/intents",
        f"/console/intents/{matched['id']}/offer",
        "/console/demand",
        "/sign-in",
    ):
        fits_a_phone(page, url + path)
    page.goto(f"{url}/console/customers")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in to the console of Corner Grocer").wait_for()
    time.sleep(0.1)  # any late console message is collected before the check
    context.close()
    watched.assert_clean("status of 422")
