"""The delivery worker: retries what may succeed later, fails what cannot, in order per vendor."""

from __future__ import annotations

import pytest

from tests.agent.vendors import (
    LOSE_ANSWER,
    Clock,
    VendorNetwork,
    connect,
    deliver,
    refusal,
)
from vrm.agent.outbox import store
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import RELATIONSHIP_REQUEST, RELATIONSHIP_STATE
from vrm.transport import TransportError

pytestmark = pytest.mark.anyio


async def test_a_busy_vendor_is_tried_again_after_its_retry_after(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A 503 with Retry-After keeps the message pending that long; then it is delivered."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    network.script(shop, refusal(503, "in_progress", retry_after=30))
    assert await deliver(worker) == 1
    [waiting] = person.deliveries()
    assert (waiting.state, waiting.attempts, waiting.last_status) == ("pending", 1, 503)
    assert waiting.next_attempt_at == clock.now + 30
    assert shop.received() == []

    clock.advance(29)
    assert await deliver(worker) == 0
    clock.advance(1)
    assert await deliver(worker) == 1
    [delivered] = person.deliveries()
    assert (delivered.state, delivered.attempts, delivered.delivered_at) == (
        "delivered",
        2,
        clock.now,
    )
    assert [m.id for m in shop.received()] == [relationship.request_id]


async def test_network_failures_are_retried_with_growing_waits(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Connection failures are retried after 1, 2, 4 s …; then the message is delivered."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    network.script(
        shop, *(TransportError(f"POST {shop.inbox}: connection reset") for _ in range(3))
    )
    waits = []
    for _ in range(3):
        assert await deliver(worker) == 1
        [waiting] = person.deliveries()
        assert waiting.state == "pending"
        assert waiting.error is not None
        assert "connection reset" in waiting.error
        assert waiting.next_attempt_at is not None
        waits.append(waiting.next_attempt_at - clock.now)
        clock.advance(waits[-1])
    assert waits == [1.0, 2.0, 4.0]
    assert await deliver(worker) == 1
    [delivered] = person.deliveries()
    assert (delivered.state, delivered.attempts, delivered.last_status) == ("delivered", 4, 202)
    assert [m.id for m in shop.received()] == [relationship.request_id]


async def test_a_refusal_fails_at_once(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A vendor's 4xx (here bad_signature) is final: failed after one attempt, with its code."""
    shop, _ = await connect(person, network, "Corner Shop", clock=clock, state=None)
    network.script(shop, refusal(401, "bad_signature"))
    assert await deliver(worker) == 1
    [failed] = person.deliveries()
    assert (failed.state, failed.attempts, failed.last_status, failed.last_code) == (
        "failed",
        1,
        401,
        "bad_signature",
    )
    assert failed.next_attempt_at is None
    clock.advance(3600)
    assert await deliver(worker) == 0
    assert shop.received() == []


async def test_a_failed_message_does_not_hold_up_the_next(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Once a vendor's message has failed, the next one in its queue goes."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.pause("Corner Shop")
    network.script(shop, refusal(422, "invalid_body"))
    assert await deliver(worker) == 2
    assert [(d.type, d.state) for d in person.deliveries()] == [
        (RELATIONSHIP_STATE, "delivered"),
        (RELATIONSHIP_REQUEST, "failed"),
    ]
    assert [m.type for m in shop.received()] == [RELATIONSHIP_STATE]
    assert shop.received()[0].sender == relationship.our_did


async def test_a_vendor_s_messages_arrive_in_order_despite_retries(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """While one vendor's first message waits to be retried, its later ones wait; others go."""
    shop, _ = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.pause("Corner Shop")
    person.resume("Corner Shop")
    books, _ = await connect(person, network, "Book Barn", clock=clock, state=None)
    network.script(shop, refusal(503, "handler_failed"), refusal(503, "handler_failed"))

    assert await deliver(worker) == 2  # the shop's request (refused) and the barn's request
    assert [m.type for m in books.received()] == [RELATIONSHIP_REQUEST]
    assert shop.received() == []
    clock.advance(1)
    assert await deliver(worker) == 1
    assert shop.received() == []
    clock.advance(2)
    assert await deliver(worker) == 3
    states = [m.body.state for m in shop.received(RELATIONSHIP_STATE)]
    assert [m.type for m in shop.received()] == [RELATIONSHIP_REQUEST, *[RELATIONSHIP_STATE] * 2]
    assert states == ["paused", "wants"]


async def test_a_message_fails_after_its_maximum_age(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A vendor unreachable for longer than delivery_max_age: the message is marked failed."""
    person.set_config("delivery_max_age", "10")
    shop, _ = await connect(person, network, "Corner Shop", clock=clock, state=None)
    network.down.add(shop.host)
    states = []
    for _ in range(6):
        await deliver(worker)
        [status] = person.deliveries()
        states.append(status.state)
        if status.next_attempt_at is not None:
            clock.now = status.next_attempt_at
    # Attempts at 0, 1, 3 and 7 s; the next would be at 15 s, past the 10 s limit.
    assert states == ["pending", "pending", "pending", "failed", "failed", "failed"]
    [failed] = person.deliveries()
    assert failed.attempts == 4
    assert failed.error is not None
    assert "connection refused" in failed.error


async def test_a_lost_answer_then_replay_counts_as_delivered(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """If the vendor took a message but its answer was lost, the retry's 409 replay delivers it."""
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    network.script(shop, LOSE_ANSWER)
    await deliver(worker)
    [waiting] = person.deliveries()
    assert waiting.state == "pending"
    assert [m.id for m in shop.received()] == [relationship.request_id]

    clock.advance(1)
    assert await deliver(worker) == 1
    [delivered] = person.deliveries()
    assert delivered.state == "delivered"
    assert [m.id for m in shop.received()] == [relationship.request_id], "applied once"


async def test_retry_signs_again_with_the_same_id(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """A message that expired before it arrived is retried under its id, with a fresh lifetime."""
    person.set_config("delivery_max_age", "60")
    clock.advance(-2 * 3600)
    shop, relationship = await connect(person, network, "Corner Shop", clock=clock, state=None)
    clock.advance(2 * 3600)  # the signed message expired an hour ago
    await deliver(worker)
    [failed] = person.deliveries()
    assert (failed.state, failed.last_code) == ("failed", "expired")
    assert shop.received() == []

    queued: list[str] = []
    person.on_queued = queued.extend
    retried = person.retry(failed.id)
    assert (retried.state, retried.attempts, retried.last_code, retried.error) == (
        "pending",
        0,
        None,
        None,
    )
    assert retried.next_attempt_at == clock.now
    assert queued == [relationship.request_id]
    await deliver(worker)
    [delivered] = person.deliveries()
    assert delivered.state == "delivered"
    [request] = shop.received()
    assert request.id == relationship.request_id
    assert request.sender == relationship.our_did
    assert request.envelope.created_time == int(clock.now)
    lifetime = request.envelope.expires_time - request.envelope.created_time
    assert lifetime == store.message_lifetime(60)
