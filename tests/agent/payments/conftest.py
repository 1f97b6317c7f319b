"""Fixtures of the payments tests: the Stripe stand-in in its own process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stubs.stripe_stub import StripeStub, start_stripe_stub


@pytest.fixture(scope="module")
def stub() -> Iterator[StripeStub]:
    """One stand-in process for the module."""
    running = start_stripe_stub()
    yield running
    running.service.stop()
