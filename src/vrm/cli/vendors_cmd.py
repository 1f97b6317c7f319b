"""``vrm vendors``: relationships with vendors, each shown as its two r-buttons."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.agreements.service import AgreementRecord
from vrm.agent.grants.service import GrantRecord
from vrm.agent.relationships.service import Relationship
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent

app = typer.Typer(help="Vendors you have a relationship with.", no_args_is_help=True)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
VendorArgument = Annotated[str, typer.Argument(help="The vendor: its number, name or URL.")]

PERSON_BUTTON = {
    "wants": ("● wants", "green"),
    "paused": ("‖ paused", "yellow"),
    "ended": ("■ ended", "red"),
}
VENDOR_BUTTON = {
    "unknown": ("? unknown", "dim"),
    "accepted": ("● accepted", "green"),
    "refused": ("✕ refused", "red"),
    "ended": ("■ ended", "red"),
}


def r_button(side: dict[str, tuple[str, str]], state: str) -> Text:
    """One side's r-button as coloured text."""
    label, style = side.get(state, (state, ""))
    return Text(label, style=style)


@app.command("add")
def add(
    url: Annotated[
        str, typer.Argument(help="The vendor's site or endpoint, e.g. https://shop.example")
    ],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Discover the vendor, make a pairwise DID for it alone, and ask for a relationship."""
    with opened_agent(home) as agent:
        relationship = asyncio.run(agent.add_vendor(url))
        if as_json:
            print(json.dumps(relationship.as_json(), indent=2, ensure_ascii=False))
        else:
            console.print(
                Text(
                    f"vendor {relationship.id}: {relationship.vendor.name} — relationship requested"
                )
            )


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every vendor with both r-buttons and its deliveries."""
    with opened_agent(home) as agent:
        relationships = agent.vendors()
        counts = agent.delivery_counts()
        terms = terms_by_vendor(agent.agreements())
        overdue = {request.vendor_id for request in agent.overdue_requests()}
    if as_json:
        rows = [
            {
                **r.as_json(),
                "terms": terms.get(r.id),
                "deliveries": counts.get(r.id, {}),
                "overdue_request": r.id in overdue,
            }
            for r in relationships
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not relationships:
        console.print("No vendors yet: vrm vendors add URL")
        return
    table = Table("#", "vendor", "you", "vendor's side", "terms", "deliveries", "url")
    for rel in relationships:
        done = counts.get(rel.id, {})
        summary = ", ".join(f"{n} {state}" for state, n in sorted(done.items())) or "none"
        agreed = terms.get(rel.id) or {"terms": "none", "state": ""}
        shown = Text(agreed["terms"], style="green" if agreed["state"] == "active" else "yellow")
        if agreed["state"] != "active":
            shown.append(f" ({agreed['state'] or 'no agreement'})")
        if rel.id in overdue:
            shown.append("  ! request unanswered", style="bold red")
        table.add_row(
            str(rel.id),
            Text(rel.vendor.name),
            r_button(PERSON_BUTTON, rel.person_state),
            r_button(VENDOR_BUTTON, rel.vendor_state),
            shown,
            summary,
            Text(rel.vendor.url),
        )
    console.print(table)


def terms_by_vendor(records: list[AgreementRecord]) -> dict[int, dict[str, str]]:
    """Per vendor, the agreement in force, else the newest proffer: its terms and state."""
    found: dict[int, dict[str, str]] = {}
    for record in records:
        current = found.get(record.vendor_id)
        if current is None or current["state"] != "active" or record.state == "active":
            found[record.vendor_id] = {"terms": record.terms.name, "state": record.state}
    return found


@app.command("show")
def show(vendor: VendorArgument, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """One vendor: both r-buttons, its pairwise DID, grants and recent deliveries."""
    with opened_agent(home) as agent:
        rel = agent.vendor(vendor)
        grants = [grant for _, grant in agent.grants(str(rel.id))]
        recent = agent.deliveries(vendor=str(rel.id), limit=10)
        records = agent.agreements(str(rel.id))
        requests = agent.data_requests(str(rel.id))
        now = agent.clock()
    if as_json:
        document = {
            **rel.as_json(),
            "agreements": [record.as_json() for record in records],
            "data_requests": [request.as_json(now) for request in requests],
            "grants": [grant.as_json() for grant in grants],
            "deliveries": [d.as_json() for d in recent],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console.print(Text(f"{rel.vendor.name} (vendor {rel.id})", style="bold"))
    buttons = Text.assemble(
        "  you: ",
        r_button(PERSON_BUTTON, rel.person_state),
        "   vendor: ",
        r_button(VENDOR_BUTTON, rel.vendor_state),
    )
    console.print(buttons)
    console.print(Text(f"  url: {rel.vendor.url}"))
    console.print(Text(f"  vendor DID: {rel.vendor.did}"))
    console.print(Text(f"  your DID with it: {rel.our_did}"))
    if rel.held_because:
        console.print(Text(f"  nothing is sent: {rel.held_because}", style="yellow"))
    for record in records:
        if record.state in ("active", "proffered", "alternative"):
            console.print(Text(f"  terms: {record.terms.name} — {record.state} (#{record.id})"))
    for request in requests:
        flag = "  ! overdue" if request.overdue(now) else ""
        console.print(
            Text(
                f"  {request.kind} request {request.id}: {request.state}{flag}",
                style="red" if flag else "",
            )
        )
    if grants:
        table = Table("field", "purpose", "until", "state", title="grants", title_justify="left")
        for grant in grants:
            table.add_row(
                Text(grant.path), Text(grant.purpose), grant.until or "", grant_state(grant, rel)
            )
        console.print(table)
    if recent:
        table = Table(
            "#", "type", "state", "tries", title="recent deliveries", title_justify="left"
        )
        for d in recent:
            table.add_row(str(d.id), d.type.removeprefix("vrm/1/"), d.state, str(d.attempts))
        console.print(table)


def grant_state(grant: GrantRecord, relationship: Relationship) -> str:
    """active, held (the relationship is not active), revoked or expired."""
    if grant.active_on(dt.date.today()):
        return "active" if relationship.active else "held"
    return "revoked" if grant.revoked_at else "expired"


def _press(action: str, vendor: str, home: HomeOption, done: str) -> None:
    with opened_agent(home) as agent:
        changed: Relationship = getattr(agent, action)(vendor)
        console.print(Text(f"{changed.vendor.name}: {done}"))


@app.command("pause")
def pause(vendor: VendorArgument, home: HomeOption = None) -> None:
    """Pause: the vendor is told; nothing more is sent until you resume."""
    _press("pause", vendor, home, "paused")


@app.command("resume")
def resume(vendor: VendorArgument, home: HomeOption = None) -> None:
    """Resume a paused relationship; the vendor gets the current values of its grants."""
    _press("resume", vendor, home, "resumed")


@app.command("end")
def end(vendor: VendorArgument, home: HomeOption = None) -> None:
    """End the relationship: every grant to the vendor is revoked, and it is told."""
    _press("end", vendor, home, "ended, every grant revoked")
