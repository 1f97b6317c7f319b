"""Fixtures for the agent's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.vendors import Clock, VendorNetwork, make_worker
from vrm.agent.api.app import create_agent_app
from vrm.agent.home import AgentHome
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
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


@pytest.fixture
def clock() -> Clock:
    """The time the person's agent sees; tests move it by hand."""
    return Clock()


@pytest.fixture
def person(agent: UnlockedAgent, clock: Clock) -> PersonalAgent:
    """The unlocked agent's actions, on the test's clock."""
    return PersonalAgent(agent.engine, agent.sealer, clock=clock)


@pytest.fixture
async def network() -> AsyncIterator[VendorNetwork]:
    """In-process vendors, reached by host name."""
    vendors = VendorNetwork()
    yield vendors
    await vendors.aclose()


@pytest.fixture
def worker(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> DeliveryWorker:
    """The delivery worker, sending the person's outbox over the test network."""
    return make_worker(person, network, clock)


@pytest.fixture
async def app(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the agent's whole app in-process (its JSON API), with the API token."""
    built = create_agent_app(
        person,
        api_token=agent.api_token,
        seen_ids_path=tmp_path / "seen-ids.db",
        database_path=tmp_path / "agent.db",
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=built),
        base_url="http://agent.test",
        headers={"authorization": f"Bearer {agent.api_token}"},
    ) as client:
        yield client
