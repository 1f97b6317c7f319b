"""The intents desk under concurrency: one offer taken per intent, the event loop never held."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Engine

from tests.agent.test_intents import offer_from, publish, types_queued, wanted
from tests.agent.vendors import Vendor, VendorNetwork
from vrm.agent.errors import Conflict, VendorUnreachable
from vrm.agent.intents import service as intents
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import RELATIONSHIP_REQUEST
from vrm.protocol.v1.intents import OFFER_ACCEPT
from vrm.transport import HttpReply

pytestmark = pytest.mark.anyio

EXCHANGE_HOST = "x.example"  # where tests.agent.test_intents.publish says the exchange is
LOCK_HELD = 1.0
"""Seconds another connection holds the database's write lock."""


class HeldDiscovery:
    """The test network, but no discovery is answered before ``parties`` have asked.

    Two accepts given this transport have both read the offer before either one
    can go on to its transaction: the window in which they race.
    """

    def __init__(self, network: VendorNetwork, parties: int = 2) -> None:
        self.network = network
        self.parties = parties
        self.asked = 0
        self.all_asked = asyncio.Event()

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        if url.endswith("/.well-known/vrm"):
            self.asked += 1
            if self.asked >= self.parties:
                self.all_asked.set()
            with contextlib.suppress(TimeoutError):  # an accept that waits for the other
                await asyncio.wait_for(self.all_asked.wait(), 2)
        return await self.network.request(method, url, content=content, content_type=content_type)

    async def aclose(self) -> None:
        """Nothing to release: the network is the fixture's."""


def offered(person: PersonalAgent, *vendors: Vendor) -> list[intents.OfferRecord]:
    """An intent published, and one offer from each vendor for it."""
    record = publish(person, wanted())
    fetched = [
        offer_from(v, record, 500.0 + i, needs=["address.home"]) for i, v in enumerate(vendors)
    ]
    with person.engine.begin() as connection:
        return intents.take_offers(connection, person.sealer, record, fetched, now=person.clock())


def offer_states(person: PersonalAgent, offers: list[intents.OfferRecord]) -> list[str]:
    with person.engine.begin() as connection:
        return [intents.get_offer(connection, person.sealer, o.id).state for o in offers]


@pytest.mark.parametrize("same_offer", [False, True], ids=["two offers", "one offer twice"])
async def test_two_accepts_at_once_take_one_offer(
    person: PersonalAgent, network: VendorNetwork, same_offer: bool
) -> None:
    """Racing accepts of one intent: one wins, the other is a Conflict and leaves no trace."""
    first, second = network.add("South Kitchens"), network.add("North Kitchens")
    offers = offered(person, first, second)
    desk = IntentDesk(person, transport=HeldDiscovery(network))
    taking = [offers[0].id, offers[0].id] if same_offer else [offers[0].id, offers[1].id]

    outcomes = await asyncio.gather(*(desk.accept(o) for o in taking), return_exceptions=True)

    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1
    assert [type(e) for e in lost] == [Conflict]
    assert [r.id for r in person.vendors()] == [won[0].id]
    assert [(r.id, g.path) for r, g in person.grants()] == [(won[0].id, "address.home")]
    queued = types_queued(person)
    assert queued.count(OFFER_ACCEPT) == queued.count(RELATIONSHIP_REQUEST) == 1
    assert sorted(offer_states(person, offers)) == [intents.ACCEPTED, intents.DECLINED]
    assert desk.intent(offers[0].intent_id).state == intents.ACCEPTED


@pytest.mark.parametrize("decline_first", [False, True], ids=["accept first", "decline first"])
async def test_an_accept_and_a_decline_at_once_answer_the_offer_once(
    person: PersonalAgent, network: VendorNetwork, decline_first: bool
) -> None:
    """An accept and a decline of one offer racing: one answers it, the other is a Conflict."""
    seller = network.add("South Kitchens")
    [offer] = offered(person, seller)
    desk = IntentDesk(person, transport=HeldDiscovery(network))
    accepting, declining = desk.accept(offer.id), desk.decline(offer.id)

    if decline_first:
        declined, taken = await asyncio.gather(declining, accepting, return_exceptions=True)
    else:
        taken, declined = await asyncio.gather(accepting, declining, return_exceptions=True)

    assert isinstance(taken, Conflict) != isinstance(declined, Conflict)
    [state] = offer_states(person, [offer])
    if isinstance(taken, Conflict):
        assert state == intents.DECLINED
        assert person.vendors() == []
        assert OFFER_ACCEPT not in types_queued(person)
    else:
        assert state == intents.ACCEPTED
        assert types_queued(person).count(OFFER_ACCEPT) == 1


@pytest.mark.parametrize(
    "body",
    [b"<html>gateway</html>", b"\xff\xfe", b"[1, 2]", b'"messages"', b'{"messages": {}}'],
    ids=["not JSON", "not UTF-8", "an array", "a string", "messages not a list"],
)
async def test_an_exchange_answering_no_mailbox_is_unreachable(
    person: PersonalAgent, network: VendorNetwork, body: bytes
) -> None:
    """A 200 that is not a JSON object with a list of messages: VendorUnreachable, nothing kept."""
    exchange = network.add("Exchange", host=EXCHANGE_HOST)
    record = publish(person, wanted())
    network.script(exchange, HttpReply(200, "application/json", body))
    desk = IntentDesk(person, transport=network)
    with pytest.raises(VendorUnreachable, match="the exchange answered with no"):
        await desk.fetch_offers(record.id)
    assert desk.intent(record.id).mailbox_cursor == record.mailbox_cursor


async def test_malformed_messages_from_the_exchange_are_unreachable_too(
    person: PersonalAgent, network: VendorNetwork
) -> None:
    """Mailbox entries without a numeric id and a message string are refused whole."""
    exchange = network.add("Exchange", host=EXCHANGE_HOST)
    record = publish(person, wanted())
    body = json.dumps({"messages": [{"id": "seven", "message": "x"}]}).encode()
    network.script(exchange, HttpReply(200, "application/json", body))
    with pytest.raises(VendorUnreachable, match="no mailbox"):
        await IntentDesk(person, transport=network).fetch_offers(record.id)


# The event loop while the database is locked

Action = Callable[[], Awaitable[object]]


async def longest_pause(engine: Engine, action: Action) -> float:
    """Run ``action`` while another connection holds the write lock for LOCK_HELD seconds.

    Returns the longest the event loop went without running another task meanwhile.
    """
    locked, ticks = threading.Event(), [time.monotonic()]

    def hold() -> None:
        with engine.begin():
            locked.set()
            time.sleep(LOCK_HELD)

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)
    try:
        await action()
    finally:
        ticker.cancel()
        holder.join()
    ticks.append(time.monotonic())
    return max(later - earlier for earlier, later in itertools.pairwise(ticks))


def desk_actions(person: PersonalAgent, network: VendorNetwork) -> dict[str, Action]:
    """Each async action of the desk and the agent, ready to run against the test network."""
    exchange = network.add("Exchange", host=EXCHANGE_HOST)
    seller, other = network.add("South Kitchens"), network.add("North Kitchens")
    to_take, to_decline = offered(person, seller, other)
    live = publish(person, wanted("a blue kettle"))
    desk = IntentDesk(person, transport=network)
    newcomer = network.add("East Kitchens")

    async def fetch_offers() -> list[intents.OfferRecord]:
        network.script(exchange, HttpReply(200, "application/json", b'{"messages": []}'))
        return await desk.fetch_offers(live.id)

    return {
        "publish": lambda: desk.publish(f"https://{EXCHANGE_HOST}", wanted()),
        "fetch_offers": fetch_offers,
        "accept": lambda: desk.accept(to_take.id),
        "decline": lambda: desk.decline(to_decline.id),
        "add_vendor": lambda: person.add_vendor(newcomer.url, transport=network),
    }


@pytest.mark.parametrize("action", ["publish", "fetch_offers", "accept", "decline", "add_vendor"])
async def test_waiting_for_the_database_lock_leaves_the_event_loop_free(
    person: PersonalAgent, network: VendorNetwork, action: str
) -> None:
    """While an action waits for SQLite's write lock, other tasks on the loop keep running."""
    run = desk_actions(person, network)[action]
    assert await longest_pause(person.engine, run) < LOCK_HELD / 2
