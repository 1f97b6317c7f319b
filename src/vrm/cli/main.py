"""The ``vrm`` command: entry point, sub-command groups, and one-line errors."""

from __future__ import annotations

import logging
import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from vrm.agent.errors import AgentError
from vrm.agent.profile.fields import InvalidField
from vrm.cli import (
    agent_cmd,
    agreements_cmd,
    audit_cmd,
    config_cmd,
    deliveries_cmd,
    demo_cmd,
    grants_cmd,
    health_cmd,
    intents_cmd,
    loyalty_cmd,
    pay_cmd,
    profile_cmd,
    protocol_cmd,
    records_cmd,
    reviews_cmd,
    serve_cmd,
    terms_cmd,
    vendor_cmd,
    vendor_rights_cmd,
    vendors_cmd,
)
from vrm.protocol import ProtocolError
from vrm.vault import VaultError

app = typer.Typer(
    name="vrm",
    help="Vendor Relationship Management: the customer's own side of every relationship.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(protocol_cmd.app, name="protocol")
app.add_typer(serve_cmd.app, name="serve")
app.add_typer(vendor_cmd.app, name="vendor")
app.add_typer(profile_cmd.app, name="profile")
app.add_typer(audit_cmd.app, name="audit")
vendor_rights_cmd.register(vendors_cmd.app)
app.add_typer(vendors_cmd.app, name="vendors")
app.add_typer(terms_cmd.app, name="terms")
app.add_typer(agreements_cmd.app, name="agreements")
app.add_typer(intents_cmd.intents_app, name="intents")
app.add_typer(intents_cmd.offers_app, name="offers")
app.add_typer(records_cmd.app, name="records")
app.add_typer(pay_cmd.app, name="pay")
app.add_typer(health_cmd.app, name="health")
app.add_typer(reviews_cmd.app, name="reviews")
app.add_typer(loyalty_cmd.app, name="loyalty")
app.add_typer(grants_cmd.app, name="grants")
app.add_typer(config_cmd.app, name="config")
app.command("deliveries")(deliveries_cmd.deliveries)
app.command("up")(serve_cmd.agent)
app.add_typer(demo_cmd.app, name="demo")
app.command("init")(agent_cmd.init)
app.command("token")(agent_cmd.token)
app.command("backup")(agent_cmd.backup)
app.command("restore")(agent_cmd.restore)

errors = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def run() -> None:
    """Run the CLI; any error the user can act on is one line on stderr, not a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except ProtocolError as exc:
        errors.print(f"[red]error:[/] {exc.code.value}: {escape(exc.detail)}")
        sys.exit(1)
    except (AgentError, VaultError, InvalidField) as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        errors.print(f"[red]error:[/] {escape(where)}{escape(str(exc.strerror or exc))}")
        sys.exit(1)
    except ValueError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("VRM_DEBUG"):
            raise
        errors.print(
            f"[red]error:[/] unexpected {exc.__class__.__name__}: {escape(str(exc))} "
            "(set VRM_DEBUG=1 for details)"
        )
        sys.exit(1)
