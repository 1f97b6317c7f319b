"""The payment provider through /api/payments/provider, paying the Stripe stand-in over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.stubs.stripe_stub import BLOG, CUSTOMER, RADIO, SECRET_KEY, StripeStub
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio


@pytest.fixture
def stripe(stub: StripeStub, person: PersonalAgent) -> StripeStub:
    """The stand-in, emptied, and the agent allowed to reach it on this machine."""
    stub.reset()
    person.set_config("allow_loopback", "true")
    return stub


def stripe_settings(stripe: StripeStub, **more: Any) -> dict[str, Any]:
    """A PUT body choosing Stripe through the stand-in."""
    return {
        "provider": "stripe",
        "customer": CUSTOMER,
        "payment_method": "pm_card_visa",
        "secret_key": SECRET_KEY,
        "api_base": stripe.url,
    } | more


async def test_the_provider_is_shown_without_its_secret(
    app: httpx.AsyncClient, stripe: StripeStub
) -> None:
    """Ledger-only at first; once Stripe is set, its key shows only as its mode and end."""
    assert (await app.get("/api/payments/provider")).json() == {"provider": "ledger-only"}
    chosen = await app.put("/api/payments/provider", json=stripe_settings(stripe))
    assert chosen.status_code == 200, chosen.text
    shown = await app.get("/api/payments/provider")
    assert shown.json() == chosen.json()
    assert shown.json()["secret_key"] == {"set": True, "mode": "test", "ends_with": "4242"}
    assert SECRET_KEY not in shown.text

    kept = await app.put("/api/payments/provider", json=stripe_settings(stripe, secret_key=None))
    assert kept.json()["secret_key"]["ends_with"] == "4242"


async def test_a_pay_uses_the_provider_set_a_moment_before(
    app: httpx.AsyncClient, stripe: StripeStub
) -> None:
    """Stripe charges each payee's account; back to ledger-only, the next month moves nothing."""
    await app.put("/api/payments/budget", json={"amount": "10.00", "currency": "EUR"})
    radio = await app.post(
        "/api/payments/payees", json={"name": "Radio Quincunx", "weight": "1", "account": RADIO}
    )
    assert radio.json()["account"] == RADIO
    blog = await app.post("/api/payments/payees", json={"name": "Lark Blog", "fixed": "3"})
    account = await app.put(
        f"/api/payments/payees/{blog.json()['id']}/account", json={"account": BLOG}
    )
    assert account.json()["account"] == BLOG

    await app.put("/api/payments/provider", json=stripe_settings(stripe))
    march = (await app.post("/api/payments/pay", json={"month": "2026-03"})).json()
    assert [(p["state"], p["provider"]) for p in march] == [("paid", "stripe")] * 2
    charges = stripe.charges()
    assert sorted((c["destination"], c["amount"]) for c in charges) == [(BLOG, 300), (RADIO, 700)]
    assert {p["reference"] for p in march} == {c["intent"] for c in charges}

    await app.put("/api/payments/provider", json={"provider": "ledger-only"})
    april = (await app.post("/api/payments/pay", json={"month": "2026-04"})).json()
    assert [p["provider"] for p in april] == ["ledger-only"] * 2
    assert len(stripe.charges()) == 2


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "said"),
    [
        ("put", "/api/payments/provider", {"provider": "paypal"}, 422, "provider"),
        ("put", "/api/payments/provider", {"provider": "stripe"}, 422, "needs customer"),
        (
            "put",
            "/api/payments/provider",
            {"provider": "stripe", "customer": CUSTOMER, "payment_method": "pm_card_visa"},
            422,
            "give the platform's Stripe secret key",
        ),
        (
            "put",
            "/api/payments/provider",
            {
                "provider": "stripe",
                "customer": CUSTOMER,
                "payment_method": "pm_card_visa",
                "secret_key": "sk_nope_WrongShape1234",
            },
            422,
            "starts with sk_test_ or sk_live_",
        ),
        ("put", "/api/payments/payees/9/account", {"account": BLOG}, 404, "no payee 9"),
        (
            "post",
            "/api/payments/payees",
            {"name": "Lark Blog", "weight": "1", "account": "FR76 3000 6000"},
            422,
            "Stripe connected account id",
        ),
    ],
)
async def test_mistakes_are_problems_that_never_repeat_a_key(
    app: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    said: str,
) -> None:
    """An unknown provider, missing ids, a malformed key or account: problem+json, key unsaid."""
    response = await app.request(method.upper(), path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert said in response.json()["detail"]
    assert "WrongShape1234" not in response.text
    assert (await app.get("/api/payments/payees")).json() == []
