"""``vrm pay provider``: which provider pays your payees, and ``vrm pay payees account``.

The Stripe secret key is never an argument (arguments show in ``ps``): it is read
from ``--secret-key-file``, else ``$VRM_STRIPE_SECRET_KEY``, else asked for on the
terminal — or kept from before when none is given.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from vrm.agent.payments.provider_desk import ProviderDesk
from vrm.agent.payments.provider_settings import STRIPE
from vrm.agent.payments.stripe import STRIPE_API
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json

SECRET_KEY_VARIABLE = "VRM_STRIPE_SECRET_KEY"  # noqa: S105 - a variable name, not a secret
MAX_KEY_FILE_BYTES = 4096

app = typer.Typer(
    help="Which provider pays your payees: ledger-only (no money moves) or Stripe.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@app.command("show")
def show(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """The provider your payments go through (the secret key only as its last 4 characters)."""
    with opened_agent(home) as agent:
        settings = ProviderDesk(agent).settings()
    if as_json:
        print_json(settings.as_json())
    else:
        console.print(Text(settings.describe()))


@app.command("ledger-only")
def ledger_only(home: HomeOption = None) -> None:
    """Record payments and move no money (the Stripe secret key is forgotten)."""
    with opened_agent(home) as agent:
        settings = ProviderDesk(agent).use_ledger_only()
    console.print(Text(settings.describe()))


@app.command("stripe")
def stripe(
    customer: Annotated[
        str, typer.Option("--customer", help="Your Customer id on the platform, cus_….")
    ],
    payment_method: Annotated[
        str,
        typer.Option("--payment-method", help="The Customer's saved PaymentMethod, pm_…."),
    ],
    api_base: Annotated[
        str, typer.Option("--api-base", help="Where the Stripe API answers.")
    ] = STRIPE_API,
    secret_key_file: Annotated[
        Path | None,
        typer.Option(
            "--secret-key-file",
            help=f"A file holding the platform's secret key (else ${SECRET_KEY_VARIABLE}, "
            "else asked; kept from before when none is given).",
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Pay through Stripe: destination charges from your card to each payee's account."""
    key = _given_key(secret_key_file)
    with opened_agent(home) as agent:
        desk = ProviderDesk(agent)
        if key is None and desk.settings().provider != STRIPE:
            key = _asked_key()
        settings = desk.use_stripe(
            customer=customer, payment_method=payment_method, secret_key=key, api_base=api_base
        )
    console.print(Text(settings.describe()))


def payee_account(
    number: Annotated[int, typer.Argument(help="The payee's number (vrm pay payees list).")],
    account: Annotated[
        str | None,
        typer.Argument(help="Its Stripe connected account, acct_… (none: no account)."),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Set the provider account a payee is paid to (a Stripe connected account)."""
    if account is not None and account.strip().lower() == "none":
        account = None
    with opened_agent(home) as agent:
        payee = ProviderDesk(agent).set_account(number, account)
    said = f"is paid to {payee.account}" if payee.account else "has no account now"
    console.print(Text(f"payee {payee.id} ({payee.name}) {said}"))


def _given_key(secret_key_file: Path | None) -> str | None:
    if secret_key_file is not None:
        with secret_key_file.open("rb") as kept:
            raw = kept.read(MAX_KEY_FILE_BYTES + 1)
        if len(raw) > MAX_KEY_FILE_BYTES:
            raise ValueError(f"{secret_key_file} holds more than a secret key")
        try:
            return raw.decode().strip()
        except UnicodeDecodeError:
            raise ValueError(f"{secret_key_file} does not hold a secret key") from None
    given = os.environ.get(SECRET_KEY_VARIABLE, "").strip()
    return given or None


def _asked_key() -> str:
    if not sys.stdin.isatty():
        raise ValueError(
            f"no Stripe secret key: give --secret-key-file FILE or set {SECRET_KEY_VARIABLE}"
        )
    answer: str = typer.prompt("Stripe secret key", hide_input=True)
    return answer
