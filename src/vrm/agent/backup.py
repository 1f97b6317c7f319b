"""Backing the whole agent up to one file, and restoring it.

A backup is a consistent copy of the agent's database made with SQLite's online
backup API (so the agent may keep running). It is encrypted because the database
is: every personal value and secret in it is sealed, and the vault header inside
holds no secret. Restoring checks the passphrase opens the backup before it
replaces anything, and keeps the replaced database beside it.

A running agent cannot swap its own database (its keys come from the vault it
opened), so a restore asked for from the person's pages is *staged*: checked,
then kept beside the database, and made when the agent next starts.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import create_engine
from sqlalchemy.exc import DatabaseError

from vrm.agent.database import migrate, sqlite_engine
from vrm.agent.errors import AgentError, AgentExists, AgentNotInitialised
from vrm.agent.home import AgentHome
from vrm.agent.keystore import unlock
from vrm.vault import WrongPassphrase


class NotABackup(AgentError):
    """The file is not a vrm agent backup."""

    code = "not_a_backup"


_COPY_CHUNK = 1024 * 1024


def backup(home: AgentHome, passphrase: str, target: Path) -> None:
    """Write a consistent copy of the agent to ``target`` (mode 0600)."""
    if not home.database.exists():
        raise AgentNotInitialised(f"no agent in {home.path} yet: run vrm init")
    _check_opens(home.database, passphrase)
    if target.exists():
        raise AgentExists(f"{target} exists already; choose a new file")
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    _copy(home.database, target)


def backup_bytes(database: Path) -> bytes:
    """A consistent copy of a running agent's database, as bytes (sealed as stored)."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "backup.db"
        _copy(database, target)
        return target.read_bytes()


def restore(
    home: AgentHome, passphrase: str, source: Path, *, replace: bool = False
) -> Path | None:
    """Make ``source`` the agent in ``home``; return where the replaced database was kept.

    Raises:
        NotABackup: ``source`` is not an agent backup.
        WrongPassphrase: the passphrase does not open the backup.
        AgentExists: ``home`` holds an agent and ``replace`` is False.
    """
    _check_opens(source, passphrase)
    kept: Path | None = None
    if home.database.exists():
        if not replace:
            raise AgentExists(f"{home.path} already holds an agent; --replace to replace it")
        kept = home.path / f"agent.db.before-restore-{time.strftime('%Y%m%dT%H%M%S')}"
        _copy(home.database, kept)
    home.create()
    _copy(source, home.database)
    home.database.chmod(0o600)
    engine = sqlite_engine(home.database)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return kept


def pending_restore(database: Path) -> Path:
    """Where a staged restore of ``database`` waits for the next start."""
    return database.with_name(f"{database.name}.restore-pending")


def stage_restore(database: Path, passphrase: str, backup_file: BinaryIO) -> Path:
    """Keep ``backup_file`` to replace ``database`` at the next start; return where it waits.

    The file is copied beside the database (mode 0600) and checked there; nothing is
    left behind when it is refused.

    Raises:
        NotABackup: the file is not an agent backup.
        WrongPassphrase: the passphrase does not open it.
    """
    waiting = pending_restore(database)
    descriptor, name = tempfile.mkstemp(prefix=".restore-", dir=database.parent)
    staged = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as out:
            shutil.copyfileobj(backup_file, out, _COPY_CHUNK)
        _check_opens(staged, passphrase)
        staged.replace(waiting)
    finally:
        staged.unlink(missing_ok=True)
    return waiting


class RestoreWaiting(AgentError):
    """A staged backup waits for its own passphrase, which is not the one given."""

    code = "restore_waiting"


def finish_restore(home: AgentHome, passphrase: str) -> Path | None:
    """Make a staged restore, if one waits; return where the replaced database was kept.

    Raises:
        RestoreWaiting: the passphrase does not open the staged backup (it stays staged).
    """
    waiting = pending_restore(home.database)
    if not waiting.exists():
        return None
    try:
        kept = restore(home, passphrase, waiting, replace=True)
    except WrongPassphrase as exc:
        raise RestoreWaiting(
            f"a backup waits in {waiting} to be restored, and this passphrase does not open "
            "it: start with the backup's passphrase, or delete that file to keep this agent"
        ) from exc
    waiting.unlink()
    return kept


def _check_opens(database: Path, passphrase: str) -> None:
    """Unlock ``database`` read-only: proves it is an agent and the passphrase is its own.

    Opened immutable, by a URI built from the path (any character in it is escaped):
    the file is not changed and no journal files are made beside it.
    """
    if not database.is_file():
        raise NotABackup(f"{database} is not a file")
    uri = f"{database.resolve().as_uri()}?mode=ro&immutable=1"
    engine = create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
    )
    try:
        unlock(engine, passphrase)
    except (AgentNotInitialised, DatabaseError) as exc:
        raise NotABackup(f"{database} is not a vrm agent backup") from exc
    finally:
        engine.dispose()


def _copy(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as origin, closing(sqlite3.connect(target)) as copy:
        origin.backup(copy)
