"""Paying through Stripe, against a stand-in of Stripe's API in its own process over HTTP.

The stand-in (``tests/stubs/stripe_api.py``) keeps every charge it makes, so each test
counts the money that actually moved, not the calls the provider made.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.stubs.stripe_stub import (
    BLOG,
    CUSTOMER,
    RADIO,
    SECRET_KEY,
    StripeStub,
)
from vrm.agent.payments.allocation import Fixed, Weight
from vrm.agent.payments.payees import Payee
from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.providers import PaymentFailed
from vrm.agent.payments.stripe import (
    METADATA_KEY,
    STRIPE_VERSION,
    StripeProvider,
    check_api_base,
    stripe_amount,
)
from vrm.agent.personal_agent import PersonalAgent

MARCH = "2026-03"
DECLINING_CARD = "pm_card_chargeDeclined"


@pytest.fixture
def stripe(stub: StripeStub) -> StripeStub:
    """The stand-in, emptied for this test."""
    stub.reset()
    return stub


def two_payees(person: PersonalAgent, *, blog_account: str | None = BLOG) -> tuple[Payee, Payee]:
    """10.00 EUR a month: Radio Quincunx by weight (7.00), Lark Blog a fixed 3.00."""
    person.set_budget("10.00", "EUR")
    desk = ProviderDesk(person)
    radio = desk.add_payee("Radio Quincunx", Weight(Decimal(1)), account=RADIO)
    blog = desk.add_payee("Lark Blog", Fixed(Decimal(3)), account=blog_account)
    return radio, blog


def provider(
    stripe: StripeStub,
    *,
    payment_method: str = "pm_card_visa",
    secret_key: str = SECRET_KEY,
    timeout: float = 10.0,
) -> StripeProvider:
    """A Stripe provider for the stand-in."""
    return StripeProvider(
        secret_key=secret_key,
        customer=CUSTOMER,
        payment_method=payment_method,
        api_base=stripe.url,
        allow_loopback=True,
        timeout=timeout,
    )


def creates(stripe: StripeStub) -> list[dict[str, Any]]:
    """The requests that asked the stand-in to create a PaymentIntent."""
    return [
        r for r in stripe.requests() if r["method"] == "POST" and r["path"] == "/v1/payment_intents"
    ]


def test_a_month_paid_to_two_payees_makes_two_destination_charges(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """Each payee's account gets its share in one charge; the ledger keeps the intents' ids."""
    radio, blog = two_payees(person)
    paid = person.pay(MARCH, provider(stripe))
    assert [(p.payee_id, p.state, p.amount, p.provider) for p in paid] == [
        (radio.id, "paid", 700, "stripe"),
        (blog.id, "paid", 300, "stripe"),
    ]
    charges = stripe.charges()
    moved = sorted((c["destination"], c["amount"], c["currency"], c["customer"]) for c in charges)
    assert moved == [
        (BLOG, 300, "eur", CUSTOMER),
        (RADIO, 700, "eur", CUSTOMER),
    ]
    by_account = {c["destination"]: c["intent"] for c in charges}
    assert [p.reference for p in paid] == [by_account[RADIO], by_account[BLOG]]
    assert all(p.reference and p.reference.startswith("pi_") for p in paid)

    sent = creates(stripe)
    assert [r["idempotency_key"] for r in sent] == [p.idempotency_key for p in paid]
    assert {r["stripe_version"] for r in stripe.requests()} == {STRIPE_VERSION}
    for request, payment in zip(sent, paid, strict=True):
        form = request["form"]
        assert form["confirm"] == form["off_session"] == "true"
        assert form[f"metadata[{METADATA_KEY}]"] == payment.idempotency_key
        assert "Radio Quincunx" not in json.dumps(form)
        assert "Lark Blog" not in json.dumps(form)


@pytest.mark.parametrize(
    ("failure", "timeout"),
    [({"status": 500}, 10.0), ({"drop": True}, 10.0), ({"delay": 2.0}, 0.5)],
    ids=["a 500", "a dropped connection", "no answer in time"],
)
def test_a_charge_whose_answer_was_lost_is_retried_without_paying_twice(
    person: PersonalAgent, stripe: StripeStub, failure: dict[str, Any], timeout: float
) -> None:
    """Stripe charged but the answer was lost: the payment is retried and finds that charge."""
    two_payees(person)
    stripe.fail_next(after_commit=True, **failure)
    lost, fine = person.pay(MARCH, provider(stripe, timeout=timeout))
    assert (lost.state, lost.retryable, lost.reference) == ("failed", True, None)
    assert fine.state == "paid"
    assert len(stripe.charges()) == 2  # the money moved though the answer did not come

    radio, blog = person.pay(MARCH, provider(stripe))
    assert [(radio.state, radio.attempts), (blog.state, blog.attempts)] == [
        ("paid", 2),
        ("paid", 1),
    ]
    charges = stripe.charges()
    assert len(charges) == 2
    assert radio.reference == next(c["intent"] for c in charges if c["destination"] == RADIO)


def test_a_retry_after_stripe_forgot_the_key_still_finds_the_first_charge(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """Stripe keeps idempotency keys 24 hours; a retry days later still pays nobody twice."""
    two_payees(person)
    stripe.fail_next(status=500, after_commit=True)
    person.pay(MARCH, provider(stripe))
    stripe.forget_keys()
    radio, _blog = person.pay(MARCH, provider(stripe))
    assert radio.state == "paid"
    assert len(stripe.charges()) == 2
    assert len(creates(stripe)) == 2  # found by its key in the metadata, not created again


def test_a_failure_before_the_charge_is_retried_and_paid_once(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """A 503 before anything was charged: the next pay charges it, under the same key."""
    two_payees(person)
    stripe.fail_next(status=503)
    radio, _blog = person.pay(MARCH, provider(stripe))
    assert (radio.state, radio.retryable) == ("failed", True)
    assert "Stripe is busy or unavailable (503)" in (radio.last_error or "")
    assert [c["destination"] for c in stripe.charges()] == [BLOG]

    radio, _blog = person.pay(MARCH, provider(stripe))
    assert radio.state == "paid"
    assert sorted(c["destination"] for c in stripe.charges()) == [BLOG, RADIO]
    keys = [r["idempotency_key"] for r in creates(stripe) if r["form"]["amount"] == "700"]
    assert keys == [radio.idempotency_key] * 2


def test_a_declined_card_fails_and_the_next_pay_leaves_it(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """A declined card is final, in Stripe's words; paying again asks Stripe nothing."""
    two_payees(person)
    paid = person.pay(MARCH, provider(stripe, payment_method=DECLINING_CARD))
    assert [(p.state, p.retryable) for p in paid] == [("failed", False)] * 2
    assert all("Your card was declined. (generic_decline)" in (p.last_error or "") for p in paid)
    asked = len(stripe.requests())

    again = person.pay(MARCH, provider(stripe, payment_method=DECLINING_CARD))
    assert [p.attempts for p in again] == [1, 1]
    assert len(stripe.requests()) == asked
    assert stripe.charges() == []


def test_a_declined_payment_tried_with_another_card_charges_the_same_intent_once(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """After the card is replaced, trying the payment again confirms its intent: one charge."""
    radio, _blog = two_payees(person)
    with pytest.raises(PaymentFailed) as declined:
        provider(stripe, payment_method=DECLINING_CARD).pay(700, "EUR", radio, "vrm-pay-k1")
    assert not declined.value.retryable
    [intent] = [r for r in creates(stripe)]

    reference = provider(stripe).pay(700, "EUR", radio, "vrm-pay-k1")
    assert [c["intent"] for c in stripe.charges()] == [reference]
    assert len(creates(stripe)) == 1
    assert stripe.requests()[-1]["path"] == f"/v1/payment_intents/{reference}/confirm"
    assert intent["idempotency_key"] == "vrm-pay-k1"
    assert provider(stripe).pay(700, "EUR", radio, "vrm-pay-k1") == reference
    assert len(stripe.charges()) == 1


def test_a_refused_secret_key_says_so_and_charges_nothing(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """A wrong secret key: a final failure that says what to do, and never repeats the key."""
    two_payees(person)
    wrong = "sk_test_NotThePlatformsKey00009999"
    paid = person.pay(MARCH, provider(stripe, secret_key=wrong))
    assert [(p.state, p.retryable) for p in paid] == [("failed", False)] * 2
    error = paid[0].last_error or ""
    assert error.startswith("Stripe refused the secret key (401)")
    assert wrong not in error
    assert "9999" not in error
    assert stripe.charges() == []


def test_a_payee_without_an_account_is_refused_before_calling_stripe(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """A payee with no account to be paid to fails for good, saying how to set one."""
    _radio, blog = two_payees(person, blog_account=None)
    radio, lark = person.pay(MARCH, provider(stripe))
    assert radio.state == "paid"
    assert (lark.state, lark.retryable) == ("failed", False)
    assert lark.last_error == (
        f"Lark Blog has no Stripe account to be paid to: set it with "
        f"vrm pay payees account {blog.id} acct_…"
    )
    assert [c["destination"] for c in stripe.charges()] == [RADIO]
    assert len(creates(stripe)) == 1


def test_an_unknown_account_is_refused_in_stripes_words(
    person: PersonalAgent, stripe: StripeStub
) -> None:
    """Stripe does not know the payee's account: a final failure naming it."""
    two_payees(person, blog_account="acct_1NobodyKnows")
    _radio, lark = person.pay(MARCH, provider(stripe))
    assert (lark.state, lark.retryable) == ("failed", False)
    assert "No such destination: 'acct_1NobodyKnows' (resource_missing)" in (lark.last_error or "")


def test_the_secret_key_stays_out_of_the_ledger_the_audit_log_and_the_files(
    person: PersonalAgent, stripe: StripeStub, tmp_path: Path
) -> None:
    """Configured, used and failing once, the secret key shows nowhere but sealed."""
    two_payees(person)
    person.set_config("allow_loopback", "true")
    desk = ProviderDesk(person)
    desk.use_stripe(
        customer=CUSTOMER,
        payment_method="pm_card_visa",
        secret_key=SECRET_KEY,
        api_base=stripe.url,
    )
    stripe.fail_next(status=500, after_commit=True)
    person.pay(MARCH, desk.provider())
    paid = person.pay(MARCH, desk.provider())
    assert [p.state for p in paid] == ["paid", "paid"]

    assert SECRET_KEY not in json.dumps([p.as_json() for p in person.payments()])
    assert SECRET_KEY not in json.dumps([e.details for e in person.audit_entries()])
    assert SECRET_KEY not in json.dumps(desk.settings().as_json())
    assert SECRET_KEY not in repr(desk.provider())
    for stored in tmp_path.iterdir():
        if stored.is_file():
            held = stored.read_bytes()
            assert SECRET_KEY.encode() not in held, stored.name
            assert CUSTOMER.encode() not in held, stored.name


@pytest.mark.parametrize(
    ("minor", "currency", "units"),
    [
        (1250, "EUR", 1250),
        (500, "JPY", 500),
        (5, "ISK", 500),
        (1200, "MGA", 12),
        (5120, "KWD", 5120),
    ],
)
def test_amounts_are_counted_as_stripe_counts_them(minor: int, currency: str, units: int) -> None:
    """ISO 4217 minor units become Stripe's: the same for most, ISK in hundredths, MGA whole."""
    assert stripe_amount(minor, currency) == units


@pytest.mark.parametrize(("minor", "currency"), [(1250, "MGA"), (5124, "KWD")])
def test_an_amount_stripe_cannot_take_is_refused(minor: int, currency: str) -> None:
    """A fraction Stripe does not take (under 1 MGA, a single fils) is refused, said why."""
    with pytest.raises(ValueError, match=f"Stripe takes no fraction of {currency}"):
        stripe_amount(minor, currency)


@pytest.mark.parametrize(
    ("url", "allow_loopback", "refused"),
    [
        ("https://api.stripe.com/", False, None),
        ("http://api.stripe.com", True, "reached over https"),
        ("http://127.0.0.1:9", False, "set allow_loopback first"),
        ("http://127.0.0.1:9", True, None),
        ("ftp://api.stripe.com", True, "is an https URL"),
    ],
)
def test_the_api_is_reached_over_https_or_on_this_machine_when_allowed(
    url: str, allow_loopback: bool, refused: str | None
) -> None:
    """Plain http only to this machine, and only with allow_loopback on."""
    if refused is None:
        assert check_api_base(url, allow_loopback=allow_loopback) == url.rstrip("/")
    else:
        with pytest.raises(ValueError, match=refused):
            check_api_base(url, allow_loopback=allow_loopback)
