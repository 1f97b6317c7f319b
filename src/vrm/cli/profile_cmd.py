"""``vrm profile``: show, set, clear and trace the person's profile fields."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import Connection

from vrm.agent.home import AgentHome
from vrm.agent.profile import service
from vrm.agent.profile.fields import InvalidField, check_path
from vrm.agent.setup import unlocked
from vrm.cli.agent_cmd import HomeOption, ask_passphrase
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import write_out
from vrm.vault import Sealer

app = typer.Typer(help="The person's profile: one place for every detail.", no_args_is_help=True)
console = Console(highlight=False, emoji=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
CHANGED_BY = "cli"


class ExportFormat(StrEnum):
    """Formats the profile can be exported in."""

    VCARD = "vcard"
    JSON = "json"


@app.command("show")
def show(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show every field that has a value."""
    with _profile(home, write=False) as (connection, sealer):
        values = service.profile(connection, sealer)
    if as_json:
        print(json.dumps(values, indent=2, ensure_ascii=False))
        return
    if not values:
        console.print("The profile is empty: vrm profile set FIELD VALUE")
        return
    table = Table("field", "value")
    for path, value in values.items():
        table.add_row(Text(path), Text(_display(value)))
    console.print(table)


@app.command("set")
def set_(
    field: Annotated[str, typer.Argument(help="e.g. email.primary, address.home, language")],
    value: Annotated[
        str, typer.Argument(help='Text; an address is JSON: {"streetAddress": "…", …}')
    ],
    home: HomeOption = None,
) -> None:
    """Give a field a new value (the old one stays in its history)."""
    parsed = _parse(field, value)
    with opened_agent(home) as agent:
        written = agent.set_field(field, parsed, changed_by=CHANGED_BY)
        console.print(Text(f"{field} is now version {written.version}"))


@app.command("unset")
def unset(
    field: Annotated[str, typer.Argument(help="The field to clear.")],
    home: HomeOption = None,
) -> None:
    """Clear a field (its history stays)."""
    with opened_agent(home) as agent:
        agent.clear_field(field, changed_by=CHANGED_BY)
        console.print(Text(f"{field} cleared"))


@app.command("history")
def history(
    field: Annotated[str, typer.Argument(help="The field whose changes to show.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show who changed a field, when, and to what."""
    with _profile(home, write=False) as (connection, sealer):
        versions = service.field_history(connection, sealer, path=field)
    if as_json:
        rows = [
            {
                "version": v.version,
                "value": v.value,
                "changed_at": v.changed_at,
                "changed_by": v.changed_by,
            }
            for v in versions
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not versions:
        console.print(Text(f"{field} has never had a value"))
        return
    table = Table("version", "when", "by", "value", title=field, title_justify="left")
    for v in versions:
        when = dt.datetime.fromtimestamp(v.changed_at).isoformat(sep=" ", timespec="seconds")
        shown = "(cleared)" if v.value is None else _display(v.value)
        table.add_row(str(v.version), when, Text(v.changed_by), Text(shown))
    console.print(table)


@contextmanager
def _profile(home: Path | None, *, write: bool) -> Iterator[tuple[Connection, Sealer]]:
    """The unlocked agent's database connection (one transaction when writing) and sealer."""
    with (
        unlocked(AgentHome.resolve(home), ask_passphrase(confirm=False)) as agent,
        agent.engine.begin() if write else agent.engine.connect() as connection,
    ):
        yield connection, agent.sealer


def _parse(field: str, value: str) -> Any:
    if check_path(field).startswith("address."):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidField(
                f'{field} takes a JSON address, e.g. {{"streetAddress": "1 Main St", '
                '"addressLocality": "Springfield", "postalCode": "12345", "addressCountry": "US"}'
            ) from exc
    return value


def _display(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(str(part) for part in value.values())
    return str(value)


@app.command("export")
def export(
    home: HomeOption = None,
    output_format: Annotated[
        ExportFormat, typer.Option("--format", help="vcard (RFC 6350) or json.")
    ] = ExportFormat.VCARD,
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
) -> None:
    """Write the profile out in clear, as a vCard 4 or JSON — the person's own choice."""
    with opened_agent(home) as agent:
        _, fields = agent.export_profile(
            format=output_format.value,
            to=str(output) if output else "standard output",
            write=lambda document: write_out(document, output),
        )
    if output is not None:
        errors.print(f"Wrote {fields} fields to {output} (not encrypted)")


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A vCard file (.vcf), versions 3 and 4.")],
    home: HomeOption = None,
) -> None:
    """Set profile fields from a vCard; what cannot be read is listed, not guessed."""
    try:
        card = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidField(f"{source} is not a text vCard (UTF-8)") from exc
    with opened_agent(home) as agent:
        result = agent.import_vcard(card)
        console.print(Text(f"Imported {len(result.fields)} fields from {source}"))
        for reason in result.skipped:
            console.print(Text(f"skipped: {reason}", style="yellow"))
