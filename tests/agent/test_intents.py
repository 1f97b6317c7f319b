"""The person's intents: a pseudonym each, sealed, and withdrawn without racing the intent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.agent.vendors import files_on_disk, in_clear
from vrm.agent.intents import service as intents
from vrm.agent.outbox import store
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import Discovery, Identity
from vrm.protocol.v1.intents import INTENT, INTENT_WITHDRAW, Intent

EXCHANGE = Identity.generate()
WHERE = Discovery(
    did=EXCHANGE.did, name="exchange", inbox="https://x.example/inbox", message_types=[INTENT]
)


def wanted(description: str = "a quiet dishwasher") -> Intent:
    body: dict[str, Any] = {
        "demand": {
            "category": "home/appliances",
            "description": description,
            "priceSpecification": {"maxPrice": 600, "priceCurrency": "EUR"},
            "areaServed": {"addressCountry": "IE"},
            "validThrough": int(time.time()) + 86400,
        },
        "terms": ["SD-BASE"],
    }
    return Intent.model_validate(body)


def publish(person: PersonalAgent, intent: Intent) -> intents.IntentRecord:
    with person.engine.begin() as connection:
        return intents.publish(
            connection,
            person.sealer,
            exchange_url="https://x.example",
            exchange=WHERE,
            intent=intent,
            now=person.clock(),
        )


def types_queued(person: PersonalAgent) -> list[str]:
    with person.engine.begin() as connection:
        rows = connection.execute(text("SELECT type FROM outbox ORDER BY id")).scalars()
        return list(rows)


def test_each_intent_has_its_own_pseudonym_and_is_sealed(
    person: PersonalAgent, tmp_path: Path
) -> None:
    """Two intents share nothing on the wire, and neither is readable in the store."""
    first, second = publish(person, wanted()), publish(person, wanted("a blue kettle"))
    assert first.pseudonym != second.pseudonym
    assert types_queued(person) == [INTENT, INTENT]
    stored = files_on_disk(person.engine, Path(str(person.engine.url.database)).parent)
    assert not in_clear("quiet dishwasher", stored)
    assert not in_clear("blue kettle", stored)


def test_withdrawing_an_intent_not_yet_sent_just_keeps_it_from_leaving(
    person: PersonalAgent,
) -> None:
    """No withdrawal races the intent: the intent is taken out of the outbox instead."""
    record = publish(person, wanted())
    with person.engine.begin() as connection:
        assert intents.withdraw(connection, person.sealer, record, now=person.clock()) is None
    assert types_queued(person) == []


def test_withdrawing_a_published_intent_tells_the_exchange(person: PersonalAgent) -> None:
    """Once the intent was delivered, a signed intent.withdraw from its pseudonym follows."""
    record = publish(person, wanted())
    with person.engine.begin() as connection:
        connection.execute(
            text("UPDATE outbox SET state = :state WHERE message_id = :id"),
            {"state": store.DELIVERED, "id": record.message_id},
        )
        sent = intents.withdraw(connection, person.sealer, record, now=person.clock())
    assert sent is not None
    assert types_queued(person) == [INTENT, INTENT_WITHDRAW]
    with person.engine.begin() as connection:
        assert intents.get_intent(connection, person.sealer, record.id).state == "withdrawn"
