"""The person's identities: one per use, keys sealed, found by DID."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from vrm.agent.identities.service import (
    Purpose,
    create_identity,
    list_identities,
    load_identity,
)
from vrm.agent.setup import UnlockedAgent
from vrm.protocol import PING, Ping, Verifier, compose, v1_types
from vrm.vault import DamagedData


def test_each_use_gets_its_own_identity(agent: UnlockedAgent) -> None:
    """Every identity created is new, and listing tells them apart by purpose."""
    with agent.engine.begin() as connection:
        made = [
            create_identity(connection, agent.sealer, purpose=Purpose.RELATIONSHIP, now=1),
            create_identity(connection, agent.sealer, purpose=Purpose.RELATIONSHIP, now=2),
            create_identity(connection, agent.sealer, purpose=Purpose.INTENT, now=3),
        ]
    assert len({identity.did for identity in made}) == 3
    with agent.engine.connect() as connection:
        assert [r.did for r in list_identities(connection)] == [i.did for i in made]
        relationships = list_identities(connection, purpose=Purpose.RELATIONSHIP)
    assert [r.did for r in relationships] == [made[0].did, made[1].did]


def test_loaded_identity_signs_as_the_created_one(agent: UnlockedAgent) -> None:
    """An identity loaded by its DID signs messages that verify as from that DID."""
    with agent.engine.begin() as connection:
        created = create_identity(connection, agent.sealer, purpose=Purpose.RELATIONSHIP)
    with agent.engine.connect() as connection:
        loaded = load_identity(connection, agent.sealer, did=created.did)
        assert load_identity(connection, agent.sealer, did="did:key:z6MkNotOurs") is None
    assert loaded is not None
    _, message = compose(loaded, type=PING, to=created.did, body=Ping())
    verified = Verifier(receiver=created.did, types=v1_types(), seen_ids=None).verify(message)
    assert verified.sender == created.did


def test_seeds_are_sealed_and_bound_to_their_did(agent: UnlockedAgent, tmp_path: Path) -> None:
    """No seed is on disk in clear, and a seed moved to another DID's row does not open."""
    with agent.engine.begin() as connection:
        first = create_identity(connection, agent.sealer, purpose=Purpose.RELATIONSHIP)
        second = create_identity(connection, agent.sealer, purpose=Purpose.INTENT)
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    assert first.seed not in on_disk
    assert second.seed not in on_disk
    with agent.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE identities SET sealed_seed = (SELECT sealed_seed FROM identities "
                "WHERE did = :second) WHERE did = :first"
            ),
            {"first": first.did, "second": second.did},
        )
    with agent.engine.connect() as connection, pytest.raises(DamagedData):
        load_identity(connection, agent.sealer, did=first.did)
