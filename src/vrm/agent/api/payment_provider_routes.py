"""The payment provider through the JSON API (``/api/payments/provider``, bearer token).

Which provider pays the person's payees — ledger-only, or Stripe with the
platform's secret key and the person's Customer and PaymentMethod — and the
Stripe account each payee is paid to. The secret key goes in, never out: it is
shown as set, its mode and its last four characters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.agent.payments.payees import MAX_ACCOUNT_CHARS
from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.provider_settings import LEDGER_ONLY, STRIPE
from vrm.agent.payments.stripe import STRIPE_API

router = APIRouter(prefix="/api/payments")
StripeId = Annotated[str | None, Field(max_length=255)]


class ProviderIn(Request_):
    """The provider to pay through; for Stripe, the ids it needs and, once, the secret key."""

    provider: Literal["ledger-only", "stripe"]
    customer: Annotated[StripeId, Field(examples=["cus_NffrFeUfNV2Hib"])] = None
    payment_method: Annotated[StripeId, Field(examples=["pm_1Nv0FGQ9RKHgCVdK"])] = None
    secret_key: Annotated[
        StripeId,
        Field(description="The platform's secret key; left out, the one set before is kept."),
    ] = None
    api_base: Annotated[str | None, Field(max_length=2000, examples=[STRIPE_API])] = None


class AccountIn(Request_):
    """The Stripe connected account a payee is paid to (null: none)."""

    account: Annotated[
        str | None, Field(max_length=MAX_ACCOUNT_CHARS, examples=["acct_1Nv0FGQ9RKHgCVdK"])
    ]


@router.get("/provider", tags=["payments"])
def get_provider(agent: Agent) -> dict[str, Any]:
    """The provider payments go through (the secret key only hinted at)."""
    return ProviderDesk(agent).settings().as_json()


@router.put("/provider", tags=["payments"])
def set_provider(body: ProviderIn, agent: Agent) -> dict[str, Any]:
    """Choose the provider; audited. The next pay uses it, no restart needed."""
    desk = ProviderDesk(agent)
    if body.provider == LEDGER_ONLY:
        return desk.use_ledger_only().as_json()
    if body.customer is None or body.payment_method is None:
        raise ValueError(f"{STRIPE} needs customer (cus_…) and payment_method (pm_…)")
    return desk.use_stripe(
        customer=body.customer,
        payment_method=body.payment_method,
        secret_key=body.secret_key,
        api_base=body.api_base,
    ).as_json()


@router.put("/payees/{payee_id}/account", tags=["payments"])
def set_account(payee_id: int, body: AccountIn, agent: Agent) -> dict[str, Any]:
    """Set the Stripe connected account a payee is paid to; audited."""
    return ProviderDesk(agent).set_account(payee_id, body.account).as_json()
