"""Choosing the payment provider, and the account each payee is paid to: kept, sealed, audited."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vrm.agent.audit.described import describe
from vrm.agent.errors import NotFound
from vrm.agent.payments.allocation import Weight
from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.providers import LedgerOnlyProvider
from vrm.agent.payments.stripe import STRIPE_API, StripeProvider
from vrm.agent.personal_agent import PersonalAgent

KEY = "sk_live_51PlatformSecretKey0000Xy7Q"
CUSTOMER = "cus_NffrFeUfNV2Hib"
CARD = "pm_1Nv0FGQ9RKHgCVdK"
ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"


@pytest.fixture
def desk(person: PersonalAgent) -> ProviderDesk:
    """The person's provider desk."""
    return ProviderDesk(person)


def held_in_files(folder: Path, text: str) -> list[str]:
    """The files under ``folder`` holding ``text`` in clear."""
    return [f.name for f in folder.iterdir() if f.is_file() and text.encode() in f.read_bytes()]


def test_payments_are_ledger_only_until_a_provider_is_chosen(desk: ProviderDesk) -> None:
    """A new agent records payments and moves no money."""
    assert desk.settings().as_json() == {"provider": "ledger-only"}
    assert isinstance(desk.provider(), LedgerOnlyProvider)


def test_stripe_is_chosen_with_its_key_sealed_and_shown_only_by_its_end(
    desk: ProviderDesk, person: PersonalAgent, tmp_path: Path
) -> None:
    """Stripe's settings are kept sealed; shown, the key is its mode and last 4 characters."""
    shown = desk.use_stripe(customer=CUSTOMER, payment_method=CARD, secret_key=KEY)
    assert shown.as_json() == {
        "provider": "stripe",
        "api_base": STRIPE_API,
        "customer": CUSTOMER,
        "payment_method": CARD,
        "secret_key": {"set": True, "mode": "live", "ends_with": "Xy7Q"},
    }
    assert shown.describe() == (
        f"stripe (live mode): customer {CUSTOMER} pays with {CARD}, secret key …Xy7Q"
    )
    provider = desk.provider()
    assert isinstance(provider, StripeProvider)
    assert (provider.customer, provider.payment_method, provider.api_base) == (
        CUSTOMER,
        CARD,
        STRIPE_API,
    )
    assert held_in_files(tmp_path, KEY) == []
    assert held_in_files(tmp_path, CUSTOMER) == []

    [changed] = [e for e in person.audit_entries() if e.kind == "payments.provider_changed"]
    assert changed.details["customer"] == CUSTOMER
    assert changed.details["secret_key"] == "replaced"
    assert KEY not in json.dumps(changed.details)


def test_changing_the_card_keeps_the_key_and_ledger_only_forgets_it(desk: ProviderDesk) -> None:
    """Without a new key the one set stays; going back to ledger-only drops it."""
    desk.use_stripe(customer=CUSTOMER, payment_method=CARD, secret_key=KEY)
    changed = desk.use_stripe(customer=CUSTOMER, payment_method="pm_card_visa")
    assert (changed.payment_method, changed.key_ending) == ("pm_card_visa", "Xy7Q")

    assert desk.use_ledger_only().provider == "ledger-only"
    with pytest.raises(ValueError, match="give the platform's Stripe secret key"):
        desk.use_stripe(customer=CUSTOMER, payment_method=CARD)
    assert desk.settings().provider == "ledger-only"


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        ({"secret_key": "pk_live_51PublishableKeyNotSecret"}, "starts with sk_test_ or sk_live_"),
        ({"customer": "Ada Lovelace"}, "a Stripe customer id starts with cus_"),
        ({"payment_method": "4242424242424242"}, "a Stripe payment method id starts with pm_"),
        ({"api_base": "http://api.stripe.com"}, "reached over https"),
        ({"api_base": "http://127.0.0.1:12111"}, "set allow_loopback first"),
    ],
)
def test_bad_settings_are_refused_and_nothing_changes(
    desk: ProviderDesk, change: dict[str, str], refused: str
) -> None:
    """A wrong id, key or address is refused, saying what fits; the provider stays as it was."""
    given = {"customer": CUSTOMER, "payment_method": CARD, "secret_key": KEY} | change
    with pytest.raises(ValueError, match=refused) as raised:
        desk.use_stripe(**given)
    assert "pk_live" not in str(raised.value)
    assert desk.settings().provider == "ledger-only"


def test_a_local_api_set_while_allowed_is_refused_once_loopback_is_off(
    desk: ProviderDesk, person: PersonalAgent
) -> None:
    """A stand-in on this machine needs allow_loopback, at each pay as when it was set."""
    person.set_config("allow_loopback", "true")
    desk.use_stripe(
        customer=CUSTOMER, payment_method=CARD, secret_key=KEY, api_base="http://127.0.0.1:12111/"
    )
    assert isinstance(desk.provider(), StripeProvider)
    person.set_config("allow_loopback", "false")
    with pytest.raises(ValueError, match="set allow_loopback first"):
        desk.provider()


def test_a_payees_account_is_kept_sealed_changed_and_audited(
    desk: ProviderDesk, person: PersonalAgent, tmp_path: Path
) -> None:
    """The account a payee is paid to goes with it, sealed; changing it is in the log."""
    radio = desk.add_payee("Radio Quincunx", Weight(Decimal(1)), account=ACCOUNT)
    assert radio.account == ACCOUNT
    assert person.payees()[0].as_json()["account"] == ACCOUNT
    assert held_in_files(tmp_path, ACCOUNT) == []

    assert desk.set_account(radio.id, None).account is None
    assert desk.set_account(radio.id, "acct_1Other").account == "acct_1Other"
    accounts = [e.details["account"] for e in person.audit_entries() if e.kind == "payee.account"]
    assert accounts == [ACCOUNT, None, "acct_1Other"]


def test_a_bad_account_is_refused_before_the_payee_is_added(
    desk: ProviderDesk, person: PersonalAgent
) -> None:
    """An account that is not acct_… is refused, and no payee is half added."""
    with pytest.raises(ValueError, match="a Stripe connected account id"):
        desk.add_payee("Lark Blog", Weight(Decimal(1)), account="DE89 3704 0044 0532 0130 00")
    assert person.payees() == []
    with pytest.raises(NotFound):
        desk.set_account(99, ACCOUNT)


def test_the_changes_read_as_sentences_in_the_audit_log(
    desk: ProviderDesk, person: PersonalAgent
) -> None:
    """The log says which provider was chosen and where a payee is paid, in words."""
    desk.use_stripe(customer=CUSTOMER, payment_method=CARD, secret_key=KEY)
    desk.use_ledger_only()
    radio = desk.add_payee("Radio Quincunx", Weight(Decimal(1)), account=ACCOUNT)
    desk.set_account(radio.id, None)
    said = [
        describe(entry, {})
        for entry in person.audit_entries()
        if entry.kind in ("payments.provider_changed", "payee.account")
    ]
    assert said == [
        f"Your payments now go through Stripe at {STRIPE_API}: customer {CUSTOMER} pays with "
        f"{CARD} (secret key replaced)",
        "Your payments are now recorded only: no money moves",
        f"Radio Quincunx is now paid to {ACCOUNT}",
        "Radio Quincunx has no payment account now",
    ]
