"""The person's pages in-process: sign-in, sessions, CSRF, headers, and what Home shows."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.conftest import PASSPHRASE
from tests.agent.vendors import Clock, VendorNetwork, connect, deliver, refusal
from vrm.agent.api.app import create_agent_app
from vrm.agent.intents import service as intents
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.agent.web import SignInLimits
from vrm.protocol import Discovery, Identity, compose, encrypt_for
from vrm.protocol.v1.intents import INTENT, OFFER, Intent
from vrm.web.sessions import COOKIE

pytestmark = pytest.mark.anyio
BASE = "http://agent.test"
EXCHANGE = Identity.generate()


def build_client(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path, limits: SignInLimits
) -> httpx.AsyncClient:
    app = create_agent_app(
        person,
        api_token=agent.api_token,
        seen_ids_path=tmp_path / "seen-ids.db",
        database_path=tmp_path / "agent.db",
        sign_in_limits=limits,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


@pytest.fixture
async def browser(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the agent's app, keeping cookies like a browser; no pause after a failure."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def submit(
    client: httpx.AsyncClient, page: str, action: str, **fields: Any
) -> httpx.Response:
    """Submit the form of ``page`` to ``action`` with its CSRF token."""
    form = await client.get(page)
    return await client.post(action, data={"csrf_token": csrf_of(form), **fields})


async def sign_in(client: httpx.AsyncClient, passphrase: str = PASSPHRASE) -> httpx.Response:
    form = await client.get("/sign-in")
    return await client.post(
        "/sign-in", data={"csrf_token": csrf_of(form), "passphrase": passphrase}
    )


async def test_every_page_but_sign_in_needs_a_session(browser: httpx.AsyncClient) -> None:
    """Home without a session goes to the sign-in page; the API still wants its token."""
    reply = await browser.get("/")
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in"
    assert (await browser.get("/sign-in")).status_code == 200
    assert (await browser.get("/api/profile")).status_code == 401
    assert (await browser.get("/health")).json() == {"status": "ok"}


async def test_a_wrong_passphrase_shows_the_form_again(browser: httpx.AsyncClient) -> None:
    """The form comes back with a message, and no session is signed in."""
    reply = await sign_in(browser, "not my passphrase")
    assert reply.status_code == 422
    assert "does not open your agent" in reply.text
    assert 'name="passphrase"' in reply.text
    assert (await browser.get("/")).status_code == 303


async def test_too_many_wrong_passphrases_stop_sign_in_for_a_while(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """After the limit, even the right passphrase waits: 429 with Retry-After."""
    limits = SignInLimits(failure_delay=0, max_failures=2, lockout=60)
    async with build_client(agent, person, tmp_path, limits) as client:
        for _ in range(2):
            assert (await sign_in(client, "guess")).status_code == 422
        stopped = await sign_in(client)
        assert stopped.status_code == 429
        assert stopped.headers["retry-after"] in {"59", "60"}
        assert "Too many wrong passphrases" in stopped.text
        assert (await client.get("/")).status_code == 303


async def test_each_wrong_passphrase_waits_before_its_answer(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """A wrong passphrase is answered only after the pause."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0.3)) as client:
        started = time.monotonic()
        assert (await sign_in(client, "guess")).status_code == 422
        assert time.monotonic() - started >= 0.3


async def test_signing_in_sets_a_strict_cookie_and_opens_home(browser: httpx.AsyncClient) -> None:
    """No session before signing in; after, an HttpOnly SameSite=Strict one; Home opens."""
    first = await browser.get("/sign-in")
    assert COOKIE not in browser.cookies  # a visitor holds no session, only the form's token
    form_cookie = first.headers["set-cookie"].lower()
    assert "httponly" in form_cookie
    assert "samesite=strict" in form_cookie
    reply = await browser.post(
        "/sign-in", data={"csrf_token": csrf_of(first), "passphrase": PASSPHRASE}
    )
    assert reply.status_code == 303
    assert reply.headers["location"] == "/"
    cookie = next(c for c in reply.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on this test's origin
    home = await browser.get("/")
    assert home.status_code == 200
    assert "<h1>Home</h1>" in home.text


async def test_a_sign_in_form_from_elsewhere_is_refused(browser: httpx.AsyncClient) -> None:
    """The sign-in form's token must match its cookie: another site's form is refused."""
    await browser.get("/sign-in")
    forged = await browser.post(
        "/sign-in", data={"csrf_token": "made-up", "passphrase": PASSPHRASE}
    )
    assert forged.status_code == 403
    assert (await browser.get("/")).status_code == 303


async def test_many_visitors_do_not_crowd_out_a_sign_in(browser: httpx.AsyncClient) -> None:
    """Thousands of sign-in pages opened elsewhere leave the person's form valid."""
    form = await browser.get("/sign-in")
    async with httpx.AsyncClient(transport=browser._transport, base_url=BASE) as others:
        for _ in range(1100):
            others.cookies.clear()
            await others.get("/sign-in")
    reply = await browser.post(
        "/sign-in", data={"csrf_token": csrf_of(form), "passphrase": PASSPHRASE}
    )
    assert reply.status_code == 303


async def test_signing_out_after_the_session_is_over_goes_to_sign_in(
    browser: httpx.AsyncClient,
) -> None:
    """A sign-out from a page left open past the session's end is no error."""
    await sign_in(browser)
    home = await browser.get("/")
    browser.cookies.clear()
    reply = await browser.post("/sign-out", data={"csrf_token": csrf_of(home)})
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in"


async def test_the_cookie_is_secure_over_https(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Served over https, the session cookie is marked Secure."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        client.base_url = httpx.URL("https://agent.test")
        form = await client.get("/sign-in")
        assert "secure" in form.headers["set-cookie"].lower()


async def test_pages_carry_the_security_headers(browser: httpx.AsyncClient) -> None:
    """CSP (self only, no framing, forms to self), nosniff and no referrer on every page."""
    await sign_in(browser)
    for path in ("/sign-in", "/", "/static/vrm.css"):
        reply = await browser.get(path)
        policy = reply.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "form-action 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
    home = await browser.get("/")
    assert "<script" not in home.text
    assert " style=" not in home.text


async def test_sign_out_ends_the_session(browser: httpx.AsyncClient) -> None:
    """After signing out, the old cookie opens nothing."""
    await sign_in(browser)
    old = browser.cookies[COOKIE]
    home = await browser.get("/")
    reply = await browser.post("/sign-out", data={"csrf_token": csrf_of(home)})
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in"
    browser.cookies.set(COOKIE, old)
    assert (await browser.get("/")).status_code == 303


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_a_post_without_the_right_csrf_token_is_refused(
    browser: httpx.AsyncClient, token: str | None
) -> None:
    """Sign-out and sign-in without the session's token: 403, and nothing changed."""
    await sign_in(browser)
    data = {} if token is None else {"csrf_token": token}
    refused = await browser.post("/sign-out", data=data)
    assert refused.status_code == 403
    assert "Nothing was changed" in refused.text
    assert "content-security-policy" in refused.headers
    assert (await browser.get("/")).status_code == 200  # still signed in
    other = httpx.AsyncClient(transport=browser._transport, base_url=BASE)
    async with other:
        await other.get("/sign-in")
        refused = await other.post("/sign-in", data={**data, "passphrase": PASSPHRASE})
        assert refused.status_code == 403
        assert (await other.get("/")).status_code == 303  # not signed in


async def test_home_with_nothing_to_do_says_so(browser: httpx.AsyncClient) -> None:
    """A new agent: every list says in words that it is empty; the creation is a change."""
    await sign_in(browser)
    home = (await browser.get("/")).text
    assert "Nothing needs your attention." in home
    assert "No grant is on hold" in home
    assert "No delivery failed." in home
    assert "No offer is waiting for an answer." in home
    assert "No erasure is waiting" in home
    assert "Your agent was created" in home


async def test_home_lists_what_needs_attention(
    browser: httpx.AsyncClient,
    person: PersonalAgent,
    network: VendorNetwork,
    worker: DeliveryWorker,
    clock: Clock,
) -> None:
    """A held grant, a failed delivery, an unanswered offer and an unconfirmed erasure."""
    person.set_field("email.home", "me@example.org", changed_by="test")
    await connect(person, network, "Corner Grocer", clock=clock, state=None)
    person.grant("Corner Grocer", ["email.home"], purpose="receipts")
    bank, _ = await connect(person, network, "Leith Bank", clock=clock, state=None)
    network.script(bank, refusal(400, "bad_signature"))
    await connect(person, network, "Old Magazine", clock=clock)
    person.request_erasure("Old Magazine")
    await deliver(worker)
    offer_for_an_intent(person, network.add("Kitchen Shop"))

    await sign_in(browser)
    home = (await browser.get("/")).text
    assert "Nothing needs your attention." not in home
    held = section(home, "held")
    assert "Corner Grocer" in held
    assert "email.home" in held
    assert "the vendor has not accepted" in held
    failed = section(home, "failed")
    assert "Leith Bank" in failed
    assert "bad_signature" in failed
    offers = section(home, "offers")
    assert "Kitchen Shop" in offers
    assert "512.00 EUR" in offers
    assert "a quiet dishwasher" in offers
    assert "Old Magazine" in section(home, "erasures")
    changes = section(home, "changes").split("<li>")
    assert "Received offer" in changes[1]  # the newest first, in words


def section(page: str, ident: str) -> str:
    found = re.search(rf'id="{ident}".*?</(section|ol)>', page, re.S)
    assert found, f"no #{ident} on the page"
    return found.group(0)


def offer_for_an_intent(person: PersonalAgent, seller: object) -> None:
    """A live intent with one offer received for it (kept as the mailbox fetch keeps it)."""
    demand = {
        "category": "home/appliances",
        "description": "a quiet dishwasher",
        "priceSpecification": {"maxPrice": 600, "priceCurrency": "EUR"},
        "areaServed": {"addressCountry": "IE"},
        "validThrough": int(time.time()) + 86400,
    }
    where = Discovery(
        did=EXCHANGE.did, name="exchange", inbox="https://x.example/inbox", message_types=[INTENT]
    )
    with person.engine.begin() as connection:
        record = intents.publish(
            connection,
            person.sealer,
            exchange_url="https://x.example",
            exchange=where,
            intent=Intent.model_validate({"demand": demand, "terms": ["SD-BASE"]}),
            now=person.clock(),
        )
    identity, name, url = seller.identity, seller.name, seller.url  # type: ignore[attr-defined]
    body = {
        "intent": record.message_id,
        "offer": {
            "name": "Quiet dishwasher",
            "price": 500.0,
            "deliveryCost": 12.0,
            "priceCurrency": "EUR",
            "validThrough": int(time.time()) + 3600,
        },
        "seller": {"name": name, "url": url, "did": identity.did},
        "accepts_terms": ["SD-BASE"],
    }
    _, token = compose(identity, type=OFFER, to=record.pseudonym, body=body)
    fetched = [{"id": 1, "message": encrypt_for(record.pseudonym, token)}]
    with person.engine.begin() as connection:
        intents.take_offers(connection, person.sealer, record, fetched, now=person.clock())
