"""Creating an agent in its home, and opening it again."""

from __future__ import annotations

from vrm.agent.database import migrate, sqlite_engine
from vrm.agent.errors import AgentExists, AgentNotInitialised
from vrm.agent.home import AgentHome
from vrm.agent.keystore import OpenAgent, initialise, unlock
from vrm.vault import KdfParams


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
        return initialise(engine, passphrase, kdf=kdf)
    finally:
        engine.dispose()


def open_agent(home: AgentHome, passphrase: str) -> OpenAgent:
    """Unlock the agent in ``home`` (migrating its schema to the newest first).

    Raises:
        AgentNotInitialised: there is no agent in ``home``.
        WrongPassphrase: the passphrase is not this agent's.
    """
    if not home.database.exists():
        raise AgentNotInitialised(f"no agent in {home.path} yet: run vrm init")
    engine = sqlite_engine(home.database)
    try:
        migrate(engine)
        return unlock(engine, passphrase)
    finally:
        engine.dispose()
