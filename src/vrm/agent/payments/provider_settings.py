"""Which provider pays the person's payees: ledger-only (the default) or Stripe.

The choice and the Stripe API's address stay in clear in ``settings``
(``payment_provider``). The Stripe secret key and the person's Customer and
PaymentMethod ids — which single the person out at Stripe — are sealed together
as one secret in ``secrets``. Going back to ledger-only forgets them. Every change
is audited (``payments.provider_changed``), never with the secret key; shown, the
key is only "set", its mode and its last four characters, as Stripe's dashboard
shows it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent import keystore
from vrm.agent.audit import service as audit
from vrm.agent.config import load_config
from vrm.agent.payments.providers import LedgerOnlyProvider, PaymentProvider
from vrm.agent.payments.stripe import (
    STRIPE_API,
    StripeProvider,
    check_api_base,
    check_customer,
    check_payment_method,
    check_secret_key,
)
from vrm.vault import Sealer

PROVIDER_SETTING = "payment_provider"
STRIPE_SECRET = "stripe"  # noqa: S105 - the name the secret is kept under, not a secret
LEDGER_ONLY, STRIPE = "ledger-only", "stripe"
PROVIDERS = (LEDGER_ONLY, STRIPE)


@dataclass(frozen=True)
class ProviderSettings:
    """The provider chosen and, for Stripe, what it needs — the secret key only hinted at."""

    provider: str
    api_base: str | None = None
    customer: str | None = None
    payment_method: str | None = None
    key_mode: str | None = None
    """``test`` or ``live``, from the secret key's prefix."""
    key_ending: str | None = None
    """The secret key's last four characters."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict; the secret key as ``{"set", "mode", "ends_with"}`` only."""
        shown: dict[str, Any] = {"provider": self.provider}
        if self.provider == STRIPE:
            shown |= {
                "api_base": self.api_base,
                "customer": self.customer,
                "payment_method": self.payment_method,
                "secret_key": {
                    "set": self.key_ending is not None,
                    "mode": self.key_mode,
                    "ends_with": self.key_ending,
                },
            }
        return shown

    def describe(self) -> str:
        """One line for people, e.g. ``stripe (test mode): customer cus_… pays with pm_…``."""
        if self.provider != STRIPE:
            return "ledger-only: payments are recorded, no money moves"
        at = "" if self.api_base == STRIPE_API else f" at {self.api_base}"
        return (
            f"stripe ({self.key_mode} mode{at}): customer {self.customer} pays with "
            f"{self.payment_method}, secret key …{self.key_ending}"
        )


def load(connection: Connection, sealer: Sealer) -> ProviderSettings:
    """The provider chosen (ledger-only when none was)."""
    chosen = _chosen(connection)
    stored = keystore.read_secret(connection, sealer, STRIPE_SECRET)
    if chosen.get("provider") != STRIPE or stored is None:
        return ProviderSettings(LEDGER_ONLY)
    kept = json.loads(stored)
    key: str = kept["secret_key"]
    return ProviderSettings(
        STRIPE,
        api_base=chosen.get("api_base", STRIPE_API),
        customer=kept["customer"],
        payment_method=kept["payment_method"],
        key_mode="live" if "_live_" in key[:8] else "test",
        key_ending=key[-4:],
    )


def use_ledger_only(connection: Connection, sealer: Sealer, *, now: float) -> ProviderSettings:
    """Record payments without moving money, and forget any Stripe secret."""
    keystore.forget_secret(connection, STRIPE_SECRET)
    _choose(connection, {"provider": LEDGER_ONLY})
    audit.append(
        connection,
        sealer,
        kind="payments.provider_changed",
        details={"provider": LEDGER_ONLY},
        now=now,
    )
    return load(connection, sealer)


def use_stripe(
    connection: Connection,
    sealer: Sealer,
    *,
    customer: str,
    payment_method: str,
    secret_key: str | None,
    api_base: str = STRIPE_API,
    now: float,
) -> ProviderSettings:
    """Pay through Stripe: the person's Customer and PaymentMethod on the platform.

    Args:
        connection: the agent's database, in a transaction.
        sealer: seals the secret.
        customer: the person's Customer id (``cus_…``).
        payment_method: its saved PaymentMethod to charge (``pm_…``).
        secret_key: the platform's secret key; None keeps the one set before.
        api_base: where the Stripe API answers.
        now: the time of the change.

    Raises:
        ValueError: an id, key or address that does not fit, or no secret key given
            while none is kept.
    """
    customer = check_customer(customer)
    payment_method = check_payment_method(payment_method)
    api_base = check_api_base(api_base, allow_loopback=load_config(connection).allow_loopback)
    stored = keystore.read_secret(connection, sealer, STRIPE_SECRET)
    if secret_key is not None:
        key = check_secret_key(secret_key)
    elif stored is not None:
        key = json.loads(stored)["secret_key"]
    else:
        raise ValueError("give the platform's Stripe secret key (sk_test_… or sk_live_…)")
    keystore.keep_secret(
        connection,
        sealer,
        STRIPE_SECRET,
        json.dumps({"secret_key": key, "customer": customer, "payment_method": payment_method}),
    )
    _choose(connection, {"provider": STRIPE, "api_base": api_base})
    audit.append(
        connection,
        sealer,
        kind="payments.provider_changed",
        details={
            "provider": STRIPE,
            "api_base": api_base,
            "customer": customer,
            "payment_method": payment_method,
            "secret_key": "replaced" if secret_key is not None else "kept",
        },
        now=now,
    )
    return load(connection, sealer)


def configured_provider(connection: Connection, sealer: Sealer) -> PaymentProvider:
    """The provider the settings name, ready to pay (ledger-only unless Stripe is set).

    Raises:
        ValueError: the Stripe API address is no longer allowed (plain http on this
            machine after ``allow_loopback`` was turned off).
    """
    settings = load(connection, sealer)
    if settings.provider != STRIPE:
        return LedgerOnlyProvider()
    stored = keystore.read_secret(connection, sealer, STRIPE_SECRET)
    assert stored is not None  # noqa: S101 - load() said stripe only with the secret kept
    kept = json.loads(stored)
    return StripeProvider(
        secret_key=kept["secret_key"],
        customer=kept["customer"],
        payment_method=kept["payment_method"],
        api_base=settings.api_base or STRIPE_API,
        allow_loopback=load_config(connection).allow_loopback,
    )


def _chosen(connection: Connection) -> dict[str, Any]:
    value = connection.execute(
        text("SELECT value FROM settings WHERE name = :name"), {"name": PROVIDER_SETTING}
    ).scalar()
    chosen: dict[str, Any] = {} if value is None else json.loads(value)
    return chosen


def _choose(connection: Connection, chosen: dict[str, Any]) -> None:
    connection.execute(
        text(
            "INSERT INTO settings (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": PROVIDER_SETTING, "value": json.dumps(chosen)},
    )
