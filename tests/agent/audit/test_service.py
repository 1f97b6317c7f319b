"""The audit log: appended with what it records, and any tampering found."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from vrm.agent.audit import service as audit
from vrm.agent.profile import service as profile
from vrm.agent.setup import UnlockedAgent


@pytest.fixture
def agent(agent: UnlockedAgent) -> UnlockedAgent:
    """An agent whose log holds its creation and three profile changes."""
    with agent.engine.begin() as connection:
        for value in ("en", "fr"):
            profile.set_field(
                connection, agent.sealer, path="language", value=value, changed_by="cli"
            )
        profile.clear_field(connection, agent.sealer, path="language", changed_by="api")
    return agent


def tamper(agent: UnlockedAgent, statement: str) -> audit.AuditVerdict:
    with agent.engine.begin() as connection:
        connection.execute(text(statement))
    with agent.engine.connect() as connection:
        return audit.verify(connection, agent.sealer)


def test_log_records_creation_and_each_change(agent: UnlockedAgent) -> None:
    """The log lists the agent's creation, then every change, with sealed details opened."""
    with agent.engine.connect() as connection:
        logged = audit.entries(connection, agent.sealer)
        assert audit.verify(connection, agent.sealer) == audit.AuditVerdict(True, 4)
    assert [(e.seq, e.kind) for e in logged] == [
        (1, "agent.created"),
        (2, "profile.set"),
        (3, "profile.set"),
        (4, "profile.clear"),
    ]
    assert logged[3].details == {"field": "language", "version": 3, "by": "api"}


def test_details_are_not_in_clear(agent: UnlockedAgent) -> None:
    """What the log says (which field, by whom) is sealed in the database."""
    with agent.engine.connect() as connection:
        stored = connection.execute(text("SELECT sealed_details FROM audit_entries")).scalars()
        assert all(b"language" not in value for value in stored)


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("UPDATE audit_entries SET kind = 'profile.set' WHERE seq = 4", "entry 4 was altered"),
        ("UPDATE audit_entries SET at = at + 1 WHERE seq = 2", "entry 2 was altered"),
        (
            "UPDATE audit_entries SET sealed_details = (SELECT sealed_details FROM audit_entries "
            "WHERE seq = 3) WHERE seq = 2",
            "entry 2 was altered",
        ),
        ("DELETE FROM audit_entries WHERE seq = 2", "entry 2 is missing"),
        ("DELETE FROM audit_entries WHERE seq = 4", "entries after 3 were removed"),
        ("DELETE FROM audit_entries", "entries after 0 were removed"),
        (
            "UPDATE settings SET value = '3:' || (SELECT hex(mac) FROM audit_entries WHERE seq = 3)"
            " || char(58) || '00' WHERE name = 'audit_head'",
            "record of the newest entry was altered",
        ),
        ("DELETE FROM settings WHERE name = 'audit_head'", "record of the newest entry is missing"),
    ],
    ids=[
        "kind-edited",
        "time-edited",
        "details-swapped",
        "middle-deleted",
        "last-deleted",
        "all-deleted",
        "head-forged",
        "head-deleted",
    ],
)
def test_tampering_is_found(agent: UnlockedAgent, statement: str, problem: str) -> None:
    """Editing, swapping, deleting entries or forging the head breaks verification."""
    verdict = tamper(agent, statement)
    assert not verdict.intact
    assert verdict.problem is not None
    assert problem in verdict.problem


def test_cut_off_log_with_rewritten_head_is_found(agent: UnlockedAgent) -> None:
    """Removing the newest entry and pointing the head at the one before is still detected."""
    with agent.engine.begin() as connection:
        previous = connection.execute(text("SELECT mac FROM audit_entries WHERE seq = 3")).scalar()
        connection.execute(text("DELETE FROM audit_entries WHERE seq = 4"))
        stored = connection.execute(
            text("SELECT value FROM settings WHERE name = 'audit_head'")
        ).scalar_one()
        forged = f"3:{previous.hex()}:{stored.split(':')[2]}"
        connection.execute(
            text("UPDATE settings SET value = :v WHERE name = 'audit_head'"), {"v": forged}
        )
    with agent.engine.connect() as connection:
        verdict = audit.verify(connection, agent.sealer)
    assert not verdict.intact
