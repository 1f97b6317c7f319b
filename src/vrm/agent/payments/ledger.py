"""The payments ledger: a month planned once, each payment made once, failures retried.

:func:`pay_month` plans the month the first time it is asked — the allocation of
the budget as it stands, a ``planned`` payment per payee with more than zero, each
with an idempotency key that only this agent can compute from the month and the
payee — and then pays every payment not paid yet through the provider, one at a
time. Before a provider call the payment turns ``paying`` (committed), after it
``paid`` with the provider's reference or ``failed`` with the error. Asked again,
it plans nothing new and tries only what is not paid: ``planned``, ``paying``
(a call that never came back) and ``failed`` ones the provider said a retry may
help, always under the same key, so a provider that honours keys never pays twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.payments import payees as store
from vrm.agent.payments.allocation import Allocation, allocate
from vrm.agent.payments.money import format_minor, from_minor
from vrm.agent.payments.providers import PaymentFailed, PaymentProvider
from vrm.vault import Sealer

log = logging.getLogger(__name__)

PLANNED, PAYING, PAID, FAILED = "planned", "paying", "paid", "failed"
STATES = (PLANNED, PAYING, PAID, FAILED)
MAX_ERROR_CHARS = 500
_KEY_PURPOSE = "payment-idempotency"


@dataclass(frozen=True)
class MonthPlan:
    """A month as it was planned: the budget then, and what no payee took."""

    month: str
    budget: int
    currency: str
    unallocated: int
    planned_at: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (amounts as exact decimal text)."""
        return {
            "month": self.month,
            "budget": str(from_minor(self.budget, self.currency)),
            "currency": self.currency,
            "unallocated": str(from_minor(self.unallocated, self.currency)),
            "planned_at": self.planned_at,
        }


@dataclass(frozen=True)
class PaymentRecord:
    """One payment of the ledger: to whom, how much, and how far it got."""

    id: int
    month: str
    payee_id: int
    payee_name: str
    amount: int
    """In minor units of :attr:`currency`."""
    currency: str
    state: str
    idempotency_key: str
    attempts: int
    retryable: bool
    """For a failed payment: whether trying again may help."""
    provider: str | None
    reference: str | None
    """The provider's reference, once paid."""
    last_error: str | None
    created_at: float
    updated_at: float
    paid_at: float | None

    @property
    def due(self) -> bool:
        """True when paying the month again would try this payment."""
        return self.state in (PLANNED, PAYING) or (self.state == FAILED and self.retryable)

    def describe_amount(self) -> str:
        """``3.34 EUR``."""
        return format_minor(self.amount, self.currency)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the amount as exact decimal text and in minor units)."""
        return {
            "id": self.id,
            "month": self.month,
            "payee": self.payee_id,
            "payee_name": self.payee_name,
            "amount": str(from_minor(self.amount, self.currency)),
            "amount_minor": self.amount,
            "currency": self.currency,
            "state": self.state,
            "idempotency_key": self.idempotency_key,
            "attempts": self.attempts,
            "retryable": self.retryable,
            "provider": self.provider,
            "reference": self.reference,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "paid_at": self.paid_at,
        }


def idempotency_key(sealer: Sealer, month: str, payee_id: int) -> str:
    """The key every attempt to pay ``payee_id`` for ``month`` carries.

    Derived with the data key, so it is the same after a restore from backup, and
    tells the provider nothing about the person.
    """
    return "vrm-pay-" + sealer.fingerprint(f"{month}\0{payee_id}", _KEY_PURPOSE).hex()


def preview(connection: Connection, sealer: Sealer, month: str) -> Allocation:
    """The allocation ``month`` would get from the budget, payees and uses as they stand.

    Raises:
        Conflict: no budget is set.
        AllocationError: there are no payees.
        ValueError: ``month`` is not written ``YYYY-MM``.
    """
    month = store.check_month(month)
    budget = store.budget(connection, sealer)
    if budget is None:
        raise Conflict("no budget yet: set one first (e.g. 20.00 EUR)")
    logged = store.units_by_payee(store.uses(connection, sealer, month))
    shares = [payee.share for payee in store.payees(connection, sealer)]
    return allocate(budget.amount, budget.currency, shares, logged)


def plan(connection: Connection, sealer: Sealer, month: str, *, now: float) -> MonthPlan:
    """Plan ``month`` if it is not planned yet; return its plan either way.

    Raises:
        Conflict: no budget is set.
        AllocationError: there are no payees.
    """
    month = store.check_month(month)
    planned = month_plan(connection, sealer, month)
    if planned is not None:
        return planned
    allocation = preview(connection, sealer, month)
    currency = allocation.currency
    kept = {
        "budget": allocation.budget,
        "currency": currency,
        "unallocated": allocation.unallocated,
    }
    connection.execute(
        text("INSERT INTO payment_months (month, sealed_plan, planned_at) VALUES (:m, :s, :now)"),
        {
            "m": month,
            "s": sealer.seal_text(json.dumps(kept), f"payment_months/{month}"),
            "now": now,
        },
    )
    planned_count = 0
    for line in allocation.lines:
        if line.amount <= 0:
            continue
        payment_id = int(
            connection.execute(
                text(
                    "INSERT INTO payments (month, payee_id, state, idempotency_key,"
                    " sealed_payment, created_at, updated_at) VALUES (:month, :payee, :state,"
                    " :key, :blank, :now, :now) RETURNING id"
                ),
                {
                    "month": month,
                    "payee": line.payee_id,
                    "state": PLANNED,
                    "key": idempotency_key(sealer, month, line.payee_id),
                    "blank": b"",
                    "now": now,
                },
            ).scalar_one()
        )
        sealed = sealer.seal_text(
            json.dumps({"amount": line.amount, "currency": currency}), _place(payment_id, month)
        )
        connection.execute(
            text("UPDATE payments SET sealed_payment = :sealed WHERE id = :id"),
            {"sealed": sealed, "id": payment_id},
        )
        planned_count += 1
    audit.append(
        connection,
        sealer,
        kind="payments.planned",
        details={
            "month": month,
            "budget": str(from_minor(allocation.budget, currency)),
            "currency": currency,
            "payments": planned_count,
            "total": str(from_minor(allocation.total, currency)),
            "unallocated": str(from_minor(allocation.unallocated, currency)),
        },
        now=now,
    )
    found = month_plan(connection, sealer, month)
    assert found is not None  # noqa: S101 - written just above
    return found


def month_plan(connection: Connection, sealer: Sealer, month: str) -> MonthPlan | None:
    """How ``month`` was planned, or None when it was not."""
    row = connection.execute(
        text("SELECT month, sealed_plan, planned_at FROM payment_months WHERE month = :m"),
        {"m": month},
    ).first()
    if row is None:
        return None
    kept = json.loads(sealer.open_text(row.sealed_plan, f"payment_months/{row.month}"))
    return MonthPlan(
        row.month, kept["budget"], kept["currency"], kept["unallocated"], row.planned_at
    )


def payments(
    connection: Connection, sealer: Sealer, month: str | None = None
) -> list[PaymentRecord]:
    """The ledger's payments (of one month, or all), newest month first, then by payee."""
    rows = connection.execute(
        text(
            "SELECT id, month, payee_id, state, idempotency_key, sealed_payment, sealed_outcome,"
            " retryable, attempts, created_at, updated_at, paid_at FROM payments"
            " WHERE :month IS NULL OR month = :month ORDER BY month DESC, payee_id"
        ),
        {"month": None if month is None else store.check_month(month)},
    ).all()
    names = {payee.id: payee.name for payee in store.payees(connection, sealer, removed=True)}
    found = []
    for row in rows:
        payment = json.loads(sealer.open_text(row.sealed_payment, _place(row.id, row.month)))
        outcome: dict[str, Any] = {}
        if row.sealed_outcome is not None:
            outcome = json.loads(sealer.open_text(row.sealed_outcome, _outcome_place(row.id)))
        found.append(
            PaymentRecord(
                id=row.id,
                month=row.month,
                payee_id=row.payee_id,
                payee_name=names.get(row.payee_id, f"payee {row.payee_id}"),
                amount=payment["amount"],
                currency=payment["currency"],
                state=row.state,
                idempotency_key=row.idempotency_key,
                attempts=row.attempts,
                retryable=bool(row.retryable),
                provider=outcome.get("provider"),
                reference=outcome.get("reference"),
                last_error=outcome.get("error"),
                created_at=row.created_at,
                updated_at=row.updated_at,
                paid_at=row.paid_at,
            )
        )
    return found


def pay_month(
    engine: Engine,
    sealer: Sealer,
    *,
    month: str,
    provider: PaymentProvider,
    clock: Callable[[], float],
) -> list[PaymentRecord]:
    """Plan ``month`` if it is new, then pay what is due through ``provider``.

    Each step is its own transaction, so a crash leaves the ledger telling how far
    it got. Returns the month's payments as they ended.

    Raises:
        Conflict: the month is new and no budget is set.
        AllocationError: the month is new and there are no payees.
    """
    with engine.begin() as connection:
        plan(connection, sealer, month, now=clock())
        due = [record for record in payments(connection, sealer, month) if record.due]
    for record in due:
        with engine.begin() as connection:
            if not _start(connection, record.id, now=clock()):
                continue  # paid meanwhile by another run
            payee = store.get_payee(connection, sealer, record.payee_id)
        try:
            reference = provider.pay(record.amount, record.currency, payee, record.idempotency_key)
        except PaymentFailed as exc:
            outcome = _failed(str(exc), retryable=exc.retryable)
        except Exception as exc:  # a provider's own fault must still be recorded
            log.exception("payment provider %s failed unexpectedly", provider.name)
            outcome = _failed(f"unexpected {exc.__class__.__name__}: {exc}", retryable=True)
        else:
            outcome = {"reference": reference}
        with engine.begin() as connection:
            _finish(connection, sealer, record, provider.name, outcome, now=clock())
    with engine.begin() as connection:
        return payments(connection, sealer, month)


def _start(connection: Connection, payment_id: int, *, now: float) -> bool:
    """Mark a payment ``paying`` and count the attempt; False if it is paid already."""
    started = connection.execute(
        text(
            "UPDATE payments SET state = :paying, attempts = attempts + 1, updated_at = :now"
            " WHERE id = :id AND state != :paid RETURNING id"
        ),
        {"paying": PAYING, "paid": PAID, "now": now, "id": payment_id},
    ).first()
    return started is not None


def _failed(error: str, *, retryable: bool) -> dict[str, Any]:
    return {"error": error[:MAX_ERROR_CHARS], "retryable": retryable}


def _finish(
    connection: Connection,
    sealer: Sealer,
    record: PaymentRecord,
    provider: str,
    outcome: dict[str, Any],
    *,
    now: float,
) -> None:
    """Write the provider's answer, and its audit entry (once, if two runs raced)."""
    paid = "reference" in outcome
    kept = {"provider": provider, **outcome}
    changed = connection.execute(
        text(
            "UPDATE payments SET state = :state, sealed_outcome = :outcome,"
            " retryable = :retryable, updated_at = :now, paid_at = :paid_at"
            " WHERE id = :id AND state != :paid RETURNING attempts"
        ),
        {
            "state": PAID if paid else FAILED,
            "outcome": sealer.seal_text(json.dumps(kept), _outcome_place(record.id)),
            "retryable": bool(outcome.get("retryable", False)),
            "now": now,
            "paid_at": now if paid else None,
            "id": record.id,
            "paid": PAID,
        },
    ).first()
    if changed is None:
        return
    details: dict[str, Any] = {
        "month": record.month,
        "payment": record.id,
        "payee": record.payee_id,
        "name": record.payee_name,
        "amount": str(from_minor(record.amount, record.currency)),
        "currency": record.currency,
        "provider": provider,
    }
    if paid:
        details["reference"] = outcome["reference"]
    else:
        details |= {"error": outcome["error"], "retryable": outcome["retryable"]}
        details["attempt"] = changed.attempts
    audit.append(
        connection,
        sealer,
        kind="payment.paid" if paid else "payment.failed",
        details=details,
        now=now,
    )


def _place(payment_id: int, month: str) -> str:
    return f"payments/{payment_id}/{month}"


def _outcome_place(payment_id: int) -> str:
    return f"payments/{payment_id}/outcome"


def make_due(
    connection: Connection, sealer: Sealer, payment_id: int, *, now: float
) -> PaymentRecord:
    """Let the next pay try a failed payment again, though the provider said it would not help.

    The person does this once the cause is mended; the idempotency key stays the same.

    Raises:
        NotFound: there is no such payment.
        Conflict: the payment has not failed.
    """
    row = connection.execute(
        text("SELECT month, state FROM payments WHERE id = :id"), {"id": payment_id}
    ).first()
    if row is None:
        raise NotFound(f"no payment {payment_id}")
    if row.state != FAILED:
        raise Conflict(f"payment {payment_id} is {row.state}: only a failed payment is tried again")
    connection.execute(
        text("UPDATE payments SET retryable = :yes, updated_at = :now WHERE id = :id"),
        {"yes": True, "now": now, "id": payment_id},
    )
    audit.append(
        connection, sealer, kind="payment.retry_allowed", details={"payment": payment_id}, now=now
    )
    return next(
        record for record in payments(connection, sealer, row.month) if record.id == payment_id
    )
