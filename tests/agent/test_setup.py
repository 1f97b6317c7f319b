"""Creating the agent and opening it with its passphrase."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.commandline import run_vrm
from vrm.agent.database import (
    head_revision,
    newest_shipped_revision,
    schema_revision,
    sqlite_engine,
)
from vrm.agent.errors import AgentExists, AgentNotInitialised
from vrm.agent.home import AgentHome
from vrm.agent.keystore import token_matches
from vrm.agent.setup import init_agent, open_agent
from vrm.vault import FAST_INSECURE_KDF, WrongPassphrase


def test_init_creates_a_private_migrated_home(tmp_path: Path) -> None:
    """init makes a folder only its owner can read, with the schema at the newest migration."""
    home = AgentHome(tmp_path / "agent")
    init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    assert stat.S_IMODE(home.path.stat().st_mode) == 0o700
    assert stat.S_IMODE(home.database.stat().st_mode) == 0o600
    engine = sqlite_engine(home.database)
    try:
        assert schema_revision(engine) == head_revision() is not None
    finally:
        engine.dispose()


def test_passphrase_opens_the_agent_and_its_token(tmp_path: Path) -> None:
    """The passphrase given at init opens the agent again and shows the same API token."""
    home = AgentHome(tmp_path)
    created = init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    assert open_agent(home, "correct horse").api_token == created.api_token


def test_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    """Another passphrase does not open the agent."""
    home = AgentHome(tmp_path)
    init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    with pytest.raises(WrongPassphrase):
        open_agent(home, "battery staple")


def test_init_twice_is_refused(tmp_path: Path) -> None:
    """A home that holds an agent is never overwritten by a second init."""
    home = AgentHome(tmp_path)
    init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    with pytest.raises(AgentExists):
        init_agent(home, "another", kdf=FAST_INSECURE_KDF)
    assert open_agent(home, "correct horse").api_token


def test_opening_an_empty_home_says_to_init(tmp_path: Path) -> None:
    """Opening a home with no agent explains that vrm init comes first."""
    with pytest.raises(AgentNotInitialised, match="vrm init"):
        open_agent(AgentHome(tmp_path), "whatever")


def test_token_check_needs_no_passphrase(tmp_path: Path) -> None:
    """The API can check a bearer token without unlocking the vault."""
    home = AgentHome(tmp_path)
    created = init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    engine = sqlite_engine(home.database)
    try:
        assert token_matches(engine, created.api_token)
        assert not token_matches(engine, created.api_token + "x")
        assert not token_matches(engine, "")
    finally:
        engine.dispose()


def test_token_is_not_stored_in_clear(tmp_path: Path) -> None:
    """Neither the database file nor its WAL holds the API token or the passphrase."""
    home = AgentHome(tmp_path)
    created = init_agent(home, "correct horse", kdf=FAST_INSECURE_KDF)
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    assert created.api_token.encode() not in stored
    assert b"correct horse" not in stored


def test_home_comes_from_vrm_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """VRM_HOME chooses the home when none is given explicitly."""
    monkeypatch.setenv("VRM_HOME", str(tmp_path / "chosen"))
    assert AgentHome.resolve().path == tmp_path / "chosen"
    assert AgentHome.resolve(tmp_path / "explicit").path == tmp_path / "explicit"


def vrm(home: Path, *args: str, passphrase: str | None) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=passphrase)


def test_cli_init_then_token(tmp_path: Path) -> None:
    """vrm init prints the API token, and vrm token shows the same one."""
    created = vrm(tmp_path, "init", passphrase="correct horse")
    assert created.returncode == 0, created.stderr
    shown = vrm(tmp_path, "token", passphrase="correct horse")
    assert shown.returncode == 0, shown.stderr
    assert f"API token: {shown.stdout.strip()}" in created.stdout


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    """A wrong passphrase, a second init, or no way to ask: one line each, exit status 1."""
    assert vrm(tmp_path, "init", passphrase="correct horse").returncode == 0
    for args, passphrase, message in [
        (("token",), "battery staple", "error: wrong passphrase"),
        (("init",), "correct horse", "already holds an agent"),
        (("token",), None, "set VRM_PASSPHRASE"),
    ]:
        result = vrm(tmp_path, *args, passphrase=passphrase)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert message in lines[0]


def test_revision_named_by_the_newest_file_is_alembics_head() -> None:
    """Start-up skips Alembic when the database is at the revision the file names give."""
    assert newest_shipped_revision() == head_revision()
