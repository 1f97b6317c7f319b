"""``vrm protocol``: export schemas, inspect messages."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.protocol import (
    Discovery,
    Envelope,
    MessageTypes,
    Verifier,
    record_types,
    relationship_types,
    review_types,
)
from vrm.protocol.inspection import inspect_message
from vrm.protocol.v1.intents import intent_types

app = typer.Typer(help="Work with protocol messages and schemas.", no_args_is_help=True)
console = Console(highlight=False)


def every_type() -> MessageTypes:
    """Every v1 type: relationships, agreements, data rights, intentcasting, records, reviews."""
    types = relationship_types()
    types.update(intent_types())
    types.update(record_types())
    types.update(review_types())
    return types


@app.command("schemas")
def schemas(
    directory: Annotated[Path, typer.Argument(help="Folder to write the JSON Schemas into.")],
) -> None:
    """Write the JSON Schema of the envelope, discovery and every message body."""
    directory.mkdir(parents=True, exist_ok=True)
    documents: dict[str, dict[str, Any]] = {
        "envelope": Envelope.model_json_schema(by_alias=True),
        "discovery": Discovery.model_json_schema(),
    }
    for type_name, schema in every_type().json_schemas().items():
        documents[type_name.replace("/", "_")] = {**schema, "title": type_name}
    table = Table("schema", "file")
    for name, schema in documents.items():
        path = directory / f"{name}.schema.json"
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        table.add_row(name, str(path))
    console.print(table)


@app.command("inspect")
def inspect(
    source: Annotated[str, typer.Argument(help="A file holding one message, or - for stdin.")],
    receiver: Annotated[
        str | None, typer.Option(help="Also check the message is addressed to this DID.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Decode a message, verify it, and print its envelope, body and verdict.

    Exits 0 when the message verifies, 1 when it is refused.
    """
    raw = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    verifier = Verifier(receiver=receiver, types=every_type(), seen_ids=None)
    report = inspect_message(raw.strip(), verifier)
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        _print_report(report)
    if report["verdict"] != "valid":
        raise typer.Exit(1)


def _print_report(report: dict[str, Any]) -> None:
    # Everything below comes from the message, so none of it is read as Rich markup.
    if report.get("header") is not None:
        console.print(Text("Header ", style="bold") + Text(json.dumps(report["header"], indent=2)))
    envelope = report.get("envelope")
    if isinstance(envelope, dict):
        table = Table("member", "value", title="Envelope", title_justify="left")
        for key, value in envelope.items():
            if key != "body":
                table.add_row(Text(str(key)), Text(str(value)))
        console.print(table)
        body = json.dumps(envelope.get("body"), indent=2)
        console.print(Text("Body ", style="bold") + Text(body))
    elif envelope is not None:
        console.print(Text("Payload ", style="bold") + Text(json.dumps(envelope, indent=2)))
    if report.get("recipient"):
        console.print(Text(f"Encrypted to {report['recipient']} (the body cannot be read here)"))
    verdict = report["verdict"]
    style = "green" if verdict == "valid" else "red"
    line = Text(f"Verdict: {verdict}", style=f"bold {style}")
    if report.get("detail"):
        line += Text(f": {report['detail']}")
    console.print(line)
