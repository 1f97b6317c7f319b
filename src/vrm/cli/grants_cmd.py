"""``vrm grants``: which fields each vendor may have, why, and until when."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.vendors_cmd import grant_state

app = typer.Typer(help="Grants: the profile fields each vendor may have.", no_args_is_help=True)
console = Console(highlight=False, emoji=False, soft_wrap=True)
VendorArgument = Annotated[str, typer.Argument(help="The vendor: its number, name or URL.")]
FieldsArgument = Annotated[
    list[str], typer.Argument(help="Fields, e.g. address.home email.primary")
]


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter("give a date as YYYY-MM-DD") from exc


@app.command("add")
def add(
    vendor: VendorArgument,
    fields: FieldsArgument,
    purpose: Annotated[str, typer.Option(help="What the vendor may use the fields for.")],
    until: Annotated[str | None, typer.Option(help="Last day of the grant (YYYY-MM-DD).")] = None,
    home: HomeOption = None,
) -> None:
    """Grant fields to a vendor; their current values are sent (once it has accepted)."""
    with opened_agent(home) as agent:
        granted = agent.grant(vendor, fields, purpose=purpose, until=_date(until))
        relationship = agent.vendor(vendor)
        names = ", ".join(grant.path for grant in granted)
        console.print(Text(f"granted {names} to {relationship.vendor.name}"))
        if relationship.held_because:
            console.print(
                Text(
                    f"held: {relationship.held_because}; the values are sent once the"
                    " relationship is active",
                    style="yellow",
                )
            )


@app.command("revoke")
def revoke(vendor: VendorArgument, fields: FieldsArgument, home: HomeOption = None) -> None:
    """Take fields back: the vendor is sent a signed revocation."""
    with opened_agent(home) as agent:
        revoked = agent.revoke(vendor, fields)
        console.print(Text(f"revoked {', '.join(grant.path for grant in revoked)}"))


@app.command("list")
def list_(
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's grants.")] = None,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every grant, revoked and expired ones too."""
    with opened_agent(home) as agent:
        grants = agent.grants(vendor)
    today = dt.date.today()
    if as_json:
        rows = [{**g.as_json(today), "vendor": r.vendor.name} for r, g in grants]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not grants:
        console.print("No grants yet: vrm grants add VENDOR FIELD... --purpose TEXT")
        return
    table = Table("vendor", "field", "purpose", "until", "state")
    for relationship, grant in grants:
        table.add_row(
            Text(relationship.vendor.name),
            Text(grant.path),
            Text(grant.purpose),
            grant.until or "",
            grant_state(grant, relationship),
        )
    console.print(table)
