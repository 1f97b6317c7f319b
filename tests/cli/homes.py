"""Agents' homes made ready for the command: created, then filled against in-process vendors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from tests.agent.vendors import Clock, VendorNetwork
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

T = TypeVar("T")


def filled_home(
    folder: Path,
    passphrase: str,
    fill: Callable[[PersonalAgent, VendorNetwork, Clock], Awaitable[T]],
) -> T:
    """Create an agent in ``folder`` and fill it as ``fill`` says; what ``fill`` returns.

    Args:
        folder: The agent's home.
        passphrase: The agent's passphrase.
        fill: Given the unlocked agent, a network of in-process vendors and the clock both
            share, it relates, imports or receives whatever the tests need.
    """
    init_agent(AgentHome(folder), passphrase, kdf=FAST_INSECURE_KDF)

    async def run() -> T:
        network, clock = VendorNetwork(), Clock()
        try:
            with unlocked(AgentHome(folder), passphrase) as opened:
                person = PersonalAgent(opened.engine, opened.sealer, clock=clock)
                return await fill(person, network, clock)
        finally:
            await network.aclose()

    return asyncio.run(run())
