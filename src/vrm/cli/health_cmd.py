"""``vrm health``: FHIR health records imported, listed, shown, exported, and presented.

``present``, ``presentations`` and ``withdraw`` show a doctor chosen records under a
time-limited grant, through :class:`vrm.agent.health.desk.HealthDesk`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.health.desk import HealthDesk
from vrm.agent.health.presentations import Presentation
from vrm.agent.health.store import HealthResource
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json, when, write_out

app = typer.Typer(
    help="Health records: FHIR Bundles from your doctors and portals, kept sealed.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A FHIR Bundle (JSON, R5 or R4).")],
    source: Annotated[
        str | None, typer.Option(help="Where it came from (default: the file's name).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Import every resource of a FHIR Bundle, or none if any is wrong."""
    document = file.read_bytes()
    with opened_agent(home) as agent:
        result = agent.import_health_bundle(document, source or file.name)
    counts = ", ".join(f"{number} {kind}" for kind, number in result.counts.items())
    replaced = f", {result.replaced} replacing ones imported before" if result.replaced else ""
    console.print(
        Text(
            f"Imported {result.total} health records from {result.source} "
            f"(FHIR {result.fhir_version}{replaced}): {counts}"
        )
    )


@app.command("list")
def list_(
    kind: Annotated[
        str | None,
        typer.Option(help="Only one kind: a FHIR type (Condition) or a word (allergy)."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every health record, the patient first, each in a line."""
    with opened_agent(home) as agent:
        found = agent.health_resources(kind)
    if as_json:
        print_json([record.as_json(with_resource=False) for record in found])
        return
    if not found:
        empty = f"No {kind} records." if kind else "No health records yet: vrm health import FILE"
        console.print(Text(empty))
        return
    table = Table("#", "kind", "record")
    for record in found:
        table.add_row(str(record.id), record.summary.kind, Text(record.summary.line()))
    console.print(table)


@app.command("show")
def show(
    number: Annotated[int, typer.Argument(help="The record's number (vrm health list).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """One health record: what it says, where it came from, and the resource itself."""
    with opened_agent(home) as agent:
        record = agent.health_resource(number)
    if as_json:
        print_json(record.as_json())
        return
    _show(record)


@app.command("export")
def export(
    ids: Annotated[
        list[int] | None,
        typer.Option("--id", help="A record to export (repeat it); all of them without."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write health records out in clear as a FHIR Bundle (type collection)."""
    with opened_agent(home) as agent:
        agent.export_health_bundle(
            ids or None,
            to=str(output) if output else "standard output",
            write=lambda document: write_out(document, output),
        )
    if output is not None:
        errors.print(Text(f"Wrote the health records to {output} (not encrypted)"))


@app.command("present")
def present(
    ids: Annotated[list[int], typer.Argument(help="The records to present (vrm health list).")],
    to: Annotated[str, typer.Option("--to", help="The doctor: its number, name or URL.")],
    purpose: Annotated[str, typer.Option(help="What the records are for, in words.")],
    for_: Annotated[
        str | None, typer.Option("--for", help="How long the doctor may keep them: 7d, 12h, 2w.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="Or until when: 2026-03-08 (to the end of that day), 2026-03-08T17:00."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Present health records to a doctor for a while; it deletes them when the time is up."""
    with opened_agent(home) as agent:
        presented = HealthDesk(agent).present(ids, to, purpose=purpose, duration=for_, until=until)
    if as_json:
        print_json(presented.as_json())
        return
    console.print(
        Text(
            f"Presented {len(presented.records)} health records to {presented.vendor_name} "
            f"until {when(presented.valid_until)} (presentation {presented.id}), encrypted to it"
        )
    )


@app.command("presentations")
def presentations(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """What you presented to whom, until when, and whether they confirmed deleting it."""
    with opened_agent(home) as agent:
        found = HealthDesk(agent).presentations()
    if as_json:
        print_json([presented.as_json() for presented in found])
        return
    if not found:
        console.print(Text("No presentations yet: vrm health present ID... --to DOCTOR"))
        return
    table = Table("#", "to", "records", "until", "state", "deleted")
    for presented in found:
        table.add_row(
            str(presented.id),
            Text(presented.vendor_name),
            Text(", ".join(record.kind for record in presented.records)),
            when(presented.valid_until),
            presented.state,
            _deletion(presented),
        )
    console.print(table)


@app.command("withdraw")
def withdraw(
    number: Annotated[int, typer.Argument(help="The presentation (vrm health presentations).")],
    home: HomeOption = None,
) -> None:
    """Withdraw a presentation: the doctor is told to delete the records now."""
    with opened_agent(home) as agent:
        presented = HealthDesk(agent).withdraw(number)
    console.print(
        Text(
            f"Withdrew presentation {presented.id}: {presented.vendor_name} is told to delete "
            "the records"
        )
    )


def _deletion(presented: Presentation) -> str:
    if presented.deleted_at is not None:
        return f"confirmed {when(presented.deleted_at)}"
    return "not yet confirmed" if presented.state != "active" else "—"


def _show(record: HealthResource) -> None:
    summary = record.summary
    console.print(Text(f"{summary.kind} {record.id}: {summary.line()}"))
    console.print(
        Text(
            f"FHIR {record.fhir_version} {record.resource_type}, from {record.source}, "
            f"imported {when(record.imported_at)}"
        )
    )
    console.print(Text(json.dumps(record.resource, indent=2, ensure_ascii=False)))
