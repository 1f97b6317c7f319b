"""``vrm terms``: the agreements and terms one can proffer, and the person's default."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.terms import AlternativeRule, Term, UnknownTerm, library

app = typer.Typer(
    help="Your terms: the IEEE 7012 roster of agreements and additional terms.",
    no_args_is_help=True,
)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AddOption = Annotated[
    list[str] | None,
    typer.Option("--add", help="Add an additional term (repeatable), e.g. NoStalking."),
]
RemoveOption = Annotated[
    list[str] | None,
    typer.Option("--remove", help="Remove an additional term (repeatable)."),
]


def changed_terms(
    current: tuple[str, ...], add: list[str] | None, remove: list[str] | None
) -> list[str] | None:
    """``current`` with ``add`` appended and ``remove`` left out; None when neither is given."""
    if add is None and remove is None:
        return None
    gone = {term.casefold() for term in remove or []}
    kept = [term for term in current if term.casefold() not in gone]
    return kept + [
        term for term in add or [] if term.casefold() not in {t.casefold() for t in kept}
    ]


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """The roster's agreements and the additional terms, with what each promises."""
    found = library()
    if as_json:
        print(json.dumps(found.model_dump(mode="json", exclude_none=True), indent=2))
        return
    for title, terms in (("agreements", found.agreements), ("additional terms", found.terms)):
        table = Table("id", "title", "obligations", title=title, title_justify="left")
        for term in terms:
            table.add_row(Text(term.id), Text(term.title), Text(_obligations(term)))
        console.print(table)


@app.command("show")
def show(term_id: Annotated[str, typer.Argument(help="An agreement or term id.")]) -> None:
    """One agreement or term: what the vendor promises, in words and as obligations."""
    try:
        term = library().any(term_id)
    except UnknownTerm as exc:
        raise ValueError(exc.args[0]) from exc
    console.print(Text(f"{term.id} (version {term.version}): {term.title}", style="bold"))
    console.print(Text(term.summary))
    for sentence in term.text:
        console.print(Text(f"  • {sentence}"))
    console.print(Text(f"  obligations: {_obligations(term)}"))
    if term.source:
        console.print(Text(f"  source: {term.source.name} — {term.source.url}"))


@app.command("default")
def default(
    agreement: Annotated[
        str | None, typer.Argument(help="The roster agreement, e.g. SD-BASE-DP.")
    ] = None,
    add: AddOption = None,
    remove: RemoveOption = None,
    no_additional: Annotated[
        bool, typer.Option("--no-additional", help="Proffer the agreement alone.")
    ] = False,
    alternatives: Annotated[
        AlternativeRule | None,
        typer.Option(
            help="A vendor's alternative: ask (take it if as protective, else ask you),"
            " reject (take it if as protective, else reject), never (always ask)."
        ),
    ] = None,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show or set the terms proffered to vendors without terms of their own."""
    with opened_agent(home) as agent:
        settings = agent.terms_settings()
        start = () if no_additional else settings.default.additional
        additional = changed_terms(start, add, remove)
        if no_additional and additional is None:
            additional = []
        if agreement is not None or additional is not None or alternatives is not None:
            settings = agent.set_default_terms(agreement, additional, alternatives=alternatives)
    if as_json:
        print(json.dumps(settings.as_json(), indent=2))
        return
    terms = settings.default.terms()
    console.print(Text(f"default terms: {terms.name}"))
    console.print(Text(f"vendors' alternatives: {settings.alternatives.value}"))


def _obligations(term: Term) -> str:
    return "; ".join(f"{name} {value}" for name, value in term.obligations.described())
