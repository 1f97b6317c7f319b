"""The profile store: versions, history, and nothing personal in clear on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrm.agent.home import AgentHome
from vrm.agent.profile import service
from vrm.agent.profile.fields import InvalidField
from vrm.agent.setup import UnlockedAgent, init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

HOME_ADDRESS = {
    "streetAddress": "17 Quince Lane",
    "addressLocality": "Wrexford",
    "postalCode": "WX1 2AB",
    "addressCountry": "GB",
}


def test_set_then_read_back(agent: UnlockedAgent) -> None:
    """A value set is what the profile shows."""
    with agent.engine.begin() as connection:
        service.set_field(
            connection, agent.sealer, path="address.home", value=HOME_ADDRESS, changed_by="cli"
        )
        service.set_field(
            connection,
            agent.sealer,
            path="email.primary",
            value="ann@example.org",
            changed_by="cli",
        )
    with agent.engine.connect() as connection:
        assert service.profile(connection, agent.sealer) == {
            "address.home": HOME_ADDRESS,
            "email.primary": "ann@example.org",
        }


def test_every_change_is_a_version(agent: UnlockedAgent) -> None:
    """History lists each value with who set it and when, oldest first; clearing is kept too."""
    with agent.engine.begin() as connection:
        for n, value in enumerate(["en", "fr", "de"]):
            service.set_field(
                connection, agent.sealer, path="language", value=value, changed_by="cli", now=n
            )
        service.clear_field(connection, agent.sealer, path="language", changed_by="api", now=9)
    with agent.engine.connect() as connection:
        history = service.field_history(connection, agent.sealer, path="language")
        assert [(v.version, v.value, v.changed_at, v.changed_by) for v in history] == [
            (1, "en", 0, "cli"),
            (2, "fr", 1, "cli"),
            (3, "de", 2, "cli"),
            (4, None, 9, "api"),
        ]
        assert "language" not in service.profile(connection, agent.sealer)


def test_invalid_value_changes_nothing(agent: UnlockedAgent) -> None:
    """A refused value leaves the field and its history as they were."""
    with agent.engine.begin() as connection:
        service.set_field(
            connection,
            agent.sealer,
            path="email.primary",
            value="ann@example.org",
            changed_by="cli",
        )
    with pytest.raises(InvalidField), agent.engine.begin() as connection:
        service.set_field(
            connection, agent.sealer, path="email.primary", value="nope", changed_by="cli"
        )
    with agent.engine.connect() as connection:
        assert len(service.field_history(connection, agent.sealer, path="email.primary")) == 1


def test_clearing_an_empty_field_is_refused(agent: UnlockedAgent) -> None:
    """Clearing a field that has no value says so instead of writing a version."""
    with pytest.raises(InvalidField, match="no value"), agent.engine.begin() as connection:
        service.clear_field(connection, agent.sealer, path="phone.mobile", changed_by="cli")


def test_no_personal_value_in_clear_on_disk(tmp_path: Path) -> None:
    """After storing a profile, no value or label appears in the database, its WAL or -shm."""
    home = AgentHome(tmp_path)
    init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    with unlocked(home, "correct horse") as agent:
        with agent.engine.begin() as connection:
            service.set_field(
                connection, agent.sealer, path="address.home", value=HOME_ADDRESS, changed_by="cli"
            )
            service.set_field(
                connection,
                agent.sealer,
                path="email.grandmas-house",
                value="ann.quince@example.org",
                changed_by="cli",
            )
            service.set_field(
                connection,
                agent.sealer,
                path="phone.mobile",
                value="+44 7700 900123",
                changed_by="cli",
            )
        # Committed, and the pooled connection still open: the WAL is not checkpointed yet.
        files = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    assert files.get("agent.db-wal"), "the committed changes should be in the WAL"
    on_disk = b"".join(files.values())
    for secret in [
        "Quince Lane",
        "Wrexford",
        "WX1 2AB",
        "ann.quince@example.org",
        "grandmas-house",
        "7700 900123",
    ]:
        assert secret.encode() not in on_disk, secret
        assert secret.encode("utf-16-le") not in on_disk, secret
