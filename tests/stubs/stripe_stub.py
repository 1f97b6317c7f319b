"""The Stripe stand-in (``tests/stubs/stripe_api.py``) in its own process, and its controls."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.processes import ServiceProcess, start_service

SECRET_KEY = "sk_test_51VrmStandInKey0Quincunx4242"
CUSTOMER = "cus_PersonA1b2C3"
RADIO = "acct_1RadioQuincunx"
BLOG = "acct_1LarkBlog"
ACCOUNTS = (RADIO, BLOG)


@dataclass
class StripeStub:
    """A running stand-in: its URL, and what tests may ask of it."""

    service: ServiceProcess

    @property
    def url(self) -> str:
        """Where its API answers (the provider's ``api_base``)."""
        return self.service.url

    def charges(self) -> list[dict[str, Any]]:
        """Every charge made: the money that actually moved."""
        return self._call("GET", "/_stub/charges")

    def requests(self) -> list[dict[str, Any]]:
        """Every API request received, with its idempotency key, version and form."""
        return self._call("GET", "/_stub/requests")

    def fail_next(self, **failure: Any) -> None:
        """Make the next matching request fail (see the stand-in's docstring)."""
        self._call("POST", "/_stub/fail-next", json=failure)

    def forget_keys(self) -> None:
        """Forget idempotency keys, as Stripe does after 24 hours."""
        self._call("POST", "/_stub/forget-keys")

    def reset(self) -> None:
        """Start from nothing: no intents, charges, keys, failures or requests."""
        self._call("POST", "/_stub/reset")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        reply = httpx.request(method, self.url + path, timeout=10, **kwargs)
        reply.raise_for_status()
        return reply.json()


def start_stripe_stub() -> StripeStub:
    """The stand-in on 127.0.0.1, knowing the person's customer and both payees' accounts."""
    command = [sys.executable, str(Path(__file__).with_name("stripe_api.py"))]
    command += ["--secret", SECRET_KEY, "--customer", CUSTOMER]
    for account in ACCOUNTS:
        command += ["--account", account]
    return StripeStub(start_service(command))
