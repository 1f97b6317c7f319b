"""The agent's side of the fan-out benchmarks: one agent related to many vendors.

Shared by bench_fanout.py (fleet inboxes) and bench_vendor_fanout.py (vendor endpoints).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrm.agent.home import AgentHome
from vrm.agent.outbox import store
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import (
    Relationship,
)
from vrm.agent.setup import init_agent, unlocked
from vrm.demo.prearranged import prearranged_relationship
from vrm.protocol import Discovery, relationship_types
from vrm.transport import AiohttpTransport, Sender
from vrm.transport.address_policy import AddressPolicy
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "bench"  # noqa: S105 - a throwaway agent in a temporary directory
PATH = "address.home"
PURPOSE = "deliveries"


@dataclass(frozen=True)
class Vendor:
    """One vendor inbox: the process it lives in, its number, DID and inbox URL."""

    base: str
    index: int
    did: str
    inbox: str


@dataclass
class Side:
    """One agent with a relationship to each of ``vendors``, and its worker."""

    vendors: list[Vendor]
    agent: PersonalAgent
    worker: DeliveryWorker
    relationships: list[Relationship]
    queued: list[str] = field(default_factory=list)
    last_address: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Timing:
    """One fan-out: seconds to enqueue, to deliver, and in all."""

    enqueue: float
    deliver: float

    @property
    def total(self) -> float:
        return self.enqueue + self.deliver


def address(n: int) -> dict[str, Any]:
    """A PostalAddress that differs every round."""
    return {
        "streetAddress": f"{n} Quay Street",
        "addressLocality": "Leith",
        "postalCode": "EH6 7",
        "addressCountry": "GB",
    }


def spread(listed: list[list[Vendor]], count: int) -> list[Vendor]:
    """``count`` vendors taken in turn from each process, so every size loads all of them."""
    order = [vendor for group in zip(*listed, strict=False) for vendor in group]
    order += [v for group in listed for v in group[min(map(len, listed)) :]]
    return order[:count]


def open_side(
    stack: ExitStack,
    vendors: list[Vendor],
    concurrency: int,
    reply_to: Callable[[Vendor], str] = lambda _vendor: "http://127.0.0.1:9/inbox",
) -> Side:
    """A new agent with an accepted relationship and a grant of address.home per vendor.

    The relationship requests are queued (:func:`deliver_all` sends them); the agent
    records each vendor as accepted at once, as the vendors' answers go to ``reply_to``.
    """
    home = AgentHome(Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vrm-fan-"))))
    init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF)
    opened = stack.enter_context(unlocked(home, PASSPHRASE))
    queued: list[str] = []
    agent = PersonalAgent(opened.engine, opened.sealer, on_queued=queued.extend)
    types = list(relationship_types())
    relationships = []
    with opened.engine.begin() as connection:
        for vendor in vendors:
            relationship = prearranged_relationship(
                connection,
                opened.sealer,
                discovery=Discovery(
                    did=vendor.did,
                    name=f"vendor {vendor.index} of {vendor.base}",
                    inbox=vendor.inbox,
                    message_types=types,
                ),
                url=vendor.base,
                reply_to=reply_to(vendor),
                grant=[PATH],
                purpose=PURPOSE,
            )
            relationships.append(relationship)
    sender = Sender(AiohttpTransport(policy=AddressPolicy(allow_loopback=True)))
    worker = DeliveryWorker(opened.engine, opened.sealer, sender, concurrency=concurrency)
    return Side(vendors, agent, worker, relationships, queued)


async def deliver_all(side: Side) -> None:
    while await side.worker.run_once():
        pass


async def fan_out(side: Side, n: int) -> Timing | None:
    """Change the address and deliver it to every vendor; None if some had to be retried.

    A retry (a keep-alive connection the vendor closed just as it was reused, say)
    waits out the worker's backoff, so such a round measures the backoff: it is
    finished and left out.
    """
    side.queued.clear()
    side.last_address = address(n)
    started = time.perf_counter()
    side.agent.set_field(PATH, side.last_address, changed_by="bench")
    written = time.perf_counter()
    await deliver_all(side)
    done = time.perf_counter()
    if len(side.queued) != len(side.vendors):
        raise RuntimeError(f"{len(side.queued)} messages queued for {len(side.vendors)} vendors")
    retried = False
    deadline = time.monotonic() + 60
    while (left := pending(side)) and time.monotonic() < deadline:
        retried = True
        await asyncio.sleep(0.1)
        await deliver_all(side)
    if left:
        raise RuntimeError(f"{left} of {len(side.vendors)} messages not delivered")
    return None if retried else Timing(written - started, done - written)


def pending(side: Side) -> int:
    """How many of the messages just queued are not delivered (failing if any failed)."""
    with side.agent.engine.begin() as connection:
        states = store.states_of(connection, side.queued)
    if store.FAILED in states.values():
        raise RuntimeError("a delivery failed for good")
    return sum(state != store.DELIVERED for state in states.values())
