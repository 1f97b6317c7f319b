"""Fixtures of the person's pages in-process: a client of the agent's app, signed in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.agent.web.test_pages import build_client, sign_in
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.agent.web import SignInLimits


@pytest.fixture
async def signed_in(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the agent's pages (cookies kept), signed in."""
    async with build_client(agent, person, tmp_path, SignInLimits(failure_delay=0)) as client:
        assert (await sign_in(client)).status_code == 303
        yield client
