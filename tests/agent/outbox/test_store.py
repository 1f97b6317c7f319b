"""The outbox table: per-vendor order, backoff, retries, and sealed messages."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect, files_on_disk, in_clear
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.outbox import store
from vrm.agent.outbox.store import Outcome
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import DEFAULT_MAX_LIFETIME, RELATIONSHIP_STATE
from vrm.transport.backoff import Backoff

pytestmark = pytest.mark.anyio

NO_JITTER = Backoff(base=1.0, factor=2.0, cap=60.0, random=lambda: 1.0)


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    """Each failed attempt multiplies the wait by the factor, up to the cap."""
    highest = Backoff(base=2.0, factor=3.0, cap=100.0, random=lambda: 1.0)
    assert [highest.delay(n) for n in range(1, 7)] == [2.0, 6.0, 18.0, 54.0, 100.0, 100.0]
    lowest = Backoff(base=2.0, factor=3.0, cap=100.0, random=lambda: 0.0)
    assert [lowest.delay(n) for n in range(1, 7)] == [1.0, 3.0, 9.0, 27.0, 50.0, 50.0]


def test_backoff_jitter_stays_in_the_upper_half() -> None:
    """With jitter, every wait is between half the ceiling and the ceiling."""
    draws = random.Random(7)  # noqa: S311 - jitter, not a secret
    backoff = Backoff(base=1.0, factor=2.0, cap=3600.0, random=draws.random)
    for attempts in range(1, 20):
        ceiling = min(3600.0, 2.0 ** (attempts - 1))
        waits = [backoff.delay(attempts) for _ in range(50)]
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits), attempts
        assert len(set(waits)) > 1, "the waits are spread out"


def test_backoff_honours_retry_after() -> None:
    """A receiver's Retry-After is the least wait; a shorter one changes nothing."""
    backoff = Backoff(base=1.0, factor=2.0, cap=3600.0, random=lambda: 0.5)
    assert backoff.delay(1, retry_after=120.0) == 120.0
    assert backoff.delay(5, retry_after=1.0) == backoff.delay(5)
    assert backoff.delay(5, retry_after=None) == 12.0


def test_a_message_is_signed_to_outlive_its_retries() -> None:
    """A message stays valid for as long as it is retried, within the protocol's limit."""
    assert store.message_lifetime(3600) > 3600
    assert store.message_lifetime(3 * 24 * 3600) > 3 * 24 * 3600
    assert store.message_lifetime(30 * 24 * 3600) == DEFAULT_MAX_LIFETIME


def _due(person: PersonalAgent, now: float) -> list[store.OutgoingMessage]:
    with person.engine.begin() as connection:
        return store.due(connection, person.sealer, now=now)


def _record(person: PersonalAgent, *outcomes: Outcome, now: float) -> None:
    with person.engine.begin() as connection:
        store.record(connection, person.sealer, outcomes, backoff=NO_JITTER, now=now)


async def test_one_vendor_s_messages_leave_in_order(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Only a vendor's oldest pending message is due: a newer one waits out its backoff too."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.pause("Corner Shop")
    _, books = await connect(person, network, "Book Barn", clock=clock, state=None)
    [shop_pause] = [
        d for d in person.deliveries(vendor="Corner Shop") if d.type == RELATIONSHIP_STATE
    ]
    now = clock.now

    def due_ids(at: float) -> list[str]:
        return [message.message_id for message in _due(person, at)]

    heads = {message.message_id: message for message in _due(person, now)}
    assert set(heads) == {shop.request_id, books.request_id}
    _record(
        person,
        Outcome(heads[shop.request_id].row_id, delivered=False, status=503),
        Outcome(heads[books.request_id].row_id, delivered=True, status=202),
        now=now,
    )
    assert due_ids(now) == []
    assert due_ids(now + 0.9) == []
    assert due_ids(now + 1) == [shop.request_id]
    _record(person, Outcome(heads[shop.request_id].row_id, delivered=True, status=202), now=now + 1)
    assert due_ids(now + 1) == [shop_pause.message_id]


async def test_counts_per_vendor(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The person sees, per vendor, how many messages are pending, delivered and failed."""
    _, shop = await connect(person, network, "Corner Shop", clock=clock, state=None)
    person.pause("Corner Shop")
    _, books = await connect(person, network, "Book Barn", clock=clock, state=None)
    heads = {m.message_id: m for m in _due(person, clock.now)}
    _record(
        person,
        Outcome(heads[shop.request_id].row_id, delivered=True, status=202),
        Outcome(heads[books.request_id].row_id, delivered=False, retryable=False),
        now=clock.now,
    )
    assert person.delivery_counts() == {
        shop.id: {"delivered": 1, "pending": 1},
        books.id: {"failed": 1},
    }
    assert [d.state for d in person.deliveries(state="failed")] == ["failed"]
    assert {d.vendor_id for d in person.deliveries(vendor="Book Barn")} == {books.id}


async def test_only_failed_deliveries_are_retried(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """Retrying a pending or delivered message is a conflict; an unknown one is not found."""
    await connect(person, network, "Corner Shop", clock=clock, state=None)
    [pending] = person.deliveries()
    with pytest.raises(Conflict, match="pending"):
        person.retry(pending.id)
    _record(person, Outcome(pending.id, delivered=True, status=202), now=clock.now)
    with pytest.raises(Conflict, match="delivered"):
        person.retry(pending.id)
    with pytest.raises(NotFound):
        person.retry(pending.id + 100)


async def test_messages_are_sealed_at_rest(
    person: PersonalAgent, network: VendorNetwork, clock: Clock, tmp_path: Path
) -> None:
    """Neither a queued message, its inbox nor its delivery error is stored in clear."""
    vendor, _ = await connect(person, network, "Corner Shop", clock=clock, state=None)
    [message] = _due(person, clock.now)
    assert message.inbox == vendor.inbox
    error = f"{vendor.inbox} refused the message (401 bad_signature): check the quince"
    _record(
        person,
        Outcome(message.row_id, delivered=False, retryable=False, error=error),
        now=clock.now,
    )
    [failed] = person.deliveries()
    assert failed.error == error

    stored = files_on_disk(person.engine, tmp_path)
    assert in_clear(message.message_id, stored), "the message id is the clear look-up key"
    for secret in (message.token, message.token.split(".")[1], vendor.inbox, "check the quince"):
        assert not in_clear(secret, stored), secret
