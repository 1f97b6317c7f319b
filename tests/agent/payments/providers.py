"""Fake payment providers for the tests: counting every call, failing on demand."""

from __future__ import annotations

from collections import Counter

from vrm.agent.payments.payees import Payee
from vrm.agent.payments.providers import PaymentFailed


class CountingProvider:
    """Pays at once unless told to fail; counts each call and each payment by key.

    ``failures`` maps a payee's number to the errors to raise, one per call, before
    that payee is paid. Unlike a real provider it does not de-duplicate keys, so a
    ledger that paid twice would show it in :attr:`paid`.
    """

    name = "counting"

    def __init__(self, failures: dict[int, list[BaseException]] | None = None) -> None:
        self.failures = failures or {}
        self.calls: list[tuple[int, str]] = []
        self.paid: Counter[str] = Counter()
        self.amounts: dict[str, tuple[int, str]] = {}

    def pay(self, amount: int, currency: str, payee: Payee, idempotency_key: str) -> str:
        """Fail if told to, else count the payment and answer with a reference."""
        self.calls.append((payee.id, idempotency_key))
        waiting = self.failures.get(payee.id)
        if waiting:
            raise waiting.pop(0)
        self.paid[idempotency_key] += 1
        self.amounts[idempotency_key] = (amount, currency)
        return f"ref-{payee.id}-{len(self.calls)}"


def outage() -> PaymentFailed:
    """A failure a retry may get past."""
    return PaymentFailed("provider unavailable (503)", retryable=True)


def refused() -> PaymentFailed:
    """A failure no retry gets past."""
    return PaymentFailed("the payee's account is closed", retryable=False)
