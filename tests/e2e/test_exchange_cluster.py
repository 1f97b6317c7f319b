"""Two ``vrm serve exchange`` processes serving one market: PostgreSQL shared, NATS between them."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy import Engine, select

from tests.e2e.test_agent_service import eventually
from tests.e2e.test_exchange import JWE, fetch, intent, offer_for, send, subscribe
from tests.processes import ServiceProcess, start_fleet, start_service
from vrm.demo.fleet import vendor_identity
from vrm.exchange.market import DELIVERED
from vrm.exchange.nats_bus import CONSUMER
from vrm.exchange.schema import deliveries
from vrm.protocol import Identity
from vrm.protocol.v1.intents import INTENT, INTENTS_FETCH, MAILBOX_FETCH
from vrm.storage import database_engine

pytestmark = [pytest.mark.e2e, pytest.mark.services]
ACK_WAIT = 2


class Market:
    """One market's shared parts: its database, its NATS prefix, and the key in ``home``."""

    def __init__(self, home: Path, database: str, nats_url: str) -> None:
        self.home, self.database, self.nats_url = home, database, nats_url
        self.prefix = f"vrm.test{uuid.uuid4().hex[:12]}"
        self.stream = self.prefix.replace(".", "_").upper()
        self.engine: Engine = database_engine(database)
        self.started: list[ServiceProcess] = []

    def start(self) -> ServiceProcess:
        """One more ``vrm serve exchange`` of this market."""
        command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(self.home)]
        command += ["--port", "0", "--allow-loopback", "--database", self.database]
        command += ["--nats", self.nats_url, "--nats-prefix", self.prefix]
        self.started.append(start_service([*command, "--ack-wait", str(ACK_WAIT)]))
        return self.started[-1]

    def states(self) -> Counter[str]:
        """The deliveries in the store, by state."""
        with self.engine.begin() as connection:
            return Counter(connection.execute(select(deliveries.c.state)).scalars())

    def queue(self) -> tuple[int, int]:
        """The push queue's consumer: messages not yet handed out, and handed out unacked."""

        async def read() -> tuple[int, int]:
            connection = await nats.connect(self.nats_url)
            try:
                info = await connection.jetstream().consumer_info(self.stream, CONSUMER)
            finally:
                await connection.close()
            return info.num_pending, info.num_ack_pending

        return asyncio.run(read())

    def close(self) -> None:
        for service in self.started:
            service.stop()
        self.engine.dispose()

        async def forget() -> None:
            connection = await nats.connect(self.nats_url)
            with suppress(NotFoundError):
                await connection.jetstream().delete_stream(self.stream)
            await connection.close()

        asyncio.run(forget())


@pytest.fixture
def market(tmp_path: Path, postgres_url: str, nats_url: str) -> Iterator[Market]:
    built = Market(tmp_path / "x", postgres_url, nats_url)
    yield built
    built.close()


def matches(fleet: ServiceProcess, index: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = httpx.get(f"{fleet.url}/v/{index}/matches").json()
    return found


def both_know_every_subscription(a: ServiceProcess, b: ServiceProcess) -> None:
    """Wait until B's index holds what was subscribed at A.

    A vendor that fetches subscribes at A last; once B hands it an intent posted at A,
    B has reloaded its index after every earlier subscription was stored.
    """
    puller = Identity.generate()
    subscribe(a, puller, ["home/sofas"])
    assert send(a, Identity.generate(), INTENT, intent("home/sofas")).status_code == 202
    eventually(
        lambda: fetch(b, puller, "/intents/fetch", INTENTS_FETCH).json()["intents"],
        what="B's index holding the subscriptions stored through A",
    )


def test_two_processes_serve_one_market(market: Market) -> None:
    """Subscribed at A, intents at A and B reach each vendor once; an offer at B wakes A's poll."""
    fleet = start_fleet(3, base=market.prefix)
    try:
        a = market.start()
        b = market.start()
        for index, category in ((0, "vehicles/cars"), (1, "vehicles"), (2, "energy")):
            subscribe(a, vendor(market, index), [category], inbox=f"{fleet.url}/v/{index}/inbox")
        both_know_every_subscription(a, b)

        people = [Identity.generate() for _ in range(12)]
        ids = []
        for number, person in enumerate(people):
            reply = send((a, b)[number % 2], person, INTENT, intent())
            assert reply.status_code == 202, reply.text
            ids.append(reply.json()["id"])
        for index in (0, 1):
            eventually(
                lambda index=index: len(matches(fleet, index)) >= len(ids),
                timeout=30,
                what=f"every intent at vendor {index}",
            )
        eventually(lambda: market.states() == Counter({DELIVERED: 2 * len(ids)}), what="recorded")
        for index in (0, 1):
            assert Counter(m["intent_id"] for m in matches(fleet, index)) == Counter(ids)
        assert matches(fleet, 2) == []  # subscribed elsewhere: told nothing

        # An offer posted to B wakes the person's long-poll waiting on A.
        person = people[0]
        answered: list[Any] = []
        poll = threading.Thread(
            target=lambda: answered.append(
                fetch(a, person, "/mailbox/fetch", MAILBOX_FETCH, wait=20)
            )
        )
        started = time.monotonic()
        poll.start()
        time.sleep(0.5)
        offer = offer_for(person.did, ids[0], vendor(market, 0), 18999.0)
        assert httpx.post(f"{b.url}/mailbox", content=offer, headers=JWE).status_code == 202
        poll.join(30)
        assert time.monotonic() - started < 10  # woken, not answered at the poll's timeout
        assert len(answered[0].json()["messages"]) == 1
    finally:
        fleet.stop()


def test_pushes_a_killed_process_held_are_made_by_the_other(market: Market) -> None:
    """SIGKILL A while it holds unacknowledged pushes: B alone makes them, each arriving once."""
    fleet = start_fleet(2, base=market.prefix, delay=3.0)  # a slow CRM behind each inbox
    try:
        a = market.start()
        for index in (0, 1):
            subscribe(a, vendor(market, index), ["vehicles"], inbox=f"{fleet.url}/v/{index}/inbox")
        ids = [send(a, Identity.generate(), INTENT, intent()).json()["id"] for _ in range(10)]
        total = 2 * len(ids)
        # A's pushers took every push from the queue and are still pushing them.
        eventually(
            lambda: market.queue()[0] == 0 and market.queue()[1] > 0
            and sum(market.states().values()) == total,
            what="A holding the pushes",
        )  # fmt: skip
        a.kill()
        arrived = len(matches(fleet, 0)) + len(matches(fleet, 1))
        assert arrived < total  # A died with pushes unmade
        assert market.states()[DELIVERED] < total

        b = market.start()  # B alone: what A held is handed to it after the ack wait
        eventually(
            lambda: market.states() == Counter({DELIVERED: total}),
            timeout=45,
            what="every push made and recorded by B",
        )
        for index in (0, 1):
            assert Counter(m["intent_id"] for m in matches(fleet, index)) == Counter(ids)
        assert market.queue() == (0, 0)
        assert b.process.poll() is None
    finally:
        fleet.stop()


def vendor(market: Market, index: int) -> Identity:
    """Vendor ``index`` of this test's fleet (its keys are made from the market's prefix)."""
    return vendor_identity(market.prefix.encode(), index)
