"""``vrm reviews``: reviews written, signed, published in the feed, sent, and withdrawn.

A thin shell over :class:`vrm.agent.reviews.desk.ReviewDesk`.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrm.agent.reviews.desk import ReviewDesk
from vrm.agent.reviews.feed import FeedStatus
from vrm.agent.reviews.store import ReviewRecord
from vrm.agent.reviews.writing import Draft
from vrm.cli.agent_cmd import HomeOption
from vrm.cli.opened_agent import opened_agent
from vrm.cli.output import print_json, when
from vrm.protocol import LICENCES
from vrm.protocol.v1.licences import in_words
from vrm.protocol.v1.reviews import ITEM_TYPES

app = typer.Typer(
    help="Reviews: yours, signed, under the licence you choose; a public feed; sent to vendors.",
    no_args_is_help=True,
)
feed_app = typer.Typer(help="Your public review feed, which vrm up serves.", no_args_is_help=True)
app.add_typer(feed_app, name="feed")
console = Console(highlight=False, emoji=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Number = Annotated[int, typer.Argument(help="The review's number (vrm reviews list).")]
LICENCE_KEYS = ", ".join(entry.key for entry in LICENCES)


@app.command("write")
def write(
    item: Annotated[str, typer.Option(help="What you review: a product, a shop, a film…")],
    rating: Annotated[int, typer.Option(help="Stars, 1 to 5.")],
    title: Annotated[str, typer.Option(help="The review's title.")],
    body: Annotated[str, typer.Option(help="The review ('-' reads it from standard input).")],
    licence: Annotated[
        str, typer.Option(help=f"Its licence: {LICENCE_KEYS} (vrm reviews licences).")
    ],
    no_ai_training: Annotated[
        bool,
        typer.Option("--no-ai-training", help="Reserve text and data mining, AI training too."),
    ] = False,
    author: Annotated[
        str | None,
        typer.Option(help="The name to sign with, a pseudonym is fine (default: the last one)."),
    ] = None,
    url: Annotated[str | None, typer.Option(help="Where the item is on the web.")] = None,
    kind: Annotated[
        str, typer.Option("--type", help=f"What the item is: {', '.join(ITEM_TYPES)}.")
    ] = "Product",
    language: Annotated[str | None, typer.Option(help="Its language: en, fr-CA…")] = None,
    public: Annotated[bool, typer.Option("--public", help="Put it in your public feed.")] = False,
    home: HomeOption = None,
) -> None:
    """Write a review and sign it with your reviewer DID (the same for all your reviews)."""
    text = sys.stdin.read() if body == "-" else body
    with opened_agent(home) as agent:
        desk = ReviewDesk(agent)
        name = author if author is not None else desk.default_author()
        if name is None:
            raise ValueError(
                "give --author NAME: the name your reviews are signed with (a pseudonym is fine)"
            )
        draft = Draft(
            item=item,
            rating=rating,
            title=title,
            body=text,
            licence=licence,
            author=name,
            no_ai_training=no_ai_training,
            item_type=kind,
            item_url=url,
            language=language,
        )
        record = desk.write(draft, public=public)
    console.print(Text(f"review {record.id} written: {_summary(record)}"))
    console.print(Text(f"signed by your reviewer DID {record.signed.reviewer}"))


@app.command("list")
def list_(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Every review, the newest change first."""
    with opened_agent(home) as agent:
        found = ReviewDesk(agent).reviews()
    if as_json:
        print_json([record.as_json() for record in found])
        return
    if not found:
        console.print("No reviews yet: vrm reviews write --help")
        return
    table = Table("#", "item", "stars", "title", "licence", "state", "sent to")
    for record in found:
        review = record.review
        state = "withdrawn" if not record.current else ("public" if record.public else "private")
        table.add_row(
            str(record.id),
            Text(review.itemReviewed.name),
            str(review.reviewRating.ratingValue),
            Text(review.name),
            _licence_name(record) + (", no AI" if review.reserved else ""),
            state,
            str(len(record.sent_to)),
        )
    console.print(table)


@app.command("show")
def show(number: Number, home: HomeOption = None, as_json: JsonOption = False) -> None:
    """One review: what it says, its licence in words, where it went, and the signed document."""
    with opened_agent(home) as agent:
        desk = ReviewDesk(agent)
        record = desk.review(number)
        names = {r.id: r.vendor.name for r in agent.vendors()}
    if as_json:
        print_json(record.as_json())
        return
    review = record.review
    console.print(Text(f"review {record.id} (version {record.version}): {review.name}"))
    item, stars = review.itemReviewed, review.reviewRating.ratingValue
    console.print(Text(f"{item.type} {item.name}, {stars} of 5 stars"))
    console.print(Text(review.reviewBody))
    console.print(Text(f"by {review.author.name}, {review.version}"))
    console.print(Text(f"licence: {in_words(review.license, reserved=review.reserved)}"))
    if not record.current:
        console.print(Text(f"withdrawn {when(record.withdrawn_at or 0)}: in no feed, vendors told"))
    else:
        console.print(
            "public: in your feed while it is on" if record.public else "private: in no feed"
        )
    for sending in record.sent_to:
        said = "withdrawn" if sending.withdrawal_id else f"version {sending.version}"
        vendor = names.get(sending.vendor_id, f"vendor {sending.vendor_id}")
        console.print(Text(f"sent to {vendor} ({said}) {when(sending.sent_at)}"))
    console.print(Text(f"signed by {record.signed.reviewer} (verified):"))
    console.print(Text(record.signed.signed))


@app.command("edit")
def edit(
    number: Number,
    item: Annotated[str | None, typer.Option(help="What you review.")] = None,
    rating: Annotated[int | None, typer.Option(help="Stars, 1 to 5.")] = None,
    title: Annotated[str | None, typer.Option(help="The title.")] = None,
    body: Annotated[str | None, typer.Option(help="The review ('-': standard input).")] = None,
    licence: Annotated[str | None, typer.Option(help=f"Its licence: {LICENCE_KEYS}.")] = None,
    ai_training: Annotated[
        bool | None,
        typer.Option("--ai-training/--no-ai-training", help="Allow or reserve AI training."),
    ] = None,
    author: Annotated[str | None, typer.Option(help="The name to sign with.")] = None,
    public: Annotated[
        bool | None, typer.Option("--public/--private", help="In your public feed, or not.")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Change a review: a new version, signed, sent to the vendors that have it."""
    changes: dict[str, Any] = {
        "item": item,
        "rating": rating,
        "title": title,
        "body": sys.stdin.read() if body == "-" else body,
        "licence": licence,
        "author": author,
        "no_ai_training": None if ai_training is None else not ai_training,
    }
    wanted = {key: value for key, value in changes.items() if value is not None}
    with opened_agent(home) as agent:
        desk = ReviewDesk(agent)
        if wanted:
            draft = replace(Draft.of(desk.review(number).review), **wanted)
            record = desk.edit(number, draft, public=public)
        elif public is not None:
            record = desk.publish(number, public)
        else:
            raise ValueError(
                "say what changes: --rating, --body, --public… (vrm reviews edit --help)"
            )
    console.print(Text(f"review {record.id} is now version {record.version}: {_summary(record)}"))


@app.command("withdraw")
def withdraw(number: Number, home: HomeOption = None) -> None:
    """Withdraw a review: out of your feed for good; every vendor that has it is told."""
    with opened_agent(home) as agent:
        record = ReviewDesk(agent).withdraw(number)
    told = sum(1 for sending in record.sent_to if sending.withdrawal_id)
    console.print(
        Text(f"review {record.id} withdrawn; {told} vendor{'s' if told != 1 else ''} told")
    )


@app.command("send")
def send(
    number: Number,
    to: Annotated[str, typer.Option("--to", help="The vendor: number, name, URL or host.")],
    home: HomeOption = None,
) -> None:
    """Send a review to a vendor you relate with; it learns your reviewer DID is its customer's."""
    with opened_agent(home) as agent:
        record = ReviewDesk(agent).send(number, to)
        vendor = agent.vendor(to).vendor.name
    console.print(Text(f"review {record.id} sent to {vendor}"))
    console.print(Text(f"{vendor} now knows your reviewer DID {record.signed.reviewer} is yours"))


@app.command("licences")
def licences() -> None:
    """The licences a review may be published under, and what each allows."""
    table = Table("licence", "name", "what it allows")
    for entry in LICENCES:
        table.add_row(entry.key, entry.name, Text(entry.summary))
    console.print(table)
    console.print("--no-ai-training reserves text and data mining (W3C TDMRep) under any but cc0.")


@feed_app.command("on")
def feed_on(home: HomeOption = None) -> None:
    """Turn the feed on: anyone may then read your public reviews at its address."""
    with opened_agent(home) as agent:
        _feed(ReviewDesk(agent).set_feed(True))


@feed_app.command("off")
def feed_off(home: HomeOption = None) -> None:
    """Turn the feed off: its address answers 404."""
    with opened_agent(home) as agent:
        _feed(ReviewDesk(agent).set_feed(False))


@feed_app.command("status")
def feed_status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Whether the feed is on, its address, and how many reviews it lists."""
    with opened_agent(home) as agent:
        status = ReviewDesk(agent).feed()
    if as_json:
        print_json(status.as_json())
        return
    _feed(status)


def _feed(status: FeedStatus) -> None:
    if not status.on:
        console.print(Text(f"feed off ({status.url} answers 404)"))
        return
    count = f"{status.reviews} public review{'s' if status.reviews != 1 else ''}"
    console.print(Text(f"feed on: {status.url} ({count}; served while vrm up runs)"))
    if status.reviewer:
        console.print(Text(f"reviewer: {status.reviewer}"))


def _summary(record: ReviewRecord) -> str:
    review = record.review
    stars = review.reviewRating.ratingValue
    said = f"{review.itemReviewed.name}, {stars} stars, {_licence_name(record)}"
    if review.reserved:
        said += " (AI training reserved)"
    return said + (", public" if record.public else "")


def _licence_name(record: ReviewRecord) -> str:
    url = record.review.license
    return next((entry.name for entry in LICENCES if entry.url == url), url)
