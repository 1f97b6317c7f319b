"""``vrm agreements``: terms proffered to vendors and the agreements both signed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.agreements.service import AgreementRecord
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.terms import Agreement, AgreementInvalid

app = typer.Typer(
    help="Agreements: your terms, as proffered to vendors and signed by both.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NumberArgument = Annotated[int, typer.Argument(help="The agreement's number (vrm agreements).")]

STATE_STYLE = {
    "active": "green",
    "proffered": "yellow",
    "alternative": "bold yellow",
    "rejected": "red",
    "superseded": "dim",
    "withdrawn": "dim",
}


@app.command("list")
def list_(
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every proffer and agreement; alternatives waiting for your answer are marked."""
    with opened_agent(home) as agent:
        records = agent.agreements(vendor)
        names = {r.id: r.vendor.name for r in agent.vendors()}
    if as_json:
        rows = [{**r.as_json(), "vendor": names.get(r.vendor_id)} for r in records]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not records:
        console.print("No agreements yet: vrm vendors add URL proffers your terms")
        return
    table = Table("#", "vendor", "terms", "by", "state", "since")
    for record in records:
        state = Text(record.state, style=STATE_STYLE.get(record.state, ""))
        if record.state == "alternative":
            state.append("  (answer: vrm agreements accept|reject N)", style="")
        table.add_row(
            str(record.id),
            Text(names.get(record.vendor_id, "?")),
            Text(record.terms.name),
            record.proffered_by,
            state,
            _when(record.answered_at or record.created_at),
        )
    console.print(table)


@app.command("show")
def show(number: NumberArgument, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """One agreement: its terms, obligations, both DIDs, times and signatures."""
    with opened_agent(home) as agent:
        record = agent.agreement(number)
    if as_json:
        print(json.dumps(record.as_json(document=True), indent=2, ensure_ascii=False))
        return
    statement = record.document.statement
    console.print(
        Text(f"agreement {record.id}: {record.terms.name} — {record.state}", style="bold")
    )
    for term in (record.terms.agreement, *record.terms.additional):
        console.print(Text(f"  {term.id} {term.version}: {term.summary}"))
    obligations = record.terms.obligations().described()
    console.print(Text("  obligations: " + "; ".join(f"{k} {v}" for k, v in obligations)))
    console.print(Text(f"  terms hash (SHA-256, RFC 8785): {record.terms_sha256}"))
    console.print(Text(f"  you: {statement.person}"))
    console.print(Text(f"  vendor: {statement.vendor}"))
    console.print(
        Text(f"  proffered by the {statement.proffered_by} {_when(statement.proffered_time)}")
    )
    if record.agreement is not None:
        console.print(Text(f"  accepted {_when(record.agreement.accepted_time)}; signed by both"))


@app.command("verify")
def verify(
    number: Annotated[int | None, typer.Argument(help="A kept agreement's number.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(help="An agreement (or consent record) in a JSON file, e.g. a vendor's."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Check an agreement offline: the terms' hash and both parties' signatures.

    Exits with status 1 when it does not verify.
    """
    if (number is None) == (file is None):
        raise ValueError("give an agreement number or --file FILE")
    record = None
    if file is not None:
        agreement, record = _agreement_in(file)
    else:
        agreement = _kept_agreement(number, home)  # type: ignore[arg-type]
    try:
        agreement.verify()
    except AgreementInvalid as exc:
        console.print(Text(f"✕ does not verify: {exc}", style="red"))
        raise typer.Exit(1) from exc
    if record is not None and _claims_differ(record, agreement):
        console.print(
            Text(
                "✕ does not verify: the consent record says other things than the signed"
                " agreement it carries",
                style="red",
            )
        )
        raise typer.Exit(1)
    console.print(
        Text(
            f"✓ verified: {agreement.terms.name}, signed by {agreement.statement.person}"
            f" and {agreement.statement.vendor}",
            style="green",
        )
    )


@app.command("accept")
def accept(number: NumberArgument, home: HomeOption = None) -> None:
    """Accept a vendor's alternative terms: the agreement is signed and data may flow."""
    with opened_agent(home) as agent:
        record = agent.answer_alternative(number, accept=True)
        console.print(Text(f"agreement {record.id}: {record.terms.name} — {record.state}"))


@app.command("reject")
def reject(number: NumberArgument, home: HomeOption = None) -> None:
    """Reject a vendor's alternative terms: no agreement, so nothing is sent to it."""
    with opened_agent(home) as agent:
        record = agent.answer_alternative(number, accept=False)
        console.print(Text(f"agreement {record.id}: {record.terms.name} — {record.state}"))


@app.command("export")
def export(
    number: NumberArgument,
    format: Annotated[
        str, typer.Option(help="json (the signed record) or 27560 (ISO/IEC TS 27560, DPV).")
    ] = "27560",
    output: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    home: HomeOption = None,
) -> None:
    """Export a signed agreement as a consent record others can check."""
    from vrm.terms.consent_record import consent_record

    if format not in ("json", "27560"):
        raise ValueError("--format is json or 27560")
    with opened_agent(home, send=False) as agent:
        record = agent.agreement(number)
    if record.agreement is None:
        raise ValueError(f"agreement {number} is {record.state}: not signed by both yet")
    document: dict[str, Any] = (
        consent_record(record.agreement)
        if format == "27560"
        else record.agreement.model_dump(mode="json", exclude_none=True)
    )
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        console.print(Text(f"wrote {output}"))


def _kept_agreement(number: int, home: Path | None) -> Agreement:
    with opened_agent(home, send=False) as agent:
        record = agent.agreement(number)
    if record.agreement is None:
        raise ValueError(f"agreement {number} is {record.state}: not signed by both yet")
    return record.agreement


def _agreement_in(file: Path) -> tuple[Agreement, dict[str, Any] | None]:
    """The agreement in ``file``, and the consent record around it if it is one."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file} is not JSON: {exc.msg} (line {exc.lineno})") from exc
    record = None
    if isinstance(document, dict) and "vrm:agreement" in document:
        record, document = document, document["vrm:agreement"]  # it carries the signed record
    try:
        return Agreement.model_validate(document), record
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top)"
        raise ValueError(f"{file} is not an agreement: {where}: {error['msg']}") from exc


def _claims_differ(record: dict[str, Any], agreement: Agreement) -> bool:
    """True when a consent record is not exactly the one its agreement makes."""
    from vrm.terms.consent_record import consent_record

    expected: dict[str, Any] = json.loads(json.dumps(consent_record(agreement)))
    return expected != record


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def describe(record: AgreementRecord) -> str:
    """``SD-BASE + mine-too (active)``: for one-line summaries."""
    return f"{record.terms.name} ({record.state})"
