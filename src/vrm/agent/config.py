"""The agent's settings a person may change: ``vrm config show|set``.

Kept as one JSON document in ``settings`` (none of it is personal). Every value
has a safe default: outgoing calls reach only public addresses, and a message is
retried for three days before it is marked failed.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, text

CONFIG_SETTING = "config"
LISTENING_SETTING = "listening_url"
DEFAULT_PORT = 8470


def web_address(url: str) -> str:
    """``url`` when it is an http(s) address with a host and a valid port.

    Raises:
        ValueError: it is not one (e.g. ``http://[::1`` or ``https://`` alone).
    """
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ValueError("not a web address: give one starting with https://") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not a web address: give one starting with https://")
    return url


WebAddress = Annotated[
    str, Field(pattern=r"^https?://[^\s]+$", max_length=2000), AfterValidator(web_address)
]


class AgentConfig(BaseModel):
    """What the agent does on the network, and how long it keeps trying."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    public_url: WebAddress | None = None
    """The URL vendors reach this agent at (its inbox is ``<public_url>/inbox``).
    Unset: the address ``vrm up`` listens on."""
    allow_loopback: bool = False
    """Let vendor URLs point at this machine (127.0.0.1, ::1) — for tests and demos."""
    allow_private: bool = False
    """Let vendor URLs point at private networks (10/8, 192.168/16, …)."""
    delivery_max_age: Annotated[float, Field(gt=0, le=29 * 24 * 3600)] = 3 * 24 * 3600.0
    """Seconds a message is retried before it is marked failed (at most 29 days: a
    message's signed lifetime is this plus an hour, and no message lives over 30)."""
    exchange_url: WebAddress | None = None
    """The intent exchange intents are published at (``vrm intents new --exchange`` overrides)."""
    answer_deadline: Annotated[float, Field(gt=0, le=366 * 24 * 3600)] = 30 * 24 * 3600.0
    """Seconds a vendor has to answer an export or erasure request before it is flagged
    (default one month, the time GDPR article 12(3) gives)."""
    health_grant_minimum: Annotated[float, Field(gt=0, le=24 * 3600)] = 15 * 60.0
    """The shortest grant health records are presented under, in seconds (default 15
    minutes; a few seconds lets a test see a grant end)."""

    def with_value(self, name: str, value: str) -> AgentConfig:
        """A copy with ``name`` set from its text form; ValueError when it does not fit."""
        if name not in AgentConfig.model_fields:
            known = ", ".join(AgentConfig.model_fields)
            raise ValueError(f"no setting {name!r}; the settings are {known}")
        parsed: Any = value
        if value.strip().lower() in ("", "none", "unset", "default"):
            parsed = AgentConfig.model_fields[name].default
        try:
            return AgentConfig.model_validate({**self.model_dump(), name: parsed})
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            raise ValueError(f"{name}: {error['msg']}") from exc


def load_config(connection: Connection) -> AgentConfig:
    """The agent's configuration (defaults for what was never set)."""
    stored = connection.execute(
        text("SELECT value FROM settings WHERE name = :name"), {"name": CONFIG_SETTING}
    ).scalar()
    return AgentConfig() if stored is None else AgentConfig.model_validate_json(stored)


def save_config(connection: Connection, config: AgentConfig) -> None:
    """Store the configuration."""
    connection.execute(
        text(
            "INSERT INTO settings (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": CONFIG_SETTING, "value": config.model_dump_json()},
    )


def save_listening_url(connection: Connection, url: str) -> None:
    """Remember where the running agent listens (for replies when no public URL is set)."""
    connection.execute(
        text(
            "INSERT INTO settings (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": LISTENING_SETTING, "value": url},
    )


def load_listening_url(connection: Connection) -> str | None:
    """Where the agent last listened, if it ever ran."""
    value = connection.execute(
        text("SELECT value FROM settings WHERE name = :name"), {"name": LISTENING_SETTING}
    ).scalar()
    return None if value is None else str(value)
