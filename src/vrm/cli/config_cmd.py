"""``vrm config``: the agent's settings."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.config import AgentConfig
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent

app = typer.Typer(help="The agent's settings.", no_args_is_help=True)
console = Console(highlight=False, emoji=False, soft_wrap=True)


@app.command("show")
def show(
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show every setting and what it does."""
    with opened_agent(home) as agent:
        config = agent.config()
    if as_json:
        print(json.dumps(config.model_dump(), indent=2))
        return
    table = Table("setting", "value", "meaning")
    for name, info in AgentConfig.model_fields.items():
        table.add_row(name, Text(str(getattr(config, name))), Text(info.description or ""))
    console.print(table)


@app.command("set")
def set_(
    name: Annotated[str, typer.Argument(help="The setting, e.g. allow_loopback.")],
    value: Annotated[str, typer.Argument(help="Its new value ('none' to unset).")],
    home: HomeOption = None,
) -> None:
    """Change one setting."""
    with opened_agent(home) as agent:
        config = agent.set_config(name, value)
    console.print(Text(f"{name} = {getattr(config, name)}"))
