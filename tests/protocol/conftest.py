"""Fixtures shared by the protocol tests."""

from __future__ import annotations

import pytest

from vrm.protocol import Identity

from .support import FakeClock


@pytest.fixture
def alice() -> Identity:
    return Identity.generate()


@pytest.fixture
def bob() -> Identity:
    return Identity.generate()


@pytest.fixture
def carol() -> Identity:
    return Identity.generate()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
