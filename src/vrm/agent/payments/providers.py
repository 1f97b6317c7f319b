"""Where the money moves: the payment-provider interface and the ledger-only provider.

The ledger (:mod:`vrm.agent.payments.ledger`) decides what to pay and keeps the
record; a :class:`PaymentProvider` makes one payment. It is given an idempotency
key that stays the same for a month and payee however often the payment is tried,
and must treat a key it has seen as the same payment: answer with the first
payment's reference and move no money again. A failure is :class:`PaymentFailed`,
saying whether trying again may help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vrm.agent.payments.payees import Payee


class PaymentFailed(Exception):
    """The provider did not make the payment.

    Args:
        message: what went wrong, for the person (no secrets).
        retryable: True when the same payment may go through later (network, a
            provider outage); False when it will not without a change (a refused
            account, an unknown payee).
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class PaymentProvider(Protocol):
    """Makes one payment; a repeated idempotency key is the same payment, not a new one."""

    name: str
    """Shown in the ledger beside each payment (e.g. ``ledger-only``)."""

    def pay(self, amount: int, currency: str, payee: Payee, idempotency_key: str) -> str:
        """Pay ``amount`` minor units of ``currency`` to ``payee``; return the provider's reference.

        Raises:
            PaymentFailed: the payment was not made (and whether a retry may help).
        """
        ...


@dataclass(frozen=True)
class LedgerEntry:
    """A payment the ledger-only provider recorded."""

    amount: int
    currency: str
    payee_id: int
    idempotency_key: str
    reference: str


class LedgerOnlyProvider:
    """Moves no money: records each payment, once per idempotency key (tests and demos).

    The reference is derived from the key, so a payment tried again — even through a
    new instance — gets the same reference, as a real provider's would.
    """

    name = "ledger-only"

    def __init__(self) -> None:
        self.entries: dict[str, LedgerEntry] = {}

    def pay(self, amount: int, currency: str, payee: Payee, idempotency_key: str) -> str:
        """Record the payment (a key seen before returns its first reference)."""
        seen = self.entries.get(idempotency_key)
        if seen is not None:
            return seen.reference
        entry = LedgerEntry(
            amount, currency, payee.id, idempotency_key, f"ledger:{idempotency_key}"
        )
        self.entries[idempotency_key] = entry
        return entry.reference
