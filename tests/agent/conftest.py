"""Fixtures for the agent's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vrm.agent.home import AgentHome
from vrm.agent.setup import UnlockedAgent, init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "correct horse"


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[UnlockedAgent]:
    """A freshly initialised agent in ``tmp_path``, unlocked."""
    home = AgentHome(tmp_path)
    init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF)
    with unlocked(home, PASSPHRASE) as opened:
        yield opened
