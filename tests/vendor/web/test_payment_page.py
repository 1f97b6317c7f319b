"""The console's Payments page: payments people told the endpoint of, with their terms."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.vendor.people import REPLY_TO
from tests.vendor.web.test_console_pages import Console, open_console
from vrm.protocol import PAYMENT_NOTICE, Identity

pytestmark = pytest.mark.anyio
TERMS = ["no fund-drive calls", "no resale of my contact"]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    """The console of an endpoint, not signed in yet."""
    async for opened in open_console(tmp_path):
        yield opened


def notice(payment: str, month: str, amount: str, terms: list[str]) -> dict[str, object]:
    return {
        "payment": payment,
        "month": month,
        "amount": amount,
        "currency": "EUR",
        "provider": "stripe",
        "reference": f"pi_{payment[-6:]}",
        "terms": terms,
        "reply_to": REPLY_TO,
    }


async def test_payments_are_listed_with_their_terms_and_filtered_by_month(
    console: Console,
) -> None:
    """Two payers' notices reach the inbox; the page lists both, counts the terms, sums them."""
    assert (await console.browser.get("/console/payments")).status_code == 303  # sign in first
    await console.sign_in()
    empty = await console.browser.get("/console/payments")
    assert "No payment yet." in empty.text

    one, other = Identity.generate(), Identity.generate()
    await console.arrives(one, PAYMENT_NOTICE, notice("vrm-paid-aaaaaa", "2026-10", "6.00", TERMS))
    await console.arrives(
        other, PAYMENT_NOTICE, notice("vrm-paid-bbbbbb", "2026-11", "2.50", TERMS[:1])
    )
    page = (await console.browser.get("/console/payments")).text
    assert "6.00 EUR for 2026-10" in page
    assert "2.50 EUR for 2026-11" in page
    assert 'no fund-drive calls <span class="hint">(2 payments)' in page
    assert 'no resale of my contact <span class="hint">(1 payment)' in page
    assert "Received: 8.50 EUR." in page
    assert "pi_bbbbbb" in page

    november = (await console.browser.get("/console/payments", params={"month": "2026-11"})).text
    assert "2.50 EUR for 2026-11" in november
    assert "6.00 EUR" not in november
    odd = await console.browser.get("/console/payments", params={"month": "<b>"})
    assert odd.status_code == 200  # a month that is not one: every month
    assert "&lt;b&gt;" not in odd.text
