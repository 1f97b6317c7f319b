"""``vrm init`` and ``vrm token``: create the agent, show its API token."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vrm.agent import backup as agent_backup
from vrm.agent.home import AgentHome
from vrm.agent.setup import init_agent, open_agent

PASSPHRASE_VARIABLE = "VRM_PASSPHRASE"  # noqa: S105 - a variable name, not a secret

console = Console(highlight=False, emoji=False, soft_wrap=True)

HomeOption = Annotated[
    Path | None,
    typer.Option(help="The agent's folder (default: $VRM_HOME, else the user data folder)."),
]


class PassphraseUnavailable(ValueError):
    """No passphrase given and nobody to ask."""


def init(home: HomeOption = None) -> None:
    """Create the personal agent: its encrypted store and its API token."""
    where = AgentHome.resolve(home)
    passphrase = ask_passphrase(confirm=True)
    opened = init_agent(where, passphrase)
    console.print(f"Created the agent in [bold]{where.path}[/]")
    console.print(f"API token: {opened.api_token}  (vrm token shows it again)")


def token(home: HomeOption = None) -> None:
    """Show the API token (needs the passphrase)."""
    opened = open_agent(AgentHome.resolve(home), ask_passphrase(confirm=False))
    print(opened.api_token)


def ask_passphrase(*, confirm: bool) -> str:
    """The passphrase from $VRM_PASSPHRASE, else asked for on the terminal."""
    given = os.environ.get(PASSPHRASE_VARIABLE)
    if given is not None:
        if not given:
            raise PassphraseUnavailable(f"{PASSPHRASE_VARIABLE} is empty")
        return given
    if not sys.stdin.isatty():
        raise PassphraseUnavailable(
            f"no terminal to ask for the passphrase: set {PASSPHRASE_VARIABLE}"
        )
    answer: str = typer.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    if not answer:
        raise PassphraseUnavailable("the passphrase must not be empty")
    return answer


def backup(
    target: Annotated[Path, typer.Argument(help="The backup file to write (must not exist).")],
    home: HomeOption = None,
) -> None:
    """Back the whole agent up into one encrypted file (it opens with the same passphrase)."""
    agent_backup.backup(AgentHome.resolve(home), ask_passphrase(confirm=False), target)
    console.print(f"Backed up to {target} (encrypted; restore with vrm restore)")


def restore(
    source: Annotated[Path, typer.Argument(help="A file written by vrm backup.")],
    home: HomeOption = None,
    replace: Annotated[
        bool, typer.Option(help="Replace the agent already in the home (it is kept aside).")
    ] = False,
) -> None:
    """Restore the agent from a backup, after checking the passphrase opens it."""
    kept = agent_backup.restore(
        AgentHome.resolve(home), ask_passphrase(confirm=False), source, replace=replace
    )
    console.print(f"Restored from {source}")
    if kept is not None:
        console.print(f"The replaced agent is kept in {kept}")
