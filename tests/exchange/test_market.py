"""The market's store: intents taken in batches, their deliveries fanned out, offers kept."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from tests.exchange.test_pools import EXCHANGE, NOW, intent, market
from vrm.exchange.market import MAX_MAILBOX, PENDING, WITHDRAWN, Published
from vrm.exchange.schema import deliveries
from vrm.exchange.worker import due_pushes, record_pushes
from vrm.protocol import (
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    encrypt_for,
)
from vrm.protocol.v1.intents import EXCHANGE_SUBSCRIBE, intent_types
from vrm.transport.backoff import Backoff


def subscribe(engine: Engine, vendor: Identity, *, inbox: str | None) -> None:
    body = {
        "name": "shop",
        "inbox": inbox,
        "subscriptions": [{"categories": ["energy"]}],
    }
    _, token = compose(vendor, type=EXCHANGE_SUBSCRIBE, to=EXCHANGE.did, body=body)
    message = Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None).verify(token)
    market(engine).subscribe(message)


def withdrawal(person: Identity, intent_id: str) -> Message:
    _, token = compose(
        person, type="vrm/1/intent.withdraw", to=EXCHANGE.did, body={"intent": intent_id}
    )
    return Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None).verify(token)


def delivery_count(engine: Engine) -> int:
    with engine.begin() as connection:
        return int(connection.execute(select(func.count()).select_from(deliveries)).scalar_one())


def test_a_batch_takes_each_intent_once_and_refuses_a_second_intent_of_a_pseudonym(
    exchange_engine: Engine,
) -> None:
    """A repeat (even within the batch) gets the first's number; another intent is refused."""
    person = Identity.generate()
    first, other, fresh = intent(person=person), intent(person=person), intent()
    outcomes = market(exchange_engine).publish_many([first, fresh, first, other])
    assert isinstance(outcomes[0], Published)
    assert outcomes[0].new
    assert isinstance(outcomes[1], Published)
    assert outcomes[1].new
    assert outcomes[2] == Published(outcomes[0].intent, [], new=False)
    assert isinstance(outcomes[3], ProtocolError)
    assert outcomes[3].code is RefusalCode.INVALID_BODY
    again = market(exchange_engine).publish_many([first])
    assert again == [Published(outcomes[0].intent, [], new=False)]


def test_deliveries_are_written_once_off_the_intake_for_vendors_with_an_inbox(
    exchange_engine: Engine,
) -> None:
    """Taking intents writes none; fanning out writes one per pushed vendor, once."""
    pushed, fetching = Identity.generate(), Identity.generate()
    subscribe(exchange_engine, pushed, inbox="https://shop.example/inbox")
    subscribe(exchange_engine, fetching, inbox=None)
    taken = market(exchange_engine)
    outcomes = taken.publish_many([intent(), intent(), intent(category="travel/flights")])
    assert [sorted(o.vendors) for o in outcomes if isinstance(o, Published)] == [
        sorted([pushed.did, fetching.did]),
        sorted([pushed.did, fetching.did]),
        [],
    ]
    assert delivery_count(exchange_engine) == 0
    with exchange_engine.begin() as connection:
        assert taken.fan_out(connection) == 2
    with exchange_engine.begin() as connection:
        assert taken.fan_out(connection) == 0
    assert delivery_count(exchange_engine) == 2


def test_a_withdrawn_intent_not_yet_fanned_out_is_pushed_to_nobody(
    exchange_engine: Engine,
) -> None:
    """Withdrawal before the deliveries are written leaves nothing to push or to tell."""
    vendor = Identity.generate()
    subscribe(exchange_engine, vendor, inbox="https://shop.example/inbox")
    taken = market(exchange_engine)
    message = intent(person=(person := Identity.generate()))
    taken.publish(message)
    assert taken.withdraw(withdrawal(person, message.id))
    with exchange_engine.begin() as connection:
        assert taken.fan_out(connection) == 0
    assert delivery_count(exchange_engine) == 0


def test_a_mailbox_keeps_the_newest_offers_and_only_for_live_intents(
    exchange_engine: Engine,
) -> None:
    """Past the limit the oldest offers go; another pseudonym's mailbox is untouched."""
    taken = market(exchange_engine)
    first, second = intent(), intent()
    taken.publish_many([first, second])
    kept = [
        taken.post_offer(encrypt_for(first.sender, f"offer {n}")) for n in range(MAX_MAILBOX + 5)
    ]
    other = taken.post_offer(encrypt_for(second.sender, "offer to another"))
    held = taken.mailbox(first.sender)
    assert [offer["id"] for offer in held] == kept[5:]
    assert [offer["id"] for offer in taken.mailbox(second.sender)] == [other]
    with pytest.raises(ProtocolError) as refused:
        taken.post_offer(encrypt_for(Identity.generate().did, "to nobody"))
    assert refused.value.code is RefusalCode.WRONG_RECIPIENT


def test_a_process_whose_index_is_behind_catches_up_before_matching(
    exchange_engine: Engine,
) -> None:
    """Another process's subscription is in the index before the next intent or fan-out."""
    here, there = market(exchange_engine), market(exchange_engine)
    vendor = Identity.generate()
    subscribe(exchange_engine, vendor, inbox="https://shop.example/inbox")
    assert here.index.size == there.index.size == 0
    [taken] = here.publish_many([intent()])
    assert isinstance(taken, Published)
    assert (taken.vendors, taken.pushed) == ([vendor.did], True)
    subscribe(exchange_engine, Identity.generate(), inbox="https://other.example/inbox")
    with exchange_engine.begin() as connection:
        assert there.fan_out(connection) == 1
    assert there.index.size == 2
    assert delivery_count(exchange_engine) == 2, "both vendors subscribed when it was fanned out"


def test_a_match_pushed_while_its_intent_was_withdrawn_is_followed_by_the_withdrawal(
    exchange_engine: Engine,
) -> None:
    """The vendor got the match as the intent closed: it is told, not left with a dead intent."""
    vendor = Identity.generate()
    subscribe(exchange_engine, vendor, inbox="https://shop.example/inbox")
    taken = market(exchange_engine)
    person = Identity.generate()
    message = intent(person=person)
    taken.publish(message)
    with exchange_engine.begin() as connection:
        taken.fan_out(connection)
        [pushing] = due_pushes(connection, deliveries.c.state == PENDING, limit=10)
    assert taken.withdraw(withdrawal(person, message.id))  # meanwhile, the person withdraws
    with exchange_engine.begin() as connection:
        record_pushes(connection, [(pushing, None)], backoff=Backoff(), now=NOW)
        told = connection.execute(select(deliveries.c.vendor, deliveries.c.kind)).all()
    assert told == [(vendor.did, WITHDRAWN)]


def test_a_match_recorded_normally_queues_no_withdrawal(exchange_engine: Engine) -> None:
    """A live intent's push is just delivered."""
    vendor = Identity.generate()
    subscribe(exchange_engine, vendor, inbox="https://shop.example/inbox")
    taken = market(exchange_engine)
    taken.publish(intent())
    with exchange_engine.begin() as connection:
        taken.fan_out(connection)
        [pushing] = due_pushes(connection, deliveries.c.state == PENDING, limit=10)
        record_pushes(connection, [(pushing, None)], backoff=Backoff(), now=NOW)
        rows = connection.execute(select(deliveries.c.kind, deliveries.c.state)).all()
    assert rows == [("match", "delivered")]
