"""The Payments page (EmanciPay): the budget, payees, uses, this month's shares, the ledger.

One page holds it all, as the person thinks of it: how much a month, to whom and by
which rule, what paying now would give each, and what was paid — with each payee's
signed acknowledgement of the person's terms. Every change is a POST with the CSRF
token; a refused one shows the page again with the reason and what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.agent.errors import AgentError, Conflict, NotFound
from vrm.agent.payments.allocation import Allocation, Fixed, PerUse, ShareRule, Weight
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.payments.ledger import PAID, PaymentRecord
from vrm.agent.payments.money import format_minor, from_minor, parse_decimal
from vrm.agent.payments.providers import PaymentProvider
from vrm.agent.personal_agent import PersonalAgent
from vrm.web.errors import sentence
from vrm.web.sessions import Session
from vrm.web.site import Site, redirect

SHARE_KINDS = {"weight": "a share by weight", "fixed": "a fixed amount", "per_use": "per use"}
DONE = {
    "budget": "Your monthly budget is set.",
    "payee": "The payee is added.",
    "removed": "The payee is removed; past payments stay in the ledger.",
    "use": "The use is logged.",
    "paid": "This month is paid; payees with an endpoint are being told.",
    "retry": "The payment will be tried again when you pay the month.",
}


@dataclass
class PayeeForm:
    """The add-a-payee form as typed."""

    name: str = ""
    kind: str = "weight"
    amount: str = ""
    unit: str = ""
    endpoint: str = ""
    terms: str = ""

    @classmethod
    def read(cls, fields: dict[str, str]) -> PayeeForm:
        """The form from its fields (missing ones empty)."""
        return cls(**{name: fields.get(name, "").strip() for name in cls.__dataclass_fields__})

    def rule(self) -> ShareRule:
        """The share rule typed.

        Raises:
            ValueError: no rule chosen, or an amount that is not one.
        """
        if self.kind not in SHARE_KINDS:
            raise ValueError("choose how the payee shares the budget")
        amount = parse_decimal(self.amount, "the amount")
        if self.kind == "fixed":
            return Fixed(amount)
        if self.kind == "weight":
            return Weight(amount)
        if not self.unit:
            raise ValueError("say what a use is (an hour, an article…)")
        return PerUse(amount, self.unit)

    def term_list(self) -> list[str]:
        """One term per line, blank lines left out."""
        return [line.strip() for line in self.terms.splitlines() if line.strip()]


@dataclass
class Typed:
    """What the forms held when a change was refused, to show them again."""

    payee: PayeeForm = field(default_factory=PayeeForm)
    values: dict[str, str] = field(default_factory=dict)


def payments_routes(
    *,
    site: Site,
    agent: PersonalAgent,
    desk: PaymentsDesk,
    provider: Callable[[], PaymentProvider],
) -> APIRouter:
    """GET /payments and its forms: budget, payees, uses, pay, retry."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def page(
        session: Session,
        *,
        done: str = "",
        problem: str | None = None,
        status: int = 200,
        typed: Typed | None = None,
    ) -> Response:
        month = agent.this_month()
        payees = agent.payees()
        ledger = agent.payments()
        return pages.render(
            "payments.html",
            status=status,
            session=session,
            current="payments",
            month=month,
            budget=agent.budget(),
            payees=payees,
            per_use=[payee for payee in payees if isinstance(payee.rule, PerUse)],
            uses=agent.uses(month),
            allocation=_preview(agent, month),
            months=_by_month(ledger),
            notices=desk.notices(),
            waiting={pending.payment_id: pending.reason for pending in desk.pending()},
            provider=provider().name,
            share_kinds=SHARE_KINDS,
            money=format_minor,
            names={payee.id: payee.name for payee in agent.payees(removed=True)},
            done=DONE.get(done, ""),
            problem=problem,
            typed=typed or Typed(),
        )

    async def change(
        request: Request, session: Session, action: Callable[[dict[str, str]], Any], done: str
    ) -> Response:
        fields = await site.form(request, session)
        try:
            await run_in_threadpool(action, fields)
        except (AgentError, ValueError) as exc:
            status = 409 if isinstance(exc, Conflict) else 404 if isinstance(exc, NotFound) else 422
            typed = Typed(PayeeForm.read(fields), fields)
            problem = f"{sentence(str(exc))} Nothing was changed."
            return await run_in_threadpool(
                lambda: page(
                    session,
                    problem=problem,
                    status=status,
                    typed=typed,
                )
            )
        return redirect(f"/payments?done={done}")

    @router.get("/payments")
    def payments_page(done: str = "", session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return page(session, done=done)

    @router.post("/payments/budget")
    async def set_budget(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return await change(
            request,
            session,
            lambda f: agent.set_budget(f.get("amount", "").strip(), f.get("currency", "").strip()),
            "budget",
        )

    @router.post("/payments/payees")
    async def add_payee(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        def add(fields: dict[str, str]) -> None:
            form = PayeeForm.read(fields)
            agent.add_payee(
                form.name,
                form.rule(),
                endpoint=form.endpoint or None,
                terms=form.term_list(),
            )

        return await change(request, session, add, "payee")

    @router.post("/payments/payees/{number}/remove")
    async def remove_payee(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return await change(
            request, session, lambda _f: agent.remove_payee(_number(number)), "removed"
        )

    @router.post("/payments/uses")
    async def log_use(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        def log(fields: dict[str, str]) -> None:
            agent.log_use(
                _number(fields.get("payee", "")),
                fields.get("units", "").strip(),
                note=fields.get("note", "").strip() or None,
            )

        return await change(request, session, log, "use")

    @router.post("/payments/pay")
    async def pay(request: Request, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        fields = await site.form(request, session)
        try:
            await desk.pay(None, provider())
        except (AgentError, ValueError) as exc:
            problem = f"{sentence(str(exc))} Nothing was paid."
            return await run_in_threadpool(
                lambda: page(session, problem=problem, status=409, typed=Typed(values=fields))
            )
        return redirect("/payments?done=paid#ledger")

    @router.post("/payments/{number}/retry")
    async def retry(
        request: Request,
        number: str,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        return await change(request, session, lambda _f: desk.retry(_number(number)), "retry")

    return router


def _number(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) < 12:
        return int(text)
    raise NotFound("there is no such entry")


def _preview(agent: PersonalAgent, month: str) -> Allocation | None:
    """This month's shares as paying now would give them; None without budget or payees."""
    try:
        return agent.allocation(month)
    except (AgentError, ValueError):
        return None


def _by_month(ledger: list[PaymentRecord]) -> list[tuple[str, list[PaymentRecord], Decimal]]:
    """The ledger's months, newest first, each with its payments and the total paid."""
    months: dict[str, list[PaymentRecord]] = {}
    for record in ledger:
        months.setdefault(record.month, []).append(record)
    return [(month, records, _paid_total(records)) for month, records in months.items()]


def _paid_total(records: list[PaymentRecord]) -> Decimal:
    paid = [record for record in records if record.state == PAID]
    if not paid:
        return Decimal(0)
    return from_minor(sum(record.amount for record in paid), paid[0].currency)
