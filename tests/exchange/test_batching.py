"""Group commit: intents arriving together share one transaction, each still answered alone."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine

from tests.exchange.test_pools import EXCHANGE, intent
from vrm.exchange.batching import IntentBatcher
from vrm.exchange.market import Market
from vrm.exchange.schema import intents
from vrm.exchange.service import MIGRATIONS
from vrm.protocol import Identity, ProtocolError, Verifier, compose
from vrm.protocol.v1.intents import INTENT, intent_types
from vrm.storage import database_engine, migrate_to_newest


def test_concurrent_intents_are_written_in_few_transactions_each_answered(
    exchange_engine: Engine,
) -> None:
    """100 intents at once: all stored, a refused one refused alone, far fewer commits."""
    engine = exchange_engine
    market = Market(engine)
    batches: list[int] = []
    publish_many = market.publish_many

    def counted(messages: list) -> list:  # type: ignore[type-arg]
        batches.append(len(messages))
        return publish_many(messages)

    market.publish_many = counted  # type: ignore[method-assign]
    messages = [intent() for _ in range(100)]
    person = Identity.generate()
    expired = intent(person=person)
    body = expired.body.model_dump(mode="json")
    body["demand"]["validThrough"] = int(time.time()) - 10
    _, token = compose(person, type=INTENT, to=EXCHANGE.did, body=body)
    refused = Verifier(receiver=EXCHANGE.did, types=intent_types(), seen_ids=None).verify(token)

    async def run() -> list[object]:
        batcher = IntentBatcher(market, on_matched=lambda: None)
        return await asyncio.gather(
            *(batcher.publish(m) for m in [*messages, refused]), return_exceptions=True
        )

    outcomes = asyncio.run(run())
    assert isinstance(outcomes[-1], ProtocolError)
    assert "expired" in outcomes[-1].detail
    assert all(not isinstance(o, BaseException) for o in outcomes[:-1])
    with engine.begin() as connection:
        stored = connection.execute(intents.select()).all()
    assert len(stored) == 100
    assert sum(batches) == 101
    assert len(batches) < 10  # one commit served many requests


def test_a_failed_transaction_fails_every_request_of_its_batch(tmp_path: Path) -> None:
    """If the batch cannot be written, no request is answered as if it were."""
    engine = database_engine(tmp_path / "exchange.db")
    migrate_to_newest(engine, MIGRATIONS)
    market = Market(engine)

    def broken(messages: list) -> list:  # type: ignore[type-arg]
        raise OSError("disk full")

    market.publish_many = broken  # type: ignore[method-assign]

    async def run() -> list[object]:
        batcher = IntentBatcher(market, on_matched=lambda: None)
        return await asyncio.gather(
            *(batcher.publish(intent()) for _ in range(5)), return_exceptions=True
        )

    outcomes = asyncio.run(run())
    assert all(isinstance(o, OSError) and "disk full" in str(o) for o in outcomes)
