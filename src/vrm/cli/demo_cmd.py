"""``vrm demo``: change your address once and watch every vendor's CRM follow.

``vrm demo protocol`` is the protocol on its own: two parties exchanging signed
messages, and every way a message is refused.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from vrm.demo.change_once import StoryReport
    from vrm.demo.two_parties import DemoReport, Step

console = Console(highlight=False, emoji=False)
app = typer.Typer(
    help="See vrm work on this machine: change once, every vendor's CRM follows.",
    invoke_without_command=True,
)


@app.callback()
def story(
    context: typer.Context,
    keep: Annotated[
        bool, typer.Option(help="Leave everything running and print the URLs to explore.")
    ] = False,
    home: Annotated[
        Path | None, typer.Option(help="Folder for every party's state (default: a temporary one).")
    ] = None,
) -> None:
    """Your agent and three vendors (SCIM, webhooks, built-in store): change once, see it land."""
    if context.invoked_subcommand is not None:
        return
    from vrm.demo.change_once import run_story

    console.rule("[bold]vrm demo[/]: change your address once, every vendor's CRM follows")
    table = _steps_table()

    async def wait_until_interrupted(report: StoryReport) -> None:
        console.print()
        for name, url in report.urls.items():
            console.print(f"{name:20} {escape(url)}")
        console.print("Vendor endpoints: /docs (API token in each one's api-token file).")
        console.print(
            f"Sign in to your pages with the passphrase {escape(report.passphrase or '')}"
        )
        console.print("Everything keeps running; press Ctrl-C to stop.")
        await asyncio.Event().wait()

    with (
        tempfile.TemporaryDirectory(prefix="vrm-demo-") as scratch,
        Live(table, console=console, refresh_per_second=8),
    ):
        report = asyncio.run(
            run_story(
                home or Path(scratch),
                on_step=lambda step: _add_step(table, step),
                keep=wait_until_interrupted if keep else None,
            )
        )
    console.print()
    crms = Table("vendor", "its CRM", "address it holds", "arrived after", header_style="bold")
    for row in report.crms:
        arrived = f"{row.millis:,.0f} ms" if row.millis is not None else "[red]not yet[/]"
        crms.add_row(escape(row.vendor), row.crm, escape(row.street or "(none)"), arrived)
    console.print(crms)
    verdict = (
        "[green]changed once, every CRM has it[/]"
        if report.all_as_expected
        else "[red]not every CRM has the change[/]"
    )
    console.print(f"Result: {verdict}")
    if not report.all_as_expected:
        raise typer.Exit(1)


def _steps_table() -> Table:
    return Table("", "step", "outcome", "ms", box=None, header_style="bold")


def _add_step(table: Table, step: Step) -> None:
    if step.as_expected:
        mark, outcome = "[green]✔[/]", f"[green]{escape(step.outcome)}[/]"
    else:
        mark = "[red]✘[/]"
        outcome = f"[red]{escape(step.outcome)}[/] (expected {escape(step.expected)})"
    table.add_row(mark, escape(step.title), outcome, f"{step.millis:,.1f}")


@app.command("protocol")
def protocol(
    keep: Annotated[
        bool, typer.Option(help="Leave both parties running and print their URLs.")
    ] = False,
    burst: Annotated[int, typer.Option(min=0, help="Pings in the throughput burst.")] = 1000,
    home: Annotated[
        Path | None, typer.Option(help="Folder for the parties' keys (default: a temporary one).")
    ] = None,
) -> None:
    """Run Alice and Bob on 127.0.0.1 and show signed messages accepted and refused."""
    from vrm.demo.two_parties import run_demo

    console.rule("[bold]vrm demo protocol[/]: Alice and Bob speak the signed message protocol")
    table = _steps_table()

    def show(step: Step) -> None:
        _add_step(table, step)

    async def wait_until_interrupted(report: DemoReport) -> None:
        for name, url in (("Alice", report.alice_url), ("Bob", report.bob_url)):
            console.print(f"{name:5} {url}/.well-known/vrm   API docs: {url}/docs")
        console.print("Both keep running; press Ctrl-C to stop.")
        await asyncio.Event().wait()

    with (
        tempfile.TemporaryDirectory(prefix="vrm-demo-") as scratch,
        Live(table, console=console, refresh_per_second=8),
    ):
        report = asyncio.run(
            run_demo(
                home or Path(scratch),
                on_step=show,
                burst=burst,
                keep=wait_until_interrupted if keep else None,
            )
        )
    console.print()
    _summary(report)
    if not report.all_as_expected:
        raise typer.Exit(1)


def _summary(report: DemoReport) -> None:
    console.print(f"Alice: {report.alice_did}")
    console.print(f"Bob:   {report.bob_did}")
    if report.burst_seconds:
        rate = report.burst_count / report.burst_seconds
        console.print(f"Throughput: {rate:,.0f} signed messages/s delivered and verified over HTTP")
    verdict = "[green]every step as expected[/]" if report.all_as_expected else "[red]surprises[/]"
    console.print(f"Result: {verdict}")
