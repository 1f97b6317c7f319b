"""The JSON API for EmanciPay (under ``/api/payments``, bearer token).

The monthly budget, payees and their share rules, logged uses, a month's
allocation previewed, one "pay" for the month, and the ledger. Amounts travel as
exact decimal text ("12.50"), never as JSON numbers. Until a real provider is
configured, payments go through the ledger-only provider (no money moves).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.agent.payments.allocation import rule_from_json
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.payments.payees import (
    MAX_ACCOUNT_CHARS,
    MAX_NAME_CHARS,
    MAX_NOTE_CHARS,
    MAX_TERMS,
    MAX_URL_CHARS,
)
from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.providers import PaymentProvider
from vrm.agent.personal_agent import PersonalAgent

router = APIRouter(prefix="/api/payments")
Decimal_ = Annotated[str, Field(min_length=1, max_length=40, examples=["12.50"])]
Month = Annotated[str | None, Query(max_length=7, examples=["2026-03"])]


class BudgetIn(Request_):
    """The monthly budget: an amount and its ISO 4217 currency."""

    amount: Decimal_
    currency: Annotated[str, Field(min_length=3, max_length=3, examples=["EUR"])]


class PayeeIn(Request_):
    """A payee: give exactly one of ``fixed``, ``weight``, or ``per_use`` with ``unit``."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_CHARS)]
    fixed: Decimal_ | None = None
    weight: Decimal_ | None = None
    per_use: Decimal_ | None = None
    unit: Annotated[str | None, Field(max_length=40, examples=["hour"])] = None
    endpoint: Annotated[str | None, Field(max_length=MAX_URL_CHARS)] = None
    terms: Annotated[list[str], Field(default_factory=list, max_length=MAX_TERMS)]
    account: Annotated[
        str | None, Field(max_length=MAX_ACCOUNT_CHARS, examples=["acct_1Nv0FGQ9RKHgCVdK"])
    ] = None


class UseIn(Request_):
    """Units of a per-use payee (e.g. listening hours), this month unless ``month``."""

    payee: int
    units: Decimal_
    month: Annotated[str | None, Field(max_length=7)] = None
    note: Annotated[str | None, Field(max_length=MAX_NOTE_CHARS)] = None


class PayIn(Request_):
    """The month to pay (``YYYY-MM``; this month when left out)."""

    month: Annotated[str | None, Field(max_length=7)] = None


def provider_of(request: Request) -> PaymentProvider:
    """The payment provider of the request's app (see :func:`app_provider`)."""
    return app_provider(request.app)


def app_provider(app: FastAPI, agent: PersonalAgent | None = None) -> PaymentProvider:
    """The payment provider the app was given, else the one the settings name, read now.

    ``agent`` is the app's agent (by default ``app.state.agent``).
    """
    provider: PaymentProvider | None = getattr(app.state, "payment_provider", None)
    if provider is not None:
        return provider
    return ProviderDesk(agent or app.state.agent).provider()


@router.get("", tags=["payments"])
def ledger(agent: Agent, month: Month = None) -> list[dict[str, Any]]:
    """The ledger's payments (of one month, or all), newest month first."""
    return [record.as_json() for record in agent.payments(month)]


@router.get("/budget", tags=["payments"])
def get_budget(agent: Agent) -> dict[str, Any] | None:
    """The monthly budget (null before one is set)."""
    budget = agent.budget()
    return None if budget is None else budget.as_json()


@router.put("/budget", tags=["payments"])
def set_budget(body: BudgetIn, agent: Agent) -> dict[str, Any]:
    """Set the monthly budget; audited."""
    return agent.set_budget(body.amount, body.currency).as_json()


@router.get("/payees", tags=["payments"])
def list_payees(agent: Agent, removed: bool = False) -> list[dict[str, Any]]:
    """The payees by number (removed ones too, if asked)."""
    return [payee.as_json() for payee in agent.payees(removed=removed)]


@router.post("/payees", tags=["payments"], status_code=201)
def add_payee(body: PayeeIn, agent: Agent) -> dict[str, Any]:
    """Add a payee with its share rule, endpoint, terms and provider account."""
    rule = rule_from_json(body.model_dump(include={"fixed", "weight", "per_use", "unit"}))
    payee = ProviderDesk(agent).add_payee(
        body.name, rule, endpoint=body.endpoint, terms=body.terms, account=body.account
    )
    return payee.as_json()


@router.delete("/payees/{payee_id}", tags=["payments"])
def remove_payee(payee_id: int, agent: Agent) -> dict[str, Any]:
    """Leave a payee out of months not planned yet (its past payments stay)."""
    return agent.remove_payee(payee_id).as_json()


@router.get("/uses", tags=["payments"])
def list_uses(agent: Agent, month: Month = None) -> list[dict[str, Any]]:
    """The uses logged for a month (this month unless given)."""
    return [use.as_json() for use in agent.uses(month)]


@router.post("/uses", tags=["payments"], status_code=201)
def log_use(body: UseIn, agent: Agent) -> dict[str, Any]:
    """Log units of a per-use payee for a month not paid yet."""
    return agent.log_use(body.payee, body.units, month=body.month, note=body.note).as_json()


@router.get("/preview", tags=["payments"])
def preview(agent: Agent, month: Month = None) -> dict[str, Any]:
    """What paying the month now would give each payee; nothing is recorded."""
    allocation = agent.allocation(month)
    return {"month": month or agent.this_month(), **allocation.as_json()}


@router.post("/pay", tags=["payments"])
async def pay(body: PayIn, request: Request) -> list[dict[str, Any]]:
    """Pay the month: planned once, each payment made once; again, retries only unpaid.

    Then each paid payee with an endpoint is sent a signed notice with the person's terms.
    """
    paid = await payments_desk_of(request).pay(body.month, provider_of(request))
    return [record.as_json() for record in paid]


@router.post("/{payment_id}/retry", tags=["payments"])
def retry(payment_id: int, request: Request) -> dict[str, Any]:
    """Let the next pay try a failed payment again (after its cause is mended)."""
    return payments_desk_of(request).retry(payment_id).as_json()


@router.get("/notices", tags=["payments"])
def list_notices(request: Request) -> dict[str, Any]:
    """Notices sent to payees (with their signed receipts) and those still to send."""
    desk = payments_desk_of(request)
    return {
        "sent": [notice.as_json() for notice in desk.notices().values()],
        "waiting": [
            {"payment": p.payment_id, "payee": p.payee_id, "reason": p.reason}
            for p in desk.pending()
        ],
    }


@router.post("/notices/send", tags=["payments"])
async def send_notices(request: Request) -> dict[str, Any]:
    """Tell the paid payees not told yet now, rather than at the next round."""
    return {"queued": len(await payments_desk_of(request).send_notices())}


def payments_desk_of(request: Request) -> PaymentsDesk:
    """The app's payments desk."""
    desk: PaymentsDesk = request.app.state.payments_desk
    return desk
