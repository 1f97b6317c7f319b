"""Creating and opening the agent: its vault header, sealed secrets and API token.

The vault header lives in ``settings`` (it holds no secret); secrets such as the
API token live sealed in ``secrets``, each bound to its own name. The token's
SHA-256 is kept in clear too, so the API can check a bearer token without the
passphrase, while showing the token again (``vrm token``) needs it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as random_secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text

from vrm.agent.errors import AgentExists, AgentNotInitialised
from vrm.vault import KdfParams, Sealer, VaultHeader, create_vault, unlock_vault

VAULT_SETTING = "vault_header"
TOKEN_DIGEST_SETTING = "api_token_sha256"  # noqa: S105 - a setting name, not a secret
TOKEN_SECRET = "api_token"  # noqa: S105 - a secret name, not a secret


@dataclass(frozen=True)
class OpenAgent:
    """An unlocked agent: its sealer and API token."""

    sealer: Sealer
    api_token: str


def initialise(engine: Engine, passphrase: str, *, kdf: KdfParams | None = None) -> OpenAgent:
    """Create the vault and API token in a migrated, empty agent database."""
    with engine.begin() as connection:
        if connection.execute(
            text("SELECT 1 FROM settings WHERE name = :name"), {"name": VAULT_SETTING}
        ).first():
            raise AgentExists("this home already holds an agent")
        header, sealer = create_vault(passphrase, kdf=kdf)
        token = random_secrets.token_urlsafe(32)
        connection.execute(
            text("INSERT INTO settings (name, value) VALUES (:name, :value)"),
            [
                {"name": VAULT_SETTING, "value": header.to_json()},
                {"name": TOKEN_DIGEST_SETTING, "value": _digest(token)},
            ],
        )
        connection.execute(
            text("INSERT INTO secrets (name, sealed) VALUES (:name, :sealed)"),
            {"name": TOKEN_SECRET, "sealed": sealer.seal_text(token, _place(TOKEN_SECRET))},
        )
    return OpenAgent(sealer=sealer, api_token=token)


def unlock(engine: Engine, passphrase: str) -> OpenAgent:
    """Open the agent with its passphrase.

    Raises:
        AgentNotInitialised: the database holds no agent.
        WrongPassphrase: the passphrase is not this agent's.
    """
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT value FROM settings WHERE name = :name"), {"name": VAULT_SETTING}
        ).scalar()
        sealed_token = connection.execute(
            text("SELECT sealed FROM secrets WHERE name = :name"), {"name": TOKEN_SECRET}
        ).scalar()
    if stored is None or sealed_token is None:
        raise AgentNotInitialised("no agent here yet: run vrm init")
    sealer = unlock_vault(VaultHeader.from_json(stored), passphrase)
    return OpenAgent(sealer=sealer, api_token=sealer.open_text(sealed_token, _place(TOKEN_SECRET)))


def issue_token(engine: Engine, sealer: Sealer) -> str:
    """Replace the API token with a new random one; the old one stops opening the API."""
    token = random_secrets.token_urlsafe(32)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE settings SET value = :value WHERE name = :name"),
            {"name": TOKEN_DIGEST_SETTING, "value": _digest(token)},
        )
        connection.execute(
            text("UPDATE secrets SET sealed = :sealed WHERE name = :name"),
            {"name": TOKEN_SECRET, "sealed": sealer.seal_text(token, _place(TOKEN_SECRET))},
        )
    return token


def keep_secret(connection: Connection, sealer: Sealer, name: str, value: str) -> None:
    """Keep ``value`` sealed as the secret ``name`` (replacing what was kept)."""
    connection.execute(
        text(
            "INSERT INTO secrets (name, sealed) VALUES (:name, :sealed)"
            " ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed"
        ),
        {"name": name, "sealed": sealer.seal_text(value, _place(name))},
    )


def read_secret(connection: Connection, sealer: Sealer, name: str) -> str | None:
    """The secret ``name``, opened, or None when none is kept."""
    sealed = connection.execute(
        text("SELECT sealed FROM secrets WHERE name = :name"), {"name": name}
    ).scalar()
    return None if sealed is None else sealer.open_text(sealed, _place(name))


def forget_secret(connection: Connection, name: str) -> None:
    """Drop the secret ``name``, if kept."""
    connection.execute(text("DELETE FROM secrets WHERE name = :name"), {"name": name})


def token_matches(engine: Engine, presented: str) -> bool:
    """True when ``presented`` is the agent's API token (constant-time comparison)."""
    with engine.connect() as connection:
        expected = connection.execute(
            text("SELECT value FROM settings WHERE name = :name"), {"name": TOKEN_DIGEST_SETTING}
        ).scalar()
    return expected is not None and hmac.compare_digest(expected, _digest(presented))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _place(name: str) -> str:
    return f"secrets/{name}"
