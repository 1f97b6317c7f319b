"""Opening the person's agent for one command, and sending what the command queued."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from vrm.agent.home import AgentHome
from vrm.agent.outbox import store
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import unlocked
from vrm.cli.agent_cmd import ask_passphrase

SEND_TIMEOUT = 10.0
console = Console(highlight=False, emoji=False, soft_wrap=True)


@contextmanager
def opened_agent(home: Path | None, *, send: bool = True) -> Iterator[PersonalAgent]:
    """The unlocked agent; messages its actions queue are sent before the command ends.

    What cannot be delivered within a few seconds stays in the outbox: ``vrm up``
    keeps trying, and ``vrm deliveries`` shows it.
    """
    with unlocked(AgentHome.resolve(home), ask_passphrase(confirm=False)) as opened:
        queued: list[str] = []
        agent = PersonalAgent(opened.engine, opened.sealer, on_queued=queued.extend)
        yield agent
        if queued and send:
            _send(agent, queued)


def _send(agent: PersonalAgent, queued: list[str]) -> None:
    from vrm.agent.outbox.worker import DeliveryWorker  # the HTTP client, only when sending
    from vrm.transport import AiohttpTransport, Sender

    async def deliver() -> None:
        sender = Sender(AiohttpTransport(policy=agent.address_policy()))
        worker = DeliveryWorker(agent.engine, agent.sealer, sender)
        try:
            await worker.drain(queued, timeout=SEND_TIMEOUT)
        finally:
            await sender.transport.aclose()

    asyncio.run(deliver())
    with agent.engine.begin() as connection:
        states = store.states_of(connection, queued)
    delivered = sum(1 for state in states.values() if state == store.DELIVERED)
    waiting = len(queued) - delivered
    if delivered:
        console.print(f"sent {delivered} message{'s' if delivered != 1 else ''}")
    if waiting:
        console.print(
            f"[yellow]{waiting} message{'s' if waiting != 1 else ''} not delivered yet[/]: "
            "they stay in the outbox (vrm deliveries; vrm up keeps sending)"
        )
