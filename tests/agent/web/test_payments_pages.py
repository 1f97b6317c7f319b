"""The Payments page in-process: budget, payees, uses, this month's shares, pay, the ledger."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.agent.payments.providers import CountingProvider, refused
from tests.agent.payments.test_notices import paid_station, receipt
from tests.agent.web.test_pages import submit
from vrm.agent.payments.allocation import Weight
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio


async def post(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> httpx.Response:
    """Submit a form of the Payments page to ``path``."""
    return await submit(client, "/payments", path, **fields)


async def test_a_budget_and_payees_set_on_the_page_are_shared_and_paid(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Budget, a weighted station with terms, a per-use podcast with a use: shares, then paid."""
    empty = await signed_in.get("/payments")
    assert empty.status_code == 200
    assert "No budget yet." in empty.text
    assert "ledger-only" in empty.text

    done = await post(signed_in, "/payments/budget", {"amount": "12.00", "currency": "EUR"})
    assert done.status_code == 303
    station = {
        "name": "Radio Leith",
        "kind": "weight",
        "amount": "1",
        "endpoint": "",
        "terms": "no fund-drive calls\n\nno resale of my contact\n",
    }
    assert (await post(signed_in, "/payments/payees", station)).status_code == 303
    podcast = {"name": "Quince Podcast", "kind": "per_use", "amount": "0.50", "unit": "episode"}
    assert (await post(signed_in, "/payments/payees", podcast)).status_code == 303
    [radio, quince] = person.payees()
    assert radio.terms == ("no fund-drive calls", "no resale of my contact")
    use = {"payee": str(quince.id), "units": "4", "note": "the archive series"}
    assert (await post(signed_in, "/payments/uses", use)).status_code == 303

    shown = (await signed_in.get("/payments")).text
    assert "12.00 EUR a month" in shown
    assert "Your terms: no fund-drive calls; no resale of my contact" in shown
    assert "10.00 EUR" in shown  # the station's share: what the podcast's 4 uses at 0.50 leave
    assert "2.00 EUR" in shown

    paid = await post(signed_in, "/payments/pay", {})
    assert paid.status_code == 303
    assert {(p.payee_name, p.describe_amount(), p.state) for p in person.payments()} == {
        ("Radio Leith", "10.00 EUR", "paid"),
        ("Quince Podcast", "2.00 EUR", "paid"),
    }
    ledger = (await signed_in.get(paid.headers["location"])).text
    assert "This month is paid" in ledger
    assert "paid 12.00 EUR" in ledger


async def test_a_refused_payee_is_shown_again_with_what_was_typed(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A per-use payee without a unit: 422, the reason, the name kept; nothing added."""
    typed = {"name": "Fen Zine", "kind": "per_use", "amount": "0.25", "unit": ""}
    refused_page = await post(signed_in, "/payments/payees", typed)
    assert refused_page.status_code == 422
    assert "Say what a use is" in refused_page.text
    assert 'value="Fen Zine"' in refused_page.text
    assert person.payees() == []

    not_money = await post(signed_in, "/payments/budget", {"amount": "ten", "currency": "EUR"})
    assert not_money.status_code == 422
    assert person.budget() is None
    nothing_to_pay = await post(signed_in, "/payments/pay", {})
    assert nothing_to_pay.status_code == 409
    assert "Nothing was paid." in nothing_to_pay.text


async def test_a_form_without_its_token_changes_nothing(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """No CSRF token: refused, and no budget is set."""
    reply = await signed_in.post("/payments/budget", data={"amount": "5", "currency": "EUR"})
    assert reply.status_code == 403
    assert person.budget() is None


async def test_a_final_failure_can_be_let_through_again_from_the_ledger(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """A refused payment shows its reason and a button; pressed, the next pay tries it."""
    person.set_budget("5.00", "EUR")
    radio = person.add_payee("Radio Leith", Weight(Decimal(1)))
    [failed] = person.pay(None, CountingProvider(failures={radio.id: [refused()]}))
    page = (await signed_in.get("/payments")).text
    assert "failed" in page
    assert "Try again at the next pay" in page
    assert "account is closed" in page
    again = await post(signed_in, f"/payments/{failed.id}/retry", {})
    assert again.status_code == 303
    assert person.payments()[0].retryable is True
    assert "Try again at the next pay" not in (await signed_in.get("/payments")).text
    missing = await post(signed_in, "/payments/999/retry", {})
    assert missing.status_code == 404


async def test_a_payees_signed_receipt_shows_in_the_ledger_and_in_records(
    signed_in: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """Once the station signs its receipt, the ledger and Records say it acknowledged the terms."""
    contact, sent = paid_station(person)
    told = (await signed_in.get("/payments")).text
    assert "Told; waiting for the payee's receipt." in told
    person.receive(receipt(contact, sent.notice, note="Thank you"))

    ledger = (await signed_in.get("/payments")).text
    assert "Acknowledged by Radio Quincunx, with your terms: no fund-drive calls;" in ledger
    records = (await signed_in.get("/records")).text
    assert "Payments acknowledged" in records
    assert "7.50 EUR" in records
    assert "no fund-drive calls; no resale of my contact" in records
