"""EmanciPay through Stripe with ``vrm up`` and the Stripe stand-in, each in its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_agent_service import prepare_home, serve
from tests.stubs.stripe_stub import BLOG, CUSTOMER, RADIO, SECRET_KEY, StripeStub, start_stripe_stub

pytestmark = pytest.mark.e2e


@pytest.fixture
def stripe() -> Iterator[StripeStub]:
    """The Stripe stand-in."""
    running = start_stripe_stub()
    yield running
    running.service.stop()


def test_a_lost_answer_is_paid_once_after_the_agent_restarts(
    tmp_path: Path, stripe: StripeStub
) -> None:
    """Set up over the API, a charge's answer lost, the agent restarted: one charge per payee."""
    home = tmp_path / "agent"
    token = prepare_home(home)
    agent = serve(home, token)
    try:
        chosen = agent.api.put(
            "/api/payments/provider",
            json={
                "provider": "stripe",
                "customer": CUSTOMER,
                "payment_method": "pm_card_visa",
                "secret_key": SECRET_KEY,
                "api_base": stripe.url,
            },
        )
        assert chosen.status_code == 200, chosen.text
        agent.api.put("/api/payments/budget", json={"amount": "10.00", "currency": "EUR"})
        for payee in (
            {"name": "Radio Quincunx", "weight": "1", "account": RADIO},
            {"name": "Lark Blog", "fixed": "3", "account": BLOG},
        ):
            added = agent.api.post("/api/payments/payees", json=payee)
            assert added.status_code == 201, added.text

        stripe.fail_next(drop=True, after_commit=True)
        first = agent.api.post("/api/payments/pay", json={"month": "2026-03"}).json()
        assert [(p["state"], p["retryable"]) for p in first] == [("failed", True), ("paid", False)]
    finally:
        agent.api.close()
        agent.service.stop()

    agent = serve(home, token)
    try:
        again = agent.api.post("/api/payments/pay", json={"month": "2026-03"}).json()
        assert [p["state"] for p in again] == ["paid", "paid"]
        charges = stripe.charges()
        assert sorted((c["destination"], c["amount"]) for c in charges) == [
            (BLOG, 300),
            (RADIO, 700),
        ]
        assert {p["reference"] for p in again} == {c["intent"] for c in charges}
        shown = agent.api.get("/api/payments/provider").text
        assert SECRET_KEY not in shown
    finally:
        agent.api.close()
        agent.service.stop()
