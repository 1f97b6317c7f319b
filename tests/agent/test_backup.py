"""Backing up the whole agent and restoring it elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrm.agent.backup import NotABackup, backup, restore
from vrm.agent.errors import AgentExists
from vrm.agent.home import AgentHome
from vrm.agent.profile import service
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF, WrongPassphrase

PASSPHRASE = "correct horse"


def agent_with_address(path: Path, street: str) -> AgentHome:
    home = AgentHome(path)
    init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF)
    with unlocked(home, PASSPHRASE) as agent, agent.engine.begin() as connection:
        service.set_field(
            connection,
            agent.sealer,
            path="address.home",
            value={"streetAddress": street, "addressCountry": "GB"},
            changed_by="cli",
        )
    return home


def street_of(home: AgentHome) -> str:
    with unlocked(home, PASSPHRASE) as agent, agent.engine.connect() as connection:
        return str(service.profile(connection, agent.sealer)["address.home"]["streetAddress"])


def test_backup_restores_into_a_new_home(tmp_path: Path) -> None:
    """A backup restored into an empty home gives back the profile, under the same passphrase."""
    original = agent_with_address(tmp_path / "original", "17 Quince Lane")
    backup(original, PASSPHRASE, tmp_path / "agent.backup")
    restored = AgentHome(tmp_path / "restored")
    assert restore(restored, PASSPHRASE, tmp_path / "agent.backup") is None
    assert street_of(restored) == "17 Quince Lane"


def test_backup_is_encrypted_and_private(tmp_path: Path) -> None:
    """The backup file holds no personal value in clear and only its owner can read it."""
    original = agent_with_address(tmp_path / "original", "17 Quince Lane")
    target = tmp_path / "agent.backup"
    backup(original, PASSPHRASE, target)
    assert b"Quince Lane" not in target.read_bytes()
    assert target.stat().st_mode & 0o077 == 0


def test_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    """Backing up onto an existing file is refused and the file is left alone."""
    original = agent_with_address(tmp_path / "original", "17 Quince Lane")
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    with pytest.raises(AgentExists):
        backup(original, PASSPHRASE, target)
    assert target.read_text() == "keep me"


def test_restore_over_an_agent_needs_replace_and_keeps_the_old_one(tmp_path: Path) -> None:
    """Restoring onto a home with an agent is refused unless asked; then the old one is kept."""
    source = agent_with_address(tmp_path / "source", "New Street 1")
    backup(source, PASSPHRASE, tmp_path / "agent.backup")
    existing = agent_with_address(tmp_path / "existing", "Old Road 2")
    with pytest.raises(AgentExists):
        restore(existing, PASSPHRASE, tmp_path / "agent.backup")
    assert street_of(existing) == "Old Road 2"
    kept = restore(existing, PASSPHRASE, tmp_path / "agent.backup", replace=True)
    assert street_of(existing) == "New Street 1"
    assert kept is not None
    old = AgentHome(tmp_path / "old")
    old.create()
    old.database.write_bytes(kept.read_bytes())
    assert street_of(old) == "Old Road 2"


def test_restore_checks_the_passphrase_first(tmp_path: Path) -> None:
    """A wrong passphrase is refused before anything in the home is touched."""
    source = agent_with_address(tmp_path / "source", "New Street 1")
    backup(source, PASSPHRASE, tmp_path / "agent.backup")
    empty = AgentHome(tmp_path / "empty")
    with pytest.raises(WrongPassphrase):
        restore(empty, "battery staple", tmp_path / "agent.backup")
    assert not empty.database.exists()


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 50])
def test_restore_refuses_what_is_not_a_backup(tmp_path: Path, content: bytes) -> None:
    """A file that is not an agent backup is refused with a clear error."""
    bogus = tmp_path / "bogus"
    bogus.write_bytes(content)
    with pytest.raises(NotABackup):
        restore(AgentHome(tmp_path / "home"), PASSPHRASE, bogus)


def test_a_home_whose_path_has_uri_characters_backs_up_and_restores(tmp_path: Path) -> None:
    """A '#', '?' or '%' in the folder's name is a folder name, not part of an address."""
    odd = tmp_path / "mine #1 ?100%"
    original = agent_with_address(odd / "original", "17 Quince Lane")
    backup(original, PASSPHRASE, odd / "backup.db")
    copy = AgentHome(odd / "copy")
    restore(copy, PASSPHRASE, odd / "backup.db")
    assert street_of(copy) == "17 Quince Lane"
    assert sorted(p.name for p in odd.iterdir()) == ["backup.db", "copy", "original"]
