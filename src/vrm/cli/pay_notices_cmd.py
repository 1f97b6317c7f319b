"""``vrm pay notices`` and ``vrm pay retry``: payees told of their payments, and second chances.

``vrm pay now`` tells each paid payee with an endpoint of its payment (a signed notice
with your terms); ``notices`` shows who was told, who signed a receipt acknowledging
your terms, and who is still to be told, and tells them now. ``retry`` lets a payment
the provider refused for good be tried again at the next pay, once its cause is mended.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json

console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def tell_payees(agent: PersonalAgent) -> int:
    """Queue the notices of every paid payment not told yet; how many were queued.

    The caller's :func:`opened_agent` sends them before the command ends.
    """
    return len(asyncio.run(PaymentsDesk(agent).send_notices()))


def notices(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Payees told of their payments, their signed receipts, and those still to tell (now)."""
    with opened_agent(home) as agent:
        tell_payees(agent)
        desk = PaymentsDesk(agent)
        sent, waiting = desk.notices(), desk.pending()
        payments = {record.id: record for record in agent.payments()}
    if as_json:
        print_json(
            {
                "sent": [notice.as_json() for notice in sent.values()],
                "waiting": [
                    {"payment": p.payment_id, "payee": p.payee_id, "reason": p.reason}
                    for p in waiting
                ],
            }
        )
        return
    if not sent and not waiting:
        console.print("No payee told yet: vrm pay now pays and tells those with an endpoint.")
        return
    table = Table("month", "payee", "amount", "your terms", "acknowledged")
    for payment_id, notice in sent.items():
        record = payments[payment_id]
        said = "not yet"
        if notice.receipt is not None:
            said = f"signed by {notice.receipt.payee}"
        table.add_row(
            record.month,
            Text(record.payee_name),
            record.describe_amount(),
            Text("; ".join(notice.notice.terms) or "—"),
            Text(said, style="green" if notice.receipt else "yellow"),
        )
    console.print(table)
    for pending in waiting:
        record = payments[pending.payment_id]
        console.print(Text(f"{record.payee_name} ({record.month}) not told yet: {pending.reason}"))


def retry(
    payment: Annotated[int, typer.Argument(help="The payment's number (vrm pay ledger).")],
    home: HomeOption = None,
) -> None:
    """Let a payment the provider refused for good be tried again at the next pay."""
    with opened_agent(home) as agent:
        record = PaymentsDesk(agent).retry(payment)
    console.print(
        Text(
            f"{record.payee_name}'s {record.describe_amount()} for {record.month} will be "
            f"tried again: vrm pay now {record.month}"
        )
    )
