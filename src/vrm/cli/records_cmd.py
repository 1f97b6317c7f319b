"""``vrm records``: receipts vendors signed, reminders from them, and the decision journal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.records.export import FORMATS
from vrm.agent.records.journal import JournalEntry
from vrm.agent.records.receipts import ReceiptRecord
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json, when, write_out

app = typer.Typer(
    help="Records: receipts from your vendors, warranties and renewals, why you chose.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("list")
def list_(
    home: HomeOption = None,
    everything: Annotated[
        bool, typer.Option("--all", help="Also receipts a correction replaced.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Every receipt, newest order first."""
    with opened_agent(home) as agent:
        found = agent.receipts(include_superseded=everything)
    _receipts(found, as_json, empty="No receipts yet: vendors send them after a sale.")


@app.command("show")
def show(
    number: Annotated[int, typer.Argument(help="The receipt's number (vrm records list).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """One receipt: its items, taxes, payment, warranties and renewals."""
    with opened_agent(home) as agent:
        record = agent.receipt(number)
    if as_json:
        print_json({**record.as_json(), "signed": record.signed})
        return
    body = record.receipt
    console.print(Text(f"receipt {record.id}: order {body.orderNumber} of {body.orderDate}"))
    console.print(
        Text(f"seller: {body.seller.name}" + (f" ({body.seller.url})" if body.seller.url else ""))
    )
    if not record.current:
        console.print(Text(f"replaced by receipt {record.superseded_by} (a correction)"))
    table = Table("item", "sku", "qty", "unit price", "warranty until", "renews")
    for item in body.items:
        renews = ""
        if item.subscription is not None:
            renews = f"{item.subscription.renews} (every {_period(item.subscription.every)})"
        table.add_row(
            Text(item.name),
            Text(item.sku or ""),
            str(item.quantity),
            item.price,
            item.warrantyEnd or "",
            Text(renews),
        )
    console.print(table)
    for tax in body.taxes:
        rate = f" at {tax.rate}%" if tax.rate else ""
        held = ", included" if tax.included else ""
        console.print(Text(f"{tax.name}{rate}: {tax.amount}{held}"))
    if body.deliveryCost != "0":
        console.print(Text(f"delivery: {body.deliveryCost}"))
    console.print(Text(f"total: {body.total} {body.currency}"))
    if body.payment is not None:
        console.print(Text(f"payment: {body.payment.method}, {body.payment.status}"))
    if body.note:
        console.print(Text(f"note: {body.note}"))
    console.print(
        Text(
            f"from vendor {record.vendor_id}, signed by {record.sender}, "
            f"received {when(record.received_at)}"
        )
    )


@app.command("search")
def search(
    text: Annotated[
        str, typer.Argument(help="Words in a seller, order number, item, SKU or note.")
    ],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Receipts whose seller, order number, items, SKUs or note hold TEXT (any case)."""
    with opened_agent(home) as agent:
        found = agent.search_receipts(text)
    _receipts(found, as_json, empty=f"No receipt holds {text!r}.")


@app.command("export")
def export(
    output_format: Annotated[
        str, typer.Option("--format", help=f"{' or '.join(FORMATS)}.")
    ] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: standard output).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Write the receipts out in clear: CSV (a row per item) or JSON (as received, signed)."""
    if output_format not in FORMATS:
        raise ValueError(f"--format {output_format!r}: give {' or '.join(FORMATS)}")
    with opened_agent(home) as agent:
        agent.export_receipts(
            output_format,
            to=str(output) if output else "standard output",
            write=lambda document: write_out(document, output),
        )
    if output is not None:
        errors.print(Text(f"Wrote the receipts to {output} (not encrypted)"))


@app.command("reminders")
def reminders(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Warranties ending within 30 days and subscriptions renewing within 14."""
    with opened_agent(home) as agent:
        due = agent.reminders()
    if as_json:
        print_json([reminder.as_json() for reminder in due])
        return
    if not due:
        console.print("Nothing ends or renews soon.")
        return
    table = Table("date", "in", "what", "item", "seller", "receipt")
    for reminder in due:
        if reminder.kind == "warranty":
            what = "warranty ends"
        else:
            what = f"renews at {reminder.price} {reminder.currency}"
        table.add_row(
            reminder.day.isoformat(),
            _days(reminder.days_left),
            Text(what),
            Text(reminder.item),
            Text(reminder.seller),
            str(reminder.receipt_id),
        )
    console.print(table)


@app.command("journal")
def journal(
    intent: Annotated[int, typer.Argument(help="The intent's number (vrm intents list).")],
    note: Annotated[
        str | None, typer.Option(help="Why you chose as you did (empty text clears it).")
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """An intent's decision: what you wanted, the offers, the one taken, your note, the receipt."""
    with opened_agent(home) as agent:
        entry = agent.journal(intent) if note is None else agent.set_journal_note(intent, note)
    if as_json:
        print_json(entry.as_json())
        return
    _journal(entry)


def _journal(entry: JournalEntry) -> None:
    demand = entry.intent.intent.demand
    price = demand.priceSpecification
    wanted = demand.description or demand.category
    console.print(
        Text(
            f"intent {entry.intent.id} ({entry.intent.state}): {wanted} — {demand.category}, "
            f"up to {price.maxPrice:,.2f} {price.priceCurrency}"
        )
    )
    if entry.offers:
        table = Table("#", "seller", "offer", "total", "terms accepted", "answer")
        for offer in entry.offers:
            body = offer.body
            table.add_row(
                str(offer.id),
                Text(body.seller.name),
                Text(body.offer.name),
                f"{offer.total:,.2f} {body.offer.priceCurrency}",
                Text(", ".join(body.accepts_terms)),
                "taken" if offer is entry.taken else offer.state,
            )
        console.print(table)
    else:
        console.print("No offers came.")
    if entry.note:
        console.print(Text(f"your note: {entry.note}"))
    else:
        console.print(Text(f"no note yet: vrm records journal {entry.intent.id} --note TEXT"))
    receipt = entry.receipt
    if receipt is not None:
        sale = receipt.receipt
        console.print(
            Text(
                f"receipt {receipt.id}: order {sale.orderNumber} of {sale.orderDate}, "
                f"{sale.total} {sale.currency}"
            )
        )
    elif entry.taken is not None:
        console.print("No receipt for the offer taken yet.")


def _receipts(found: list[ReceiptRecord], as_json: bool, *, empty: str) -> None:
    if as_json:
        print_json([record.as_json() for record in found])
        return
    if not found:
        console.print(Text(empty))
        return
    table = Table("#", "date", "seller", "order", "items", "total", "payment")
    for record in found:
        body = record.receipt
        items = body.items[0].name + (f" +{len(body.items) - 1}" if len(body.items) > 1 else "")
        state: str = "" if body.payment is None else body.payment.status
        if not record.current:
            state = f"replaced by {record.superseded_by}"
        table.add_row(
            str(record.id),
            body.orderDate,
            Text(body.seller.name),
            Text(body.orderNumber),
            Text(items),
            f"{body.total} {body.currency}",
            state,
        )
    console.print(table)


def _period(every: str) -> str:
    """``P1M`` → ``1 month``, ``P2W`` → ``2 weeks``."""
    count, unit = int(every[1:-1]), {"D": "day", "W": "week", "M": "month", "Y": "year"}[every[-1]]
    return f"{count} {unit}" + ("s" if count != 1 else "")


def _days(days: int) -> str:
    return {0: "today", 1: "1 day"}.get(days, f"{days} days")
