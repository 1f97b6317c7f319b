"""The vendor's console in-process: sign-in, CSRF, customers, decisions, offers, demand chart.

The endpoint's whole app (``create_vendor_app``, as ``vrm serve vendor`` serves it)
is called through httpx; the exchange it talks to is a small stand-in that
releases known demand figures and takes offers into its mailbox.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.vendor.intentcasting import intent
from tests.vendor.people import REPLY_TO, VENDOR, offer
from vrm.protocol import PROFILE_UPDATE, RELATIONSHIP_REQUEST, Identity, compose
from vrm.protocol.v1.intents import INTENT
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.intents import keep_intent
from vrm.vendor.web import COOKIE
from vrm.vendor.web.routes import token_matches
from vrm.web.sign_in import SignInGuard, SignInLimits, TooManyAttempts

pytestmark = pytest.mark.anyio
TOKEN = "vendor-api-token"
BASE = "http://grocer.test"
EXCHANGE_URL = "http://exchange.test"
EXCHANGE = Identity.generate()
JWS = {"content-type": "application/vrm+jws"}
ADDRESS = {"streetAddress": "1 Elm Row", "addressLocality": "Leith", "postalCode": "EH6"}
RELEASE = {
    "period": "2026-11-23",
    "category": "vehicles",
    "counts": [
        {"category": "vehicles/bicycles/cargo", "country": "GB", "count": 100},
        {"category": "vehicles/cars/electric", "country": "FR", "count": 80},
        {"category": "vehicles/cars/electric", "country": "GB", "count": 120},
    ],
    "prices": [
        {"currency": "EUR", "band": "1k-5k", "count": 100},
        {"currency": "EUR", "band": "10k-50k", "count": 200},
    ],
    "suppressed": {"counts": 3, "prices": 1},
    "privacy": {"epsilon": 0.5, "delta": 1e-6, "k": 10, "threshold": 70, "scale": 5.0},
    "released_at": "2026-11-24T09:30:00+00:00",
}
PAGES = [
    "/console/customers",
    "/console/relationships",
    "/console/agreements",
    "/console/intents",
    "/console/intents/1/offer",
    "/console/demand",
]


@dataclass
class StandInExchange:
    """What the console needs of an exchange: demand releases, and a mailbox for offers."""

    release: dict[str, Any] = field(default_factory=lambda: RELEASE)
    asked: list[dict[str, str]] = field(default_factory=list)
    mailbox: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        async def signals(request: Request) -> JSONResponse:
            self.asked.append(dict(request.query_params))
            return JSONResponse(self.release)

        async def mailbox(request: Request) -> JSONResponse:
            self.mailbox.append((await request.body()).decode())
            return JSONResponse({"status": "accepted"}, status_code=202)

        return Starlette(
            routes=[Route("/signals", signals), Route("/mailbox", mailbox, methods=["POST"])]
        )


@dataclass
class Console:
    """The endpoint, its app, a browser-like client (cookies kept), and the stand-in exchange."""

    vendor: VendorEndpoint
    browser: httpx.AsyncClient
    exchange: StandInExchange

    async def sign_in(self, token: str = TOKEN) -> httpx.Response:
        form = await self.browser.get("/sign-in")
        return await self.browser.post(
            "/sign-in", data={"csrf_token": csrf_of(form), "token": token}
        )

    async def post(self, path: str, page: httpx.Response, **fields: str) -> httpx.Response:
        """Submit a form of ``page`` to ``path`` with its CSRF token."""
        return await self.browser.post(path, data={"csrf_token": csrf_of(page), **fields})

    async def arrives(self, person: Identity, kind: str, body: dict[str, Any]) -> None:
        """A person's signed message reaches the endpoint's inbox."""
        _, token = compose(person, type=kind, to=VENDOR.did, body=body)
        reply = await self.browser.post("/inbox", content=token, headers=JWS)
        assert reply.status_code == 202, reply.text

    async def relates(self, person: Identity) -> None:
        proffer = offer(person).model_dump(mode="json", exclude_none=True)
        await self.arrives(person, RELATIONSHIP_REQUEST, {"reply_to": REPLY_TO, "proffer": proffer})

    def matched(self) -> int:
        """An intent the exchange matched to the vendor; its number at the endpoint."""
        _, token = compose(Identity.generate(), type=INTENT, to=EXCHANGE.did, body=intent())
        with self.vendor.engine.begin() as connection:
            keep_intent(
                connection,
                exchange=EXCHANGE.did,
                mailbox=f"{EXCHANGE_URL}/mailbox",
                token=token,
                now=time.time(),
            )
        [kept] = self.vendor.intents.intents()
        number: int = kept["id"]
        return number


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def open_console(home: Path, **settings: Any) -> AsyncIterator[Console]:
    exchange = StandInExchange()
    endpoint = VendorEndpoint.open(
        settings_from(
            {
                "name": "Leith Motors",
                "public_url": BASE,
                "allow_loopback": True,
                "exchanges": [{"url": EXCHANGE_URL, "categories": ["vehicles"]}],
                **settings,
            }
        ),
        home=home,
        identity=VENDOR,
        transport=AsgiTransport(exchange.app(), base_url=EXCHANGE_URL),
    )
    app = create_vendor_app(endpoint, api_token=TOKEN)  # the console's own sign-in limits
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Console(endpoint, client, exchange)
    await endpoint.aclose()


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console of an endpoint that accepts every request, not signed in yet."""
    async for opened in open_console(tmp_path):
        yield opened


@pytest.fixture
async def manual(tmp_path: Path) -> AsyncIterator[Console]:
    """The console of an endpoint whose policy holds every request for the vendor."""
    async for opened in open_console(tmp_path, policy={"mode": "manual"}):
        yield opened


async def test_every_page_needs_sign_in(console: Console) -> None:
    """Without a session each page and form leads to sign-in; the API still wants its token."""
    for path in ["/", "/console", *PAGES, f"/console/customers/{Identity.generate().did}"]:
        reply = await console.browser.get(path)
        assert reply.status_code == 303, path
        assert reply.headers["location"] in ("/sign-in", "/console/customers"), path
    for path in ["/console/intents/1/offer", f"/console/relationships/{VENDOR.did}/accept"]:
        reply = await console.browser.post(path, data={"name": "x"})
        assert (reply.status_code, reply.headers["location"]) == (303, "/sign-in"), path
    assert (await console.browser.get("/sign-in")).status_code == 200
    assert (await console.browser.get("/api/customers")).status_code == 401


async def test_a_wrong_token_is_refused_and_the_right_one_signs_in(console: Console) -> None:
    """A wrong token shows the form again; the right one sets a strict cookie, opens Customers."""
    wrong = await console.sign_in("not-the-token")
    assert wrong.status_code == 422
    assert "That is not this endpoint" in wrong.text
    assert (await console.browser.get("/console/customers")).status_code == 303

    right = await console.sign_in()
    assert (right.status_code, right.headers["location"]) == (303, "/console/customers")
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    page = await console.browser.get("/console/customers")
    assert page.status_code == 200
    assert "<h1>Customers</h1>" in page.text
    assert "vrm vendor console" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]

    signed_out = await console.post("/sign-out", page)
    assert (signed_out.status_code, signed_out.headers["location"]) == (303, "/sign-in")
    assert (await console.browser.get("/console/customers")).status_code == 303
    assert COOKIE not in console.browser.cookies


async def test_wrong_tokens_from_anyone_never_shut_the_vendor_out(console: Console) -> None:
    """However many wrong tokens arrive (the port is public), the right one still signs in."""
    for _ in range(8):
        assert (await console.sign_in("guess")).status_code == 422
    right = await console.sign_in()
    assert (right.status_code, right.headers["location"]) == (303, "/console/customers")


async def test_sign_in_stops_for_a_while_after_wrong_tokens() -> None:
    """Wrong tokens in a row lock sign-in, even for the right token, until the lockout ends."""
    now = [0.0]
    guard = SignInGuard(
        token_matches("right"),
        SignInLimits(failure_delay=0, max_failures=2, lockout=60),
        clock=lambda: now[0],
    )
    assert await guard.attempt("") is False
    assert await guard.attempt("wrong") is False
    with pytest.raises(TooManyAttempts):
        await guard.attempt("right")
    now[0] = 61.0
    assert await guard.attempt("right") is True


async def test_the_customers_page_shows_a_customers_fields_after_their_update(
    console: Console,
) -> None:
    """A person relates and sends an address: the list and their page show it, with its history."""
    person = Identity.generate()
    await console.relates(person)
    await console.sign_in()
    before = await console.browser.get("/console/customers")
    assert person.did[:16] in before.text
    assert "No field held." in before.text

    fields = [{"path": "address.home", "version": 1, "value": ADDRESS, "changed_time": 1}]
    await console.arrives(person, PROFILE_UPDATE, {"grant": {"purpose": "post"}, "fields": fields})
    after = await console.browser.get("/console/customers")
    assert "address.home" in after.text
    assert "1 Elm Row, Leith, EH6" in after.text
    assert ">accepted<" in after.text

    detail = await console.browser.get(f"/console/customers/{person.did}")
    assert detail.status_code == 200
    assert person.did in detail.text
    assert 'data-label="Purpose">post<' in detail.text
    assert "SD-BASE" in detail.text
    history = detail.text.split('id="history"')[1]
    assert "1 Elm Row, Leith, EH6" in history
    assert "updated" in history

    unknown = await console.browser.get(f"/console/customers/{Identity.generate().did}")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")
    assert "No customer did:key:" in unknown.text


async def test_a_customer_s_page_lists_the_receipts_sent(console: Console) -> None:
    """Order number, order date, total and delivery of each receipt, newest first."""
    person = Identity.generate()
    await console.relates(person)
    await console.sign_in()
    assert (
        "No receipt sent." in (await console.browser.get(f"/console/customers/{person.did}")).text
    )
    for number, price in (("G-1041", "4.20"), ("G-1042", "18.00")):
        body = {
            "orderNumber": number,
            "orderDate": "2026-01-02",
            "items": [{"name": "Loaf", "price": price}],
            "total": price,
            "currency": "GBP",
        }
        sent = await console.browser.post(
            f"/api/customers/{person.did}/receipts",
            json=body,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert sent.status_code == 202, sent.text
    page = await console.browser.get(f"/console/customers/{person.did}")
    listed = page.text.split('id="receipts"')[1].split("</table>")[0]
    assert listed.index("G-1042") < listed.index("G-1041")
    assert "18.00 GBP" in listed
    assert "2026-01-02" in listed
    assert 'data-label="Delivery">pending<' in listed


async def test_a_held_request_is_accepted_from_the_pending_page(manual: Console) -> None:
    """The manual policy is said; Accept (with the CSRF token) accepts and tells the person."""
    person = Identity.generate()
    await manual.relates(person)
    await manual.sign_in()
    page = await manual.browser.get("/console/relationships")
    assert "holds every relationship request" in page.text
    assert "Accept the request of" in page.text

    refused = await manual.browser.post(f"/console/relationships/{person.did}/accept")
    assert refused.status_code == 403
    assert manual.vendor.records.customer(person.did)["state"] == "pending"

    accepted = await manual.post(f"/console/relationships/{person.did}/accept", page)
    assert (accepted.status_code, accepted.headers["location"]) == (
        303,
        "/console/relationships?done=accepted",
    )
    assert manual.vendor.records.customer(person.did)["state"] == "accepted"
    again = await manual.post(f"/console/relationships/{person.did}/refuse", page)
    assert again.status_code == 409
    assert "already accepted" in again.text


async def test_the_agreements_page_lists_the_terms_agreed(console: Console) -> None:
    """An accepted request's proffer becomes an agreement in force, shown with its customer."""
    person = Identity.generate()
    await console.relates(person)
    await console.sign_in()
    page = await console.browser.get("/console/agreements")
    table = page.text.split('id="agreements"')[1]
    assert person.did[:16] in table
    assert "SD-BASE" in table
    assert "in force" in table


async def test_composing_an_offer_with_wrong_values_shows_a_message_by_each(
    console: Console,
) -> None:
    """Nothing is sent; each field to correct has its message; what was typed stays."""
    number = console.matched()
    await console.sign_in()
    form = await console.browser.get(f"/console/intents/{number}/offer")
    assert form.status_code == 200
    assert 'value="EUR"' in form.text  # the intent's currency

    reply = await console.post(
        f"/console/intents/{number}/offer",
        form,
        name="",
        price="lots",
        currency="euro",
        valid_until="2020-01-01",
        description="Blue, 300 km of range",
        needs="address.home, Not A Field",
    )
    assert reply.status_code == 422
    text = reply.text
    assert 'id="name-error">Give the offer a name' in text
    assert 'id="price-error">Give a price of 0 or more' in text
    assert 'id="currency-error">Give a three-letter currency code' in text
    assert 'id="valid_until-error">That day is over' in text
    assert 'id="needs-error">Give field names like address.home' in text
    assert 'aria-invalid="true" aria-describedby="price-error"' in text
    assert 'value="lots"' in text
    assert 'value="EURO"' in text  # as typed, in capitals
    assert ">Blue, 300 km of range</textarea>" in text
    assert console.exchange.mailbox == []
    assert console.vendor.intents.offers() == []


async def test_an_offer_composed_in_the_console_reaches_the_mailbox(console: Console) -> None:
    """A valid form is signed, encrypted, posted to the intent's mailbox and listed as sent."""
    number = console.matched()
    await console.sign_in()
    form = await console.browser.get(f"/console/intents/{number}/offer")
    sent = await console.post(
        f"/console/intents/{number}/offer",
        form,
        name="Nimbus E1, blue",
        price="18999.50",
        currency="eur",
        delivery_cost="250",
        needs="address.home",
    )
    assert sent.status_code == 303, sent.text
    [made] = console.vendor.intents.offers()
    assert sent.headers["location"] == f"/console/intents?sent={made['id']}#offers"
    assert len(console.exchange.mailbox) == 1
    assert made["offer"]["offer"]["price"] == 18999.5
    assert made["offer"]["offer"]["priceCurrency"] == "EUR"
    assert made["offer"]["needs"] == ["address.home"]
    page = await console.browser.get("/console/intents?sent=1")
    assert "Nimbus E1, blue" in page.text
    assert "18999.50 EUR + 250.00 delivery" in page.text
    assert ">offered<" in page.text


async def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_sent(
    console: Console,
) -> None:
    """403, the refusal page, no offer made."""
    number = console.matched()
    await console.sign_in()
    reply = await console.browser.post(
        f"/console/intents/{number}/offer",
        data={"name": "Nimbus", "price": "1", "currency": "EUR"},
    )
    assert reply.status_code == 403
    assert "not sent from your session" in reply.text
    assert console.exchange.mailbox == []
    assert console.vendor.intents.offers() == []


async def test_the_demand_chart_has_a_bar_per_category_with_the_released_counts(
    console: Console,
) -> None:
    """Countries add up per category; bars scale to the largest; the table says the same."""
    await console.sign_in()
    page = await console.browser.get("/console/demand", params={"period": "2026-11-23"})
    assert page.status_code == 200
    assert console.exchange.asked == [{"period": "2026-11-23", "category": "vehicles"}]
    chart = page.text.split('id="per-category"')[1].split("</figure>")[0]
    assert 'role="img"' in chart
    assert 'aria-labelledby="per-category-title per-category-desc"' in chart
    assert '<title id="per-category-title">Intents per category, 2026-11-23</title>' in chart
    assert "vehicles/cars/electric: 200 intents; vehicles/bicycles/cargo: 100 intents." in chart
    bars = re.findall(
        r'<rect class="bar"[^>]* width="([\d.]+)"[^>]*data-label="([^"]+)" data-count="(\d+)"',
        chart,
    )
    assert bars == [
        ("336.0", "vehicles/cars/electric", "200"),
        ("168.0", "vehicles/bicycles/cargo", "100"),
    ]
    table = page.text.split('id="per-category-table"')[1].split("</table>")[0]
    assert re.findall(r'Category">([^<]+)</th><td data-label="Intents">(\d+)<', table) == [
        ("vehicles/cars/electric", "200"),
        ("vehicles/bicycles/cargo", "100"),
    ]
    assert "FR 80, GB 120" in table
    prices = page.text.split('id="per-price"')[1].split("</figure>")[0]
    assert re.findall(r'data-count="(\d+)"', prices) == ["100", "200"]
    assert "about 3 category cells" in page.text


async def test_a_day_not_over_is_not_asked_of_the_exchange(console: Console) -> None:
    """The period's message is by its field; the exchange is not called."""
    await console.sign_in()
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 86400))
    page = await console.browser.get("/console/demand", params={"period": tomorrow})
    assert 'id="period-error">Only days that are over are released' in page.text
    assert console.exchange.asked == []


async def test_errors_are_pages_on_the_console_and_problems_on_the_api(console: Console) -> None:
    """An unknown console page is HTML; the API's unknown path stays problem+json."""
    await console.sign_in()
    page = await console.browser.get("/console/nowhere")
    assert page.status_code == 404
    assert "There is no such page." in page.text
    assert page.headers["content-type"].startswith("text/html")
    intent_page = await console.browser.get("/console/intents/999/offer")
    assert intent_page.status_code == 404
    assert "No matched intent 999." in intent_page.text
    api = await console.browser.get("/api/nowhere")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"
    listed = await console.browser.get(
        "/api/customers", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert (listed.status_code, listed.json()) == (200, [])


async def test_an_accept_all_policy_is_said_and_recent_requests_listed(console: Console) -> None:
    """Nothing waits for the vendor: no buttons, the latest requests with their answer."""
    person = Identity.generate()
    await console.relates(person)
    await console.sign_in()
    page = await console.browser.get("/console/relationships")
    assert "accepts every relationship request at once" in page.text
    assert "Accept the request of" not in page.text
    recent = page.text.split('id="recent-title"')[1]
    assert person.did[:16] in recent
    assert ">accepted<" in recent


async def test_without_an_exchange_the_demand_page_says_what_to_set(tmp_path: Path) -> None:
    """No exchange in the settings: the page says so instead of asking anyone."""
    async for console in open_console(tmp_path, exchanges=[]):
        await console.sign_in()
        page = await console.browser.get("/console/demand")
        assert page.status_code == 200
        assert "No exchange in the settings" in page.text
        intents = await console.browser.get("/console/intents")
        assert "No exchange in the settings" in intents.text
        assert console.exchange.asked == []
