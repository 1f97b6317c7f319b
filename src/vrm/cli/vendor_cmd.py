"""``vrm vendor``: commands run on the vendor's side, beside (or without) its endpoint.

``verify-membership`` is for the checkout: it reads the code a customer shows and
says in one line whether it holds, with nothing but the vendor's home folder (its
key and database, opened read-only) — the endpoint may be stopped or unreachable.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from vrm.cli.output import print_json

app = typer.Typer(
    help="The vendor's own commands: check a membership at the checkout.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)


@app.command("verify-membership")
def verify_membership(
    code: Annotated[
        str | None,
        typer.Argument(help="The text of the customer's QR code (VRM1.…); '-' or none: stdin."),
    ] = None,
    home: Annotated[
        Path | None, typer.Option(help="The endpoint's folder (key, store); default: by name.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The vendor's name (finds its folder).")] = None,
    config: Annotated[
        Path | None, typer.Option(help="The endpoint's TOML settings (name, database).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
) -> None:
    """Check a membership code offline: 'valid' and the tier, or 'refused' and why (exit 1)."""
    from vrm.protocol import MembershipRefused
    from vrm.vendor.checkout import open_offline, verdict

    folder, database = _where(home, name, config)
    text = sys.stdin.readline() if code in (None, "-") else code
    checkout = open_offline(folder, database=database)
    try:
        checked = checkout.verify(text or "")
    except MembershipRefused as refused:
        if as_json:
            print_json({"valid": False, "reason": refused.reason.value, "detail": refused.detail})
        else:
            console.print(Text(f"refused: {refused.reason.value} — {refused.detail}"))
        raise typer.Exit(1) from None
    finally:
        checkout.close()
    found = verdict(checked)
    if as_json:
        print_json(found)
        return
    member = found["member"]
    until = f", through {member['last_day']}" if member["last_day"] else ""
    console.print(
        Text(
            f"valid: {member['tier']} — {member['programName']}, member since "
            f"{member['memberSince']}{until} ({member['customer']})"
        )
    )


def _where(home: Path | None, name: str | None, config: Path | None) -> tuple[Path, str | None]:
    """The vendor's folder and database URL, from the options as ``vrm serve vendor`` takes them."""
    if home is not None and config is None:
        return home, None
    if config is None and name is None:
        raise ValueError("say which vendor: --home FOLDER, --name NAME or --config FILE")
    from vrm.cli.vendor_home import home_folder
    from vrm.vendor.config import load_settings, settings_from

    overrides: dict[str, object] = {"name": name} if name else {}
    settings = (
        load_settings(config, **overrides) if config is not None else settings_from(overrides)
    )
    return home_folder(settings, home), settings.database
