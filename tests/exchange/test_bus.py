"""The NATS bus on a real NATS (JetStream) and PostgreSQL: relay, pushers, wake-ups, notices."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

import anyio
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy import Engine, select

from vrm.demo.fleet import Fleet, create_fleet_app
from vrm.exchange.bus import Arrivals
from vrm.exchange.market import DELIVERED, PENDING, Market
from vrm.exchange.nats_bus import CONSUMER, NatsBus
from vrm.exchange.relay import Relay
from vrm.exchange.schema import deliveries
from vrm.exchange.service import MIGRATIONS
from vrm.exchange.worker import QUEUED, Pusher
from vrm.protocol import Identity, Message, Verifier, compose
from vrm.protocol.v1.intents import EXCHANGE_SUBSCRIBE, INTENT, intent_types
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport import AiohttpTransport, Sender
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.serving import LocalServer

pytestmark = [pytest.mark.services, pytest.mark.anyio]
EXCHANGE = Identity.generate()


@pytest.fixture
def database(postgres_url: str) -> str:
    """The exchange's store in a fresh PostgreSQL schema, migrated."""
    engine = database_engine(postgres_url)
    migrate_to_newest(engine, MIGRATIONS)
    engine.dispose()
    return postgres_url


@pytest.fixture
async def prefix(nats_url: str) -> AsyncIterator[str]:
    """A market of this test's own on the NATS server; its stream is deleted afterwards."""
    name = f"vrm.test{uuid.uuid4().hex[:12]}"
    yield name
    connection = await nats.connect(nats_url)
    with suppress(NotFoundError):
        await connection.jetstream().delete_stream(name.replace(".", "_").upper())
    await connection.close()


def signed(sender: Identity, type: str, body: dict[str, Any]) -> Message:
    token = compose(sender, type=type, to=EXCHANGE.did, body=body)[1]
    return Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None).verify(token)


def subscription(vendor: Identity, inbox: str) -> Message:
    body = {"name": "a dealer", "inbox": inbox, "subscriptions": [{"categories": ["vehicles"]}]}
    return signed(vendor, EXCHANGE_SUBSCRIBE, body)


def intent() -> Message:
    demand = {
        "category": "vehicles/cars/electric",
        "priceSpecification": {"minPrice": 15000, "maxPrice": 25000, "priceCurrency": "EUR"},
        "areaServed": {"addressCountry": "GB"},
        "validThrough": int(time.time()) + 3600,
    }
    return signed(Identity.generate(), INTENT, {"demand": demand, "terms": ["SD-BASE"]})


class Process:
    """What one exchange process holds: its engine, market, pusher, long-polls and bus."""

    def __init__(self, database: str, nats_url: str, prefix: str, *, ack_wait: float) -> None:
        self.engine: Engine = database_engine(database)
        self.market = Market(self.engine)
        self.pusher = Pusher(
            EXCHANGE,
            Sender(AiohttpTransport(policy=AddressPolicy(allow_loopback=True))),
            mailbox_url="http://127.0.0.1:9/mailbox",
        )
        self.arrivals = Arrivals()
        self.bus = NatsBus(
            nats_url,
            engine=self.engine,
            market=self.market,
            pusher=self.pusher,
            arrivals=self.arrivals,
            prefix=prefix,
            ack_wait=ack_wait,
        )

    def relay(self, jetstream: JetStreamContext, **options: Any) -> Relay:
        """A relay of this process's own, as its bus runs one."""
        return Relay(
            self.engine,
            jetstream,
            subject=self.bus.push_subject,
            stream=self.bus.stream,
            fan_out=self.market.fan_out,
            **options,
        )

    def states(self) -> list[str]:
        with self.engine.begin() as connection:
            return list(connection.execute(select(deliveries.c.state)).scalars())


@pytest.fixture
async def process(
    database: str, nats_url: str, prefix: str
) -> AsyncIterator[Callable[..., Process]]:
    """Makes processes of this test's market (their buses not running); closes them after."""
    made: list[Process] = []

    def make(*, ack_wait: float = 30.0) -> Process:
        made.append(Process(database, nats_url, prefix, ack_wait=ack_wait))
        return made[-1]

    yield make
    for each in made:
        await each.pusher.aclose()
        each.engine.dispose()


@pytest.fixture
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamContext]:
    """A JetStream client of the test's own."""
    connection = await nats.connect(nats_url)
    yield connection.jetstream()
    await connection.close()


@asynccontextmanager
async def running(*processes: Process) -> AsyncIterator[None]:
    """The processes' buses running: relays, pushers and listeners."""
    async with AsyncExitStack() as stack:
        for each in processes:
            await stack.enter_async_context(each.bus.running())
        yield


@asynccontextmanager
async def vendor_fleet() -> AsyncIterator[tuple[Fleet, str]]:
    """One vendor inbox served on 127.0.0.1; its inbox URL."""
    fleet = Fleet(1, address_policy=AddressPolicy(allow_loopback=True))
    async with LocalServer(create_fleet_app(fleet)) as server:
        yield fleet, f"{server.url}/v/0/inbox"


async def test_two_relays_queue_each_due_delivery_once(
    process: Callable[..., Process], jetstream: JetStreamContext
) -> None:
    """Two relays on one store claim disjoint rows: every delivery is queued by exactly one."""
    a = process()
    a.market.subscribe(subscription(Identity.generate(), "http://127.0.0.1:9/inbox"))
    a.market.publish_many([intent() for _ in range(120)])
    with a.engine.begin() as connection:
        assert a.market.fan_out(connection) == 120  # 120 deliveries pending
    b = process()
    await a.bus.declare(jetstream)
    relays = [a.relay(jetstream, batch=7), b.relay(jetstream, batch=7)]  # small claims interleave
    queued = [0, 0]

    async def drain(index: int) -> None:
        while PENDING in await anyio.to_thread.run_sync(a.states):
            queued[index] += await relays[index].run_once()

    async with anyio.create_task_group() as both:
        both.start_soon(drain, 0)
        both.start_soon(drain, 1)

    assert sum(queued) == 120, queued
    assert min(queued) > 0, queued  # both took part
    assert a.states() == [QUEUED] * 120
    assert (await jetstream.stream_info(a.bus.stream)).state.messages == 120


async def test_a_push_a_dead_process_held_is_made_by_another_after_ack_wait(
    process: Callable[..., Process], jetstream: JetStreamContext
) -> None:
    """A pulled push never acknowledged goes to another process after ack_wait, and arrives once."""
    dead, alive = process(ack_wait=1.0), process(ack_wait=1.0)
    async with vendor_fleet() as (fleet, inbox):
        dead.market.subscribe(subscription(fleet.vendors[0].identity, inbox))
        await dead.bus.declare(jetstream)
        wanted = intent()
        dead.market.publish(wanted)
        await dead.relay(jetstream).run_once()
        assert dead.states() == [QUEUED]
        held = await jetstream.pull_subscribe_bind(durable=CONSUMER, stream=dead.bus.stream)
        [message] = await held.fetch(1, timeout=5)  # pulled; then the process "dies"
        assert message.metadata.num_delivered == 1
        taken_at = time.monotonic()

        async with running(alive):
            with anyio.fail_after(15):
                while alive.states() != [DELIVERED]:
                    await anyio.sleep(0.05)
            waited = time.monotonic() - taken_at
        assert waited >= 0.9  # not before ack_wait
        assert [match["intent_id"] for match in fleet.vendors[0].matches] == [wanted.id]
        info = await jetstream.consumer_info(dead.bus.stream, CONSUMER)
        assert info.num_ack_pending == 0
        assert (info.delivered.stream_seq, info.delivered.consumer_seq) == (
            1,
            2,
        )  # handed out twice
        assert (await jetstream.stream_info(dead.bus.stream)).state.messages == 0


async def test_an_offer_kept_by_one_process_wakes_a_long_poll_in_another(
    process: Callable[..., Process],
) -> None:
    """The offer wake-up crosses processes: a long-poll on A returns when B keeps an offer."""
    a, b = process(), process()
    async with running(a, b):
        pseudonym = Identity.generate().did
        started = time.monotonic()
        waiting = asyncio.create_task(a.arrivals.wait(pseudonym, 10))
        await asyncio.sleep(0.2)
        await b.bus.offer_kept(pseudonym)
        await asyncio.wait_for(waiting, 10)
        assert time.monotonic() - started < 5


async def test_a_subscription_stored_by_one_process_reaches_the_others_index(
    process: Callable[..., Process],
) -> None:
    """A subscription notice makes every other process reload its index from the store."""
    a, b = process(), process()
    opened_with = b.market.index
    async with running(a, b):
        with anyio.fail_after(10):
            while b.market.index is opened_with:  # the reload each process makes as it starts
                await anyio.sleep(0.02)
        vendor = Identity.generate()
        await anyio.to_thread.run_sync(
            a.market.subscribe, subscription(vendor, "http://127.0.0.1:9/inbox")
        )
        assert b.market.index.rules_of(vendor.did) == []  # B has not read the store since
        await a.bus.subscriptions_changed()
        with anyio.fail_after(10):
            while not b.market.index.rules_of(vendor.did):
                await anyio.sleep(0.02)
        assert b.market.pushed_to == {vendor.did}
