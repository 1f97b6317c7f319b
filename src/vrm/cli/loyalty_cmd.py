"""``vrm loyalty``: memberships vendors issued you, and the code to show at their checkout.

Loyalty and brand preferences are profile fields: ``vrm profile set preference.brands
"Fairphone, Patagonia"`` and ``vrm grants add VENDOR preference.brands --purpose "loyalty and
brand preferences"`` share them with one vendor (the Loyalty page does both at once).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.loyalty.desk import LoyaltyDesk
from vrm.agent.loyalty.memberships import MembershipRecord
from vrm.agent.loyalty.qr import qr_terminal
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json, when

app = typer.Typer(
    help="Loyalty: memberships from your vendors, shown at the checkout as a QR code.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NumberArgument = Annotated[int, typer.Argument(help="The membership's number (vrm loyalty list).")]


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every membership, the latest received first."""
    with opened_agent(home) as agent:
        found = LoyaltyDesk(agent).memberships()
        now = agent.clock()
    if as_json:
        print_json([record.as_json(now) for record in found])
        return
    if not found:
        console.print("No membership yet: vendors issue them over your relationships.")
        return
    table = Table("#", "vendor", "program", "tier", "member since", "through", "state")
    for record in found:
        subject = record.credential.credentialSubject
        table.add_row(
            str(record.id),
            Text(record.vendor_name),
            Text(subject.programName),
            Text(subject.tier),
            subject.memberSince,
            _until(record),
            record.state(now),
        )
    console.print(table)


@app.command("show")
def show(number: NumberArgument, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """One membership: program, tier, benefits, dates, and the vendor's signature."""
    with opened_agent(home) as agent:
        record = LoyaltyDesk(agent).membership(number)
        now = agent.clock()
    if as_json:
        print_json(record.as_json(now))
        return
    subject = record.credential.credentialSubject
    console.print(
        Text(
            f"membership {record.id}: {subject.tier} of {subject.programName}, {record.vendor_name}"
        )
    )
    if subject.membershipNumber:
        console.print(Text(f"member number: {subject.membershipNumber}"))
    through = f"valid through {record.last_day}" if record.last_day else "no end date"
    console.print(Text(f"member since {subject.memberSince}, {through}"))
    for benefit in subject.benefits:
        console.print(Text(f"  • {benefit}"))
    state = record.state(now)
    if state == "revoked":
        ended = f"revoked by the vendor on {when(record.revoked_at or now)}"
        console.print(Text(ended + (f": {record.reason}" if record.reason else "")))
    else:
        console.print(Text(state))
    console.print(Text(f"signed by {record.vendor_did}, to your DID {record.our_did}"))


@app.command("qr")
def qr(number: NumberArgument, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """The code to show at the vendor's checkout: a QR code, and its text (valid 2 minutes)."""
    with opened_agent(home) as agent:
        shown = LoyaltyDesk(agent).present(number, to="cli")
    if as_json:
        print_json(shown.as_json())
        return
    subject = shown.membership.credential.credentialSubject
    console.print(Text(qr_terminal(shown.text)), end="")
    console.print(
        Text(
            f"{subject.tier} of {subject.programName}, {shown.membership.vendor_name} — "
            f"valid until {when(shown.expires_at)}; its text:"
        )
    )
    print(shown.text)


def _until(record: MembershipRecord) -> str:
    return record.last_day or "—"
