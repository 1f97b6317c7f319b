"""Creating an agent in its home, and opening it again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from vrm.agent.audit import service as audit
from vrm.agent.database import migrate, sqlite_engine
from vrm.agent.errors import AgentExists, AgentNotInitialised
from vrm.agent.home import AgentHome
from vrm.agent.keystore import OpenAgent, initialise, unlock
from vrm.vault import KdfParams, Sealer


def init_agent(home: AgentHome, passphrase: str, *, kdf: KdfParams | None = None) -> OpenAgent:
    """Create the home, its migrated database, the vault and the API token.

    Raises:
        AgentExists: the home already holds an agent.
    """
    if home.database.exists():
        raise AgentExists(f"{home.path} already holds an agent")
    home.create()
    engine = sqlite_engine(home.database)
    try:
        migrate(engine)
        home.database.chmod(0o600)
        opened = initialise(engine, passphrase, kdf=kdf)
        with engine.begin() as connection:
            audit.append(
                connection, opened.sealer, kind="agent.created", details={"home": str(home.path)}
            )
        return opened
    finally:
        engine.dispose()


@dataclass(frozen=True)
class UnlockedAgent:
    """An open agent: its database engine and the sealer for personal values."""

    engine: Engine
    sealer: Sealer
    api_token: str


@contextmanager
def unlocked(home: AgentHome, passphrase: str) -> Iterator[UnlockedAgent]:
    """Open the agent for the duration of a ``with`` block."""
    if not home.database.exists():
        raise AgentNotInitialised(f"no agent in {home.path} yet: run vrm init")
    engine = sqlite_engine(home.database)
    try:
        migrate(engine)
        opened = unlock(engine, passphrase)
        yield UnlockedAgent(engine=engine, sealer=opened.sealer, api_token=opened.api_token)
    finally:
        engine.dispose()


def open_agent(home: AgentHome, passphrase: str) -> OpenAgent:
    """Unlock the agent in ``home`` (migrating its schema to the newest first).

    Raises:
        AgentNotInitialised: there is no agent in ``home``.
        WrongPassphrase: the passphrase is not this agent's.
    """
    with unlocked(home, passphrase) as agent:
        return OpenAgent(sealer=agent.sealer, api_token=agent.api_token)
