"""``vrm pay``: EmanciPay — one monthly budget and one "pay" for many payees, on your terms."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.errors import NotFound
from vrm.agent.payments.allocation import Allocation, Fixed, PerUse, ShareRule, Weight
from vrm.agent.payments.ledger import FAILED, PAID, PaymentRecord
from vrm.agent.payments.money import format_minor, parse_decimal
from vrm.agent.payments.payees import Payee
from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.providers import LedgerOnlyProvider
from vrm.agent.personal_agent import PersonalAgent
from vrm.cli import pay_notices_cmd, pay_provider_cmd
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json

app = typer.Typer(
    help="EmanciPay: one monthly budget, one pay for your stations and creators, your terms.",
    no_args_is_help=True,
)
payees_app = typer.Typer(help="Whom you pay, and how your budget is shared.", no_args_is_help=True)
app.add_typer(payees_app, name="payees")
app.add_typer(pay_provider_cmd.app, name="provider")
payees_app.command("account")(pay_provider_cmd.payee_account)
app.command("notices")(pay_notices_cmd.notices)
app.command("retry")(pay_notices_cmd.retry)
console = Console(highlight=False, emoji=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
MonthArgument = Annotated[
    str | None, typer.Argument(help="The month, YYYY-MM (default: this month).")
]
STATE_STYLE = {"planned": "dim", "paying": "yellow", "paid": "green", "failed": "red"}


@app.command("budget")
def budget(
    amount: Annotated[str | None, typer.Argument(help="The monthly amount, e.g. 20.00.")] = None,
    currency: Annotated[str | None, typer.Argument(help="Its ISO 4217 code, e.g. EUR.")] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the monthly budget, or set it: vrm pay budget 20.00 EUR."""
    if (amount is None) != (currency is None):
        raise ValueError("give both the amount and the currency, e.g. vrm pay budget 20.00 EUR")
    with opened_agent(home) as agent:
        current = agent.budget() if amount is None else agent.set_budget(amount, currency or "")
    if as_json:
        print_json(None if current is None else current.as_json())
    elif current is None:
        console.print("No budget yet: vrm pay budget AMOUNT CURRENCY (e.g. 20.00 EUR)")
    else:
        console.print(Text(f"budget: {current.describe()}"))


@payees_app.command("list")
def list_payees(
    home: HomeOption = None,
    removed: Annotated[bool, typer.Option("--removed", help="Also removed payees.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The payees by number, each with its share rule, endpoint and terms."""
    with opened_agent(home) as agent:
        found = agent.payees(removed=removed)
        current = agent.budget()
    if as_json:
        print_json([payee.as_json() for payee in found])
        return
    if not found:
        console.print("No payees yet: vrm pay payees add NAME --weight 1")
        return
    currency = None if current is None else current.currency
    table = Table("#", "name", "share", "endpoint", "account", "terms")
    for payee in found:
        name = payee.name + (" (removed)" if payee.removed_at is not None else "")
        table.add_row(
            str(payee.id),
            Text(name),
            Text(payee.rule.describe(currency)),
            Text(payee.endpoint or ""),
            Text(payee.account or ""),
            Text("; ".join(payee.terms)),
        )
    console.print(table)


@payees_app.command("add")
def add_payee(
    name: Annotated[str, typer.Argument(help="The station, creator or vendor.")],
    fixed: Annotated[
        str | None, typer.Option("--fixed", help="The same amount every month.")
    ] = None,
    weight: Annotated[
        str | None, typer.Option("--weight", help="A share of what fixed and per-use leave.")
    ] = None,
    per_use: Annotated[
        str | None, typer.Option("--per-use", help="A rate per unit you log (with --unit).")
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="What --per-use counts, e.g. hour.")
    ] = None,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Its URL that accepts payment messages.")
    ] = None,
    term: Annotated[
        list[str] | None,
        typer.Option("--term", help="A term of yours that goes with each payment (repeatable)."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Its Stripe connected account it is paid to, acct_…."),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a payee: exactly one of --fixed AMOUNT, --weight W, --per-use RATE --unit UNIT."""
    rule = _rule(fixed, weight, per_use, unit)
    with opened_agent(home) as agent:
        payee = ProviderDesk(agent).add_payee(
            name, rule, endpoint=endpoint, terms=term or [], account=account
        )
        current = agent.budget()
    if as_json:
        print_json(payee.as_json())
        return
    currency = None if current is None else current.currency
    console.print(Text(f"payee {payee.id}: {payee.name}, {payee.rule.describe(currency)}"))


@payees_app.command("remove")
def remove_payee(
    number: Annotated[int, typer.Argument(help="The payee's number (vrm pay payees list).")],
    home: HomeOption = None,
) -> None:
    """Leave a payee out of the months not paid yet; its past payments stay in the ledger."""
    with opened_agent(home) as agent:
        payee = agent.remove_payee(number)
    console.print(Text(f"removed payee {payee.id}: {payee.name}"))


@app.command("use")
def use(
    payee: Annotated[str, typer.Argument(help="The payee's number or name.")],
    units: Annotated[str, typer.Argument(help="How many units, e.g. 1.5 (hours).")],
    note: Annotated[str | None, typer.Option("--note", help="A note for yourself.")] = None,
    month: Annotated[
        str | None, typer.Option("--month", help="YYYY-MM (default: this month).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Log units of a per-use payee (e.g. listening hours) for a month not paid yet."""
    with opened_agent(home) as agent:
        found = _find_payee(agent, payee)
        logged = agent.log_use(found.id, units, month=month, note=note)
        total = sum(
            (u.units for u in agent.uses(logged.month) if u.payee_id == found.id), start=Decimal(0)
        )
    unit = found.rule.unit if isinstance(found.rule, PerUse) else "unit"
    console.print(
        Text(
            f"logged {logged.units} {_plural(unit, logged.units)} of {found.name} for "
            f"{logged.month} ({total} in all)"
        )
    )


@app.command("preview")
def preview(
    month: MonthArgument = None, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """What paying the month now would give each payee (nothing is recorded)."""
    with opened_agent(home) as agent:
        allocation = agent.allocation(month)
        names = {payee.id: payee.name for payee in agent.payees()}
        paid = agent.payments(month or agent.this_month())
        shown_month = month or agent.this_month()
    if as_json:
        print_json({"month": shown_month, **allocation.as_json()})
        return
    _allocation(allocation, names, shown_month)
    if paid:
        console.print(
            Text(f"{shown_month} is planned already: vrm pay ledger {shown_month} shows it")
        )


@app.command("now")
def now(month: MonthArgument = None, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Pay the month: its allocation recorded once, each payee paid once (vrm pay provider).

    Run again, it retries only the payments not paid yet, under the same keys.
    """
    with opened_agent(home) as agent:
        provider = ProviderDesk(agent).provider()
        done = agent.pay(month, provider)
        paid_month = month or agent.this_month()
        told = pay_notices_cmd.tell_payees(agent)
    if as_json:
        print_json([record.as_json() for record in done])
        return
    if not done:
        console.print(Text(f"Nothing to pay in {paid_month}: every share of the budget is zero."))
        return
    _ledger(done)
    paid = [record for record in done if record.state == PAID]
    total = format_minor(sum(record.amount for record in paid), done[0].currency)
    moved = ": recorded, no money moved" if isinstance(provider, LedgerOnlyProvider) else ""
    console.print(
        Text(f"{paid_month}: {len(paid)} of {len(done)} paid, {total} ({provider.name}{moved})")
    )
    if told:
        console.print(
            Text(f"told {told} payee{'s' if told != 1 else ''} of their payment, with your terms")
        )
    unpaid = [record for record in done if record.state != PAID]
    if unpaid:
        retry = [record for record in unpaid if record.state != FAILED or record.retryable]
        errors.print(
            f"{len(unpaid)} of {len(done)} payments not paid"
            + (f"; vrm pay now {paid_month} tries them again" if retry else "")
        )
        raise typer.Exit(1)


@app.command("ledger")
def ledger(
    month: MonthArgument = None, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """The payments recorded (of one month, or all): amount, state, attempts, reference."""
    with opened_agent(home) as agent:
        found = agent.payments(month)
    if as_json:
        print_json([record.as_json() for record in found])
        return
    if not found:
        console.print("No payments yet: vrm pay now pays this month.")
        return
    _ledger(found)


def _rule(
    fixed: str | None, weight: str | None, per_use: str | None, unit: str | None
) -> ShareRule:
    given = [option for option in (fixed, weight, per_use) if option is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of --fixed AMOUNT, --weight W, --per-use RATE")
    if per_use is not None:
        if not unit:
            raise ValueError("--per-use needs --unit, e.g. --unit hour")
        return PerUse(parse_decimal(per_use, "--per-use"), unit.strip())
    if unit is not None:
        raise ValueError("--unit goes with --per-use only")
    if fixed is not None:
        return Fixed(parse_decimal(fixed, "--fixed"))
    return Weight(parse_decimal(weight or "", "--weight"))


def _plural(unit: str, units: Decimal) -> str:
    return unit if units == 1 else unit + "s"


def _find_payee(agent: PersonalAgent, reference: str) -> Payee:
    """The payee ``reference`` names: its number, or its name in any case."""
    found = agent.payees()
    for payee in found:
        if str(payee.id) == reference.strip() or payee.name.casefold() == reference.casefold():
            return payee
    raise NotFound(f"no payee {reference!r} (vrm pay payees list shows them)")


def _allocation(allocation: Allocation, names: dict[int, str], month: str) -> None:
    table = Table("#", "payee", "share", "asked", "gets")
    currency = allocation.currency
    for line in allocation.lines:
        asked = "" if line.asked is None else format_minor(line.asked, currency)
        share = line.rule.describe(currency)
        if isinstance(line.rule, PerUse):
            share += f", {line.units} logged"
        gets = format_minor(line.amount, currency) + (" (cut)" if line.cut else "")
        table.add_row(
            str(line.payee_id),
            Text(names.get(line.payee_id, "")),
            Text(share),
            asked,
            gets,
        )
    console.print(Text(f"{month}: {allocation.describe_total()}"))
    console.print(table)


def _ledger(found: list[PaymentRecord]) -> None:
    table = Table("month", "#", "payee", "amount", "state", "tries", "reference / error")
    for record in found:
        said = record.reference or record.last_error or ""
        if record.state == FAILED and not record.retryable:
            said += " (final)"
        table.add_row(
            record.month,
            str(record.payee_id),
            Text(record.payee_name),
            record.describe_amount(),
            Text(record.state, style=STATE_STYLE.get(record.state, "")),
            str(record.attempts),
            Text(said),
        )
    console.print(table)
