"""``vrm vendors terms|export|erase|data``: terms per vendor, and the person's data rights."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.data_rights.comparison import SENT
from vrm.agent.personal_agent import PersonalAgent
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.terms_cmd import AddOption, RemoveOption, changed_terms
from vrm.terms import Terms

console = Console(highlight=False, emoji=False, soft_wrap=True)
VendorArgument = Annotated[str, typer.Argument(help="The vendor: its number, name or URL.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def terms(
    vendor: VendorArgument,
    agreement: Annotated[
        str | None, typer.Argument(help="The roster agreement for this vendor, e.g. SD-BASE-DP.")
    ] = None,
    add: AddOption = None,
    remove: RemoveOption = None,
    use_default: Annotated[
        bool, typer.Option("--default", help="Go back to your default terms.")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Show or choose the terms proffered to one vendor (proffered at once if it is open)."""
    with opened_agent(home) as agent:
        relationship, choice, is_default = agent.vendor_terms(vendor)
        name = relationship.vendor.name
        if agreement is None and not use_default and add is None and remove is None:
            shown = choice.terms().name + (" (your default)" if is_default else "")
            console.print(Text(f"{name}: your terms are {shown}"))
            console.print(Text(f"  agreed with the vendor: {_agreed(agent, relationship.id)}"))
            return
        if use_default:
            proffered = agent.set_vendor_terms(vendor, None)
        else:
            additional = changed_terms(choice.additional, add, remove)
            proffered = agent.set_vendor_terms(
                vendor,
                agreement or choice.agreement,
                list(choice.additional) if additional is None else additional,
            )
        if proffered is not None:
            console.print(Text(f"{name}: proffered {proffered.terms.name}"))
            return
        chosen = agent.vendor_terms(vendor)[1].terms()
        console.print(Text(f"{name}: {_not_proffered(agent, relationship.id, chosen)}"))


def _agreed(agent: PersonalAgent, vendor_id: int) -> str:
    active = [a for a in agent.agreements(str(vendor_id)) if a.state == "active"]
    return active[-1].terms.name if active else "none yet"


def _not_proffered(agent: PersonalAgent, vendor_id: int, chosen: Terms) -> str:
    """Why choosing ``chosen`` sent nothing, in words."""
    relationship = agent.vendor(str(vendor_id))
    records = agent.agreements(str(vendor_id))
    sha = chosen.sha256()
    if any(r.state == "active" and r.terms_sha256 == sha for r in records):
        return f"{chosen.name} is already agreed"
    if any(r.state == "proffered" and r.terms_sha256 == sha for r in records):
        return f"{chosen.name} is proffered already, waiting for the vendor's answer"
    if relationship.person_state == "ended" or relationship.vendor_state in ("refused", "ended"):
        return f"{chosen.name} chosen; the relationship is over, so nothing was proffered"
    return f"{chosen.name} chosen; it is proffered once the vendor answers your request"


def export(vendor: VendorArgument, home: HomeOption = None) -> None:
    """Ask the vendor for a signed copy of everything it holds on you ("mine too")."""
    with opened_agent(home) as agent:
        record = agent.request_export(vendor)
        name = agent.vendor(vendor).vendor.name
    console.print(
        Text(
            f"asked {name} for everything it holds on you (request {record.id}, due by"
            f" {_day(record.due_at)}); vrm vendors data {vendor} shows it once it arrives"
        )
    )


def erase(
    vendor: VendorArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    home: HomeOption = None,
) -> None:
    """Ask the vendor to erase its record of you, in its CRMs too, and confirm it signed."""
    if not yes:
        typer.confirm(f"Ask {vendor} to erase everything it holds on you?", abort=True)
    with opened_agent(home) as agent:
        record = agent.request_erasure(vendor)
        name = agent.vendor(vendor).vendor.name
    console.print(
        Text(
            f"asked {name} to erase its record of you (request {record.id}); a confirmation"
            f" is due by {_day(record.due_at)}, and the vendor is flagged if none comes"
        )
    )


def data(vendor: VendorArgument, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """What the vendor's latest signed export says it holds, next to what you sent it."""
    with opened_agent(home, send=False) as agent:
        relationship, exported, comparison = agent.vendor_export(vendor)
    if as_json:
        document: dict[str, Any] = {
            "vendor": relationship.id,
            "export": exported.model_dump(mode="json"),
            "comparison": comparison.as_json(),
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console.print(
        Text(
            f"{relationship.vendor.name} holds (signed export of {_day(exported.generated_time)}):",
            style="bold",
        )
    )
    table = Table("what", "value", "where it came from")
    for item in comparison.items:
        style = "" if item.origin == SENT else "yellow"
        table.add_row(
            Text(item.name),
            Text(json.dumps(item.value, ensure_ascii=False)),
            Text(item.origin, style=style),
        )
    console.print(table)
    console.print(
        Text(
            f"{len(comparison.not_from_person)} item(s) you never sent;"
            f" {comparison.history_entries} history entries"
        )
    )
    if comparison.systems:
        systems = ", ".join(f"{name} ({n})" for name, n in sorted(comparison.systems.items()))
        console.print(Text(f"your data went to these systems of the vendor: {systems}"))
    if comparison.truncated:
        console.print(Text("the export was cut to fit one message: newest entries kept"))


def _day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d")


def register(app: typer.Typer) -> None:
    """Add these commands to ``vrm vendors``."""
    app.command("terms")(terms)
    app.command("export")(export)
    app.command("erase")(erase)
    app.command("data")(data)
