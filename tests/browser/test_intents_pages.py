"""The Intents pages in Chromium, against real processes: ``vrm up``, an exchange, two vendors.

Sign in, compose an intent through the form, receive an offer from each vendor
(``vrm serve vendor`` subscribed at the exchange, offering through its API), compare
them, accept one and see the relationship start; Home no longer lists the offer as
waiting. The screenshots docs/screenshots/intents.png and offers.png are made here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.browser.conftest import AgentUp, fits_a_phone, screenshot, sign_in, watched_page
from tests.e2e.test_agent_service import eventually
from tests.processes import ServiceProcess, free_port, start_service
from vrm.agent.personal_agent import PersonalAgent

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
T = TypeVar("T")
CATEGORY = "home/appliances"
HOME_ADDRESS = {"streetAddress": "1 Elm Row", "addressLocality": "Dublin"}


@dataclass
class Seller:
    """``vrm serve vendor`` subscribed at the exchange, and a client of its API."""

    name: str
    process: ServiceProcess
    api: httpx.Client

    def subscribed(self) -> bool:
        """Whether the exchange has taken its subscription."""
        return bool(self.api.get("/api/exchanges").json()[0]["subscribed_at"])


@dataclass
class Market:
    """An exchange and the sellers subscribed at it."""

    exchange: ServiceProcess
    sellers: list[Seller]


def start_seller(home: Path, name: str, exchange: ServiceProcess) -> Seller:
    """A vendor endpoint hearing of every intent for appliances at ``exchange``."""
    port = free_port()
    home.mkdir(parents=True)
    config = home / "vendor.toml"
    config.write_text(
        f'public_url = "http://127.0.0.1:{port}"\n'
        f'[[exchanges]]\nurl = "{exchange.url}"\ncategories = ["{CATEGORY}"]\n',
        encoding="utf-8",
    )
    command = [sys.executable, "-m", "vrm", "serve", "vendor", "--home", str(home)]
    process = start_service(
        [*command, "--config", str(config), "--port", str(port), "--allow-loopback",
         "--name", name]
    )  # fmt: skip
    token = (home / "api-token").read_text().strip()
    api = httpx.Client(
        base_url=process.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    return Seller(name, process, api)


@pytest.fixture
def market(tmp_path: Path) -> Iterator[Market]:
    """An exchange with two sellers of appliances subscribed at it."""
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(tmp_path / "x")]
    exchange = start_service([*command, "--port", "0", "--allow-loopback"])
    sellers: list[Seller] = []
    try:
        for name in ("North Kitchens", "South Kitchens"):
            folder = tmp_path / name.split()[0].lower()
            sellers.append(start_seller(folder, name, exchange))
        for seller in sellers:
            eventually(seller.subscribed, what=f"{seller.name} subscribing")
        yield Market(exchange, sellers)
    finally:
        for seller in sellers:
            seller.api.close()
            seller.process.stop()
        exchange.stop()


def offer(seller: Seller, price: float, delivery: float) -> None:
    """The seller answers the intent the exchange pushed to it, through its API."""
    [intent] = eventually(lambda: seller.api.get("/api/intents").json(), what="the push")
    made = seller.api.post(
        f"/api/intents/{intent['id']}/offers",
        json={
            "name": f"Quiet dishwasher from {seller.name}",
            "price": price,
            "priceCurrency": "EUR",
            "deliveryCost": delivery,
            "availabilityStarts": "2030-01-15",
            "needs": ["address.home"],
        },
    )
    assert made.status_code == 201, made.text


def offer_rows(page: Any) -> int:
    """How many offers the page's comparison table shows."""
    rows: int = page.locator("table.offers-table tbody tr").count()
    return rows


def test_compose_receive_compare_and_accept_an_offer(
    chromium: Any, agent_up: Callable[..., AgentUp], market: Market
) -> None:
    """By the form: an intent out, two offers in, the cheaper in all taken, Home cleared."""

    def prepare(person: PersonalAgent) -> None:
        person.set_config("exchange_url", market.exchange.url)
        person.set_field("address.home", HOME_ADDRESS, changed_by="test")

    agent = agent_up(prepare)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    watched = watched_page(context)
    page = watched.page
    sign_in(page, agent.url)

    page.goto(f"{agent.url}/intents")
    page.get_by_role("heading", name="Intents", exact=True).wait_for()
    assert page.get_by_label("Exchange").input_value() == market.exchange.url
    page.get_by_label("Category").select_option(CATEGORY)
    page.get_by_label("Description").fill("a quiet dishwasher")
    page.get_by_label("The most you would pay").fill("600")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Country").fill("IE")
    page.get_by_role("button", name="Publish").click()
    page.get_by_role("heading", name="a quiet dishwasher").wait_for()
    assert "Published under a pseudonym" in page.get_by_role("status").inner_text()
    intent_url = page.url.split("?")[0]

    north, south = market.sellers
    offer(north, 520.0, 0.0)
    offer(south, 480.0, 25.0)  # the cheaper in all: 505

    def both_offers() -> bool:
        if offer_rows(page) < 2:
            page.get_by_role("button", name="Check for offers").click()
            page.get_by_role("heading", name="Offers").wait_for()
        return offer_rows(page) == 2

    eventually(both_offers, what="both offers on the page", timeout=30)
    table = page.locator("table.offers-table")
    assert "2 offers, by total" in table.locator("caption").inner_text()
    sellers = table.locator("tbody th").all_inner_texts()
    assert sellers[0].startswith("South Kitchens")  # 505.00 in all
    assert sellers[1].startswith("North Kitchens")  # 520.00
    assert "505.00 EUR" in table.inner_text()
    assert table.inner_text().count("new to you") == 2
    screenshot(page, "offers")

    page.get_by_role("link", name="Price", exact=True).click()
    page.wait_for_url(re.compile(r"sort=price"))
    first = page.locator("table.offers-table tbody th").first.inner_text()
    assert first.startswith("South Kitchens")

    page.get_by_role("button", name=re.compile("^Accept South Kitchens")).focus()
    page.keyboard.press("Enter")  # every control is a native one: the keyboard reaches it
    page.get_by_text("Offer accepted.").wait_for()
    taken = page.locator("#taken")
    assert "South Kitchens" in taken.inner_text()
    assert "address.home" in taken.inner_text()
    assert page.get_by_role("button", name=re.compile("^Accept")).count() == 0

    def relationship_accepted() -> bool:
        page.goto(intent_url)
        return "flowing" in page.locator("#taken").inner_text()

    eventually(relationship_accepted, what="South Kitchens accepting the relationship", timeout=30)
    fits_a_phone(context, intent_url)

    page.get_by_role("link", name="Home").click()
    page.get_by_role("heading", name="Home", exact=True).wait_for()
    assert "No offer is waiting for an answer." in page.locator("#offers").inner_text()

    page.goto(f"{agent.url}/intents")
    listed = page.locator("table.intents-table")
    assert "offer taken" in listed.inner_text()
    screenshot(page, "intents")
    fits_a_phone(context, f"{agent.url}/intents")

    # The audit log says what was taken and declined, and that its chain is whole.
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("heading", name="The log is whole").wait_for()
    log = page.locator(".log").inner_text()
    assert "from South Kitchens" in log.split("You accepted the offer")[1].split("\n")[0]
    assert "You declined" in log
    assert "Asked South Kitchens" in log

    # The seller's endpoint sends its invoice for the offer taken: it lands in Records,
    # and the intent's decision journal links it beside the person's note.
    def receipt_listed() -> bool:
        page.goto(f"{agent.url}/records")
        return "South Kitchens" in page.locator("main").inner_text()

    eventually(receipt_listed, what="South Kitchens's receipt in the records", timeout=30)
    screenshot(page, "records")
    fits_a_phone(context, f"{agent.url}/records")
    page.locator("table.receipts a").first.click()
    page.get_by_role("heading", name=re.compile("^Order offer-")).wait_for()
    assert "due" in page.locator(".facts").inner_text()  # an invoice: the sale is not paid yet
    screenshot(page, "receipt")

    page.goto(intent_url)
    page.get_by_label("Why you chose").fill("Cheapest in total, and delivered this week.")
    page.get_by_role("button", name="Keep this note").click()
    page.get_by_text("Your note is kept").wait_for()
    journal = page.locator("#journal").inner_text()
    assert "taken:" in journal
    assert "Receipt: order offer-" in journal
    context.close()
    watched.assert_clean()
