"""``vrm deliveries``: every message the agent sent or is sending, per vendor."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.outbox.store import FAILED, PENDING
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent

console = Console(highlight=False, emoji=False, soft_wrap=True)
STYLE = {"delivered": "green", "pending": "yellow", "failed": "red"}


def deliveries(
    failed: Annotated[bool, typer.Option("--failed", help="Only failed deliveries.")] = False,
    pending: Annotated[bool, typer.Option("--pending", help="Only pending deliveries.")] = False,
    vendor: Annotated[str | None, typer.Option(help="Only this vendor's.")] = None,
    retry: Annotated[
        int | None, typer.Option(help="Send failed delivery ID again (shown in the # column).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 50,
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show deliveries, newest first: pending, delivered, failed and why."""
    if failed and pending:
        raise typer.BadParameter("choose --failed or --pending, not both")
    with opened_agent(home) as agent:
        if retry is not None:
            status = agent.retry(retry)
            console.print(Text(f"delivery {status.id} is queued again"))
            return
        state = FAILED if failed else PENDING if pending else None
        shown = agent.deliveries(state=state, vendor=vendor, limit=limit)
        names = {rel.id: rel.vendor.name for rel in agent.vendors()}
    if as_json:
        rows = [{**d.as_json(), "vendor": names.get(d.vendor_id or -1)} for d in shown]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not shown:
        console.print("No deliveries" + (f" {state}" if state else "") + ".")
        return
    table = Table("#", "vendor", "message", "state", "tries", "when", "why")
    for d in shown:
        when = d.delivered_at or d.next_attempt_at or d.created_at
        table.add_row(
            str(d.id),
            Text(names.get(d.vendor_id or -1, "")),
            d.type.removeprefix("vrm/1/"),
            Text(d.state, style=STYLE.get(d.state, "")),
            str(d.attempts),
            dt.datetime.fromtimestamp(when).isoformat(sep=" ", timespec="seconds"),
            Text(_why(d.last_code, d.error) if d.state != "delivered" else ""),
        )
    console.print(table)


def _why(code: str | None, error: str | None) -> str:
    """The reason in a few words: the vendor's code, else the start of the error."""
    if code:
        return code
    if error and len(error) > 60:
        return error[:59] + "…"
    return error or ""
