"""``vrm demo``: two parties exchanging signed messages over HTTP, shown step by step."""

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
    from vrm.demo.two_parties import DemoReport, Step

console = Console(highlight=False, emoji=False)


def demo(
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

    console.rule("[bold]vrm demo[/]: Alice and Bob speak the signed message protocol")
    table = Table("", "step", "outcome", "ms", box=None, header_style="bold")

    def show(step: Step) -> None:
        if step.as_expected:
            mark, outcome = "[green]✔[/]", f"[green]{escape(step.outcome)}[/]"
        else:
            mark = "[red]✘[/]"
            outcome = f"[red]{escape(step.outcome)}[/] (expected {escape(step.expected)})"
        table.add_row(mark, escape(step.title), outcome, f"{step.millis:,.1f}")

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
