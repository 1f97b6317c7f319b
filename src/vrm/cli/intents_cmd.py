"""``vrm intents`` and ``vrm offers``: say what you want to the market; compare and take offers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.intents.desk import SORTS, IntentDesk
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent

intents_app = typer.Typer(
    help="Intents: what you want, published under a pseudonym of its own.",
    no_args_is_help=True,
)
offers_app = typer.Typer(help="Offers vendors made for your intents.", no_args_is_help=True)
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
IntentArgument = Annotated[int, typer.Argument(help="The intent's number (vrm intents list).")]


@intents_app.command("new")
def new(
    category: Annotated[str, typer.Option(help="A taxonomy path, e.g. vehicles/cars/electric.")],
    max_price: Annotated[float, typer.Option(help="The most you would pay.")],
    currency: Annotated[str, typer.Option(help="ISO 4217, e.g. EUR.")],
    description: Annotated[str, typer.Option(help="What you want, in words.")] = "",
    min_price: Annotated[float, typer.Option(help="The least you expect to pay.")] = 0.0,
    quantity: Annotated[int, typer.Option(min=1, help="How many.")] = 1,
    prop: Annotated[
        list[str] | None, typer.Option("--property", help="NAME=VALUE (repeatable).")
    ] = None,
    country: Annotated[str | None, typer.Option(help="ISO 3166-1, e.g. GB.")] = None,
    postal_code: Annotated[str | None, typer.Option(help="With --country.")] = None,
    radius_km: Annotated[float | None, typer.Option(help="With --postal-code.")] = None,
    region: Annotated[str | None, typer.Option(help="ISO 3166-2, e.g. GB-SCT.")] = None,
    needed_by: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    expires_in_days: Annotated[float, typer.Option(min=0.001, max=90)] = 14,
    terms: Annotated[
        list[str] | None,
        typer.Option("--terms", help="Terms offers must accept (default: your default terms)."),
    ] = None,
    pool: Annotated[
        bool, typer.Option(help="Let the exchange pool it with others like it.")
    ] = False,
    exchange: Annotated[
        str | None, typer.Option(help="The exchange's URL (default: vrm config exchange_url).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Publish an intent: what you want, where, for how much — to every vendor that listens."""
    from vrm.intents.taxonomy import UnknownCategory, taxonomy
    from vrm.protocol.v1.intents import Intent

    try:
        chosen = taxonomy().category(category)
    except UnknownCategory as exc:
        raise ValueError(str(exc)) from exc
    demand: dict[str, Any] = {
        "category": chosen.path,
        "description": description,
        "eligibleQuantity": {"value": quantity},
        "itemOffered": {"additionalProperty": [_property(p) for p in prop or []]},
        "priceSpecification": {
            "minPrice": min_price,
            "maxPrice": max_price,
            "priceCurrency": currency.upper(),
        },
        "areaServed": _place(country, postal_code, radius_km, region),
        "validThrough": int(time.time() + expires_in_days * 86400),
    }
    if needed_by:
        demand["availabilityEnds"] = needed_by
    with opened_agent(home) as agent:
        url = exchange or agent.config().exchange_url
        if not url:
            raise ValueError("give --exchange URL, or vrm config set exchange_url URL")
        ids = terms or agent.terms_settings().default.terms().ids()
        try:
            intent = Intent.model_validate({"demand": demand, "terms": ids, "pool": pool})
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in error["loc"][-2:])
            raise ValueError(f"{where}: {error['msg']}") from exc
        record = asyncio.run(IntentDesk(agent).publish(url, intent))
    console.print(
        Text(f"intent {record.id}: {chosen.label} — published under a pseudonym of its own")
    )


@intents_app.command("list")
def list_(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every intent, with its state and offers."""
    with opened_agent(home) as agent:
        desk = IntentDesk(agent)
        records = desk.intents()
        counts = {r.id: len(desk.compare(r.id)) for r in records}
    if as_json:
        print(json.dumps([r.as_json() for r in records], indent=2, ensure_ascii=False))
        return
    if not records:
        console.print("No intents yet: vrm intents new --category … --max-price … --currency …")
        return
    table = Table("#", "category", "what", "up to", "state", "offers", "expires")
    for r in records:
        price = r.intent.demand.priceSpecification
        table.add_row(
            str(r.id),
            Text(r.intent.demand.category),
            Text(r.intent.demand.description[:40]),
            f"{price.maxPrice:,.2f} {price.priceCurrency}",
            r.state,
            str(counts[r.id]),
            _day(r.expires_at),
        )
    console.print(table)


@intents_app.command("show")
def show(intent: IntentArgument, home: HomeOption = None) -> None:
    """One intent as it was published."""
    with opened_agent(home) as agent:
        record = IntentDesk(agent).intent(intent)
    print(json.dumps(record.as_json(), indent=2, ensure_ascii=False))


@intents_app.command("withdraw")
def withdraw(intent: IntentArgument, home: HomeOption = None) -> None:
    """Withdraw an intent: the exchange removes it everywhere."""
    with opened_agent(home) as agent:
        record = IntentDesk(agent).withdraw(intent)
    console.print(Text(f"intent {record.id}: {record.state}"))


@offers_app.command("list")
def offers(
    intent: IntentArgument,
    sort: Annotated[str, typer.Option(help=f"One of: {', '.join(SORTS)}.")] = "total",
    fetch: Annotated[bool, typer.Option(help="Fetch new offers from the exchange first.")] = True,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """The offers for an intent, side by side: price, total, delivery, terms, your history."""
    with opened_agent(home) as agent:
        desk = IntentDesk(agent)
        if fetch:
            asyncio.run(desk.fetch_offers(intent))
        rows = desk.compare(intent, sort=sort)
    if as_json:
        print(json.dumps([row.as_json() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        console.print("No offers yet.")
        return
    table = Table("#", "seller", "offer", "price", "total", "delivery", "terms", "you know them")
    for row in rows:
        body = row.offer.body
        terms = (
            Text("all", style="green")
            if row.accepts_all_terms
            else Text("not " + ", ".join(row.missing_terms), style="red")
        )
        table.add_row(
            str(row.offer.id),
            Text(body.seller.name),
            Text(body.offer.name),
            f"{body.offer.price:,.2f}",
            f"{row.total:,.2f} {body.offer.priceCurrency}",
            body.offer.availabilityStarts or "",
            terms,
            f"vendor {row.known_vendor.id}" if row.known_vendor else "",
        )
    console.print(table)


@offers_app.command("accept")
def accept(
    offer: Annotated[int, typer.Argument(help="The offer's number.")], home: HomeOption = None
) -> None:
    """Take an offer: relate with the seller on your terms; grant what it needs; decline others."""
    with opened_agent(home) as agent:
        relationship = asyncio.run(IntentDesk(agent).accept(offer))
    console.print(
        Text(
            f"offer {offer} taken: vendor {relationship.id} ({relationship.vendor.name}),"
            " the other offers declined, the intent withdrawn"
        )
    )


@offers_app.command("decline")
def decline(
    offer: Annotated[int, typer.Argument(help="The offer's number.")], home: HomeOption = None
) -> None:
    """Decline one offer: its seller is told, from the intent's pseudonym; the intent stays open."""
    with opened_agent(home) as agent:
        declined = asyncio.run(IntentDesk(agent).decline(offer))
    told = "its seller is told" if declined.seller_told else "its seller could not be reached"
    console.print(Text(f"offer {offer} declined; {told}"))


def _property(text: str) -> dict[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ValueError(f"--property {text!r}: give NAME=VALUE")
    return {"name": name.strip(), "value": value.strip()}


def _place(
    country: str | None, postal_code: str | None, radius: float | None, region: str | None
) -> dict[str, Any]:
    if region:
        return {"addressRegion": region.upper()}
    if not country:
        raise ValueError("say where: --country (with --postal-code and --radius-km) or --region")
    place: dict[str, Any] = {"addressCountry": country.upper()}
    if postal_code:
        place["postalCode"] = postal_code
    if radius:
        place["radiusKm"] = radius
    return place


def _day(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d")
