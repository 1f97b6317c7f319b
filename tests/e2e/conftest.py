"""Fixtures of the end-to-end tests: ``vrm up`` in its own process, its API client signed in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_agent_service import RunningAgent, prepare_home, serve


@pytest.fixture
def running_agent(tmp_path: Path) -> Iterator[RunningAgent]:
    """``vrm up`` for a new agent in ``tmp_path / "agent"``, stopped after the test."""
    token = prepare_home(tmp_path / "agent")
    running = serve(tmp_path / "agent", token)
    yield running
    running.api.close()
    running.service.stop()
