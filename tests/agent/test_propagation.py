"""Where a profile change went: the deliveries it queued, told apart from every other."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.agent.vendors import Clock, VendorNetwork, connect, deliver
from vrm.agent.errors import NotFound
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.propagation import Propagation, propagation

pytestmark = pytest.mark.anyio


def went(person: PersonalAgent, path: str, version: int) -> Propagation:
    with person.engine.connect() as connection:
        return propagation(
            connection, person.sealer, path=path, version=version, today=dt.date.today()
        )


async def test_fields_changed_together_each_find_the_message_they_share(
    person: PersonalAgent, network: VendorNetwork, worker: DeliveryWorker, clock: Clock
) -> None:
    """Two fields in one change, one message per vendor: each field's change lists it."""
    await connect(person, network, "Corner Grocer", clock=clock)
    person.grant("Corner Grocer", ["address.home", "email.home"], purpose="deliveries")
    clock.advance(10)
    person.set_fields(
        {"address.home": {"streetAddress": "1 Elm Row"}, "email.home": "ann@example.org"},
        changed_by="test",
    )
    address, email = went(person, "address.home", 1), went(person, "email.home", 1)
    assert [d.vendor for d in address.deliveries] == ["Corner Grocer"]
    assert address.deliveries[0].delivery.id == email.deliveries[0].delivery.id
    assert not address.settled
    await deliver(worker)
    assert went(person, "address.home", 1).settled


async def test_a_later_change_at_the_same_instant_is_told_apart_by_version(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """With the clock standing still, each version finds only its own message."""
    await connect(person, network, "Corner Grocer", clock=clock)
    person.grant("Corner Grocer", ["email.home"], purpose="receipts")
    person.set_field("email.home", "one@example.org", changed_by="test")
    person.set_field("email.home", "two@example.org", changed_by="test")
    first, second = went(person, "email.home", 1), went(person, "email.home", 2)
    assert len(first.deliveries) == len(second.deliveries) == 1
    assert first.deliveries[0].delivery.id != second.deliveries[0].delivery.id


async def test_vendors_on_hold_are_listed_with_the_reason(
    person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """A vendor granted the field that has not accepted is sent nothing, and says why."""
    await connect(person, network, "Leith Bank", clock=clock, state=None)
    person.grant("Leith Bank", ["email.home"], purpose="statements")
    person.set_field("email.home", "ann@example.org", changed_by="test")
    change = went(person, "email.home", 1)
    assert change.deliveries == []
    assert [(h.vendor, h.reason) for h in change.held] == [
        ("Leith Bank", "the vendor has not accepted")
    ]
    assert change.settled


def test_a_version_that_does_not_exist_is_not_found(person: PersonalAgent) -> None:
    """Asking for a change the field never had raises NotFound."""
    person.set_field("email.home", "ann@example.org", changed_by="test")
    with pytest.raises(NotFound):
        went(person, "email.home", 2)
