"""``vrm audit``: the log of disclosures and permission changes, and its proof."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.audit import service as audit
from vrm.agent.home import AgentHome
from vrm.agent.setup import unlocked
from vrm.cli.agent_cmd import HomeOption, ask_passphrase

app = typer.Typer(
    help="The audit log: every disclosure and change, in a chain that shows tampering.",
    invoke_without_command=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)


@app.callback()
def show(
    context: typer.Context,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the log, oldest first (vrm audit verify checks it is whole)."""
    if context.invoked_subcommand is not None:
        return
    with (
        unlocked(AgentHome.resolve(home), ask_passphrase(confirm=False)) as agent,
        agent.engine.connect() as connection,
    ):
        logged = audit.entries(connection, agent.sealer)
    if as_json:
        rows = [{"seq": e.seq, "at": e.at, "kind": e.kind, "details": e.details} for e in logged]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    table = Table("#", "when", "what", "details")
    for entry in logged:
        when = dt.datetime.fromtimestamp(entry.at).isoformat(sep=" ", timespec="seconds")
        details = ", ".join(f"{key}={value}" for key, value in entry.details.items())
        table.add_row(str(entry.seq), when, Text(entry.kind), Text(details))
    console.print(table)


@app.command("verify")
def verify(home: HomeOption = None) -> None:
    """Check no entry was edited, removed or reordered; exit 1 if one was."""
    with (
        unlocked(AgentHome.resolve(home), ask_passphrase(confirm=False)) as agent,
        agent.engine.connect() as connection,
    ):
        verdict = audit.verify(connection, agent.sealer)
    if verdict.intact:
        console.print(f"[green]The audit log is whole[/]: {verdict.entries} entries verified")
        return
    console.print(f"[red]The audit log was tampered with[/]: {verdict.problem}")
    raise typer.Exit(1)
