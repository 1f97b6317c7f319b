"""The JSON API for the person's reviews (under ``/api/reviews``, bearer token).

Write, list, show, edit, withdraw and send reviews; the licences to choose from;
the public feed's switch. The feed itself is served to anyone by
:mod:`vrm.agent.api.review_feed_routes`.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import Field

from vrm.agent.api.routes import Request_
from vrm.agent.reviews.desk import ReviewDesk
from vrm.agent.reviews.writing import MAX_AUTHOR, MAX_BODY, MAX_ITEM, MAX_TITLE, Draft
from vrm.protocol import LICENCES

router = APIRouter(prefix="/api/reviews")
Text_ = Annotated[str, Field(max_length=MAX_BODY * 2)]  # longer is refused in words later


class ReviewIn(Request_):
    """A review to write. ``author`` is the name it is signed with (default: the last one used)."""

    item: Annotated[str, Field(max_length=MAX_ITEM * 2, examples=["Blue kettle"])]
    item_type: Annotated[str, Field(max_length=40, examples=["Product"])] = "Product"
    item_url: Annotated[str | None, Field(max_length=2048)] = None
    rating: Annotated[int, Field(examples=[4])]
    title: Annotated[str, Field(max_length=MAX_TITLE * 2)]
    body: Text_
    licence: Annotated[str, Field(max_length=200, examples=["cc-by-nc"])]
    no_ai_training: bool = False
    author: Annotated[str | None, Field(max_length=MAX_AUTHOR * 2)] = None
    language: Annotated[str | None, Field(max_length=35, examples=["en"])] = None
    public: bool = False


class ReviewChanges(Request_):
    """What changes in a review; what is left out stays. ``public`` alone signs no new version."""

    item: Annotated[str | None, Field(max_length=MAX_ITEM * 2)] = None
    item_type: Annotated[str | None, Field(max_length=40)] = None
    item_url: Annotated[str | None, Field(max_length=2048)] = None
    rating: int | None = None
    title: Annotated[str | None, Field(max_length=MAX_TITLE * 2)] = None
    body: Annotated[str | None, Field(max_length=MAX_BODY * 2)] = None
    licence: Annotated[str | None, Field(max_length=200)] = None
    no_ai_training: bool | None = None
    author: Annotated[str | None, Field(max_length=MAX_AUTHOR * 2)] = None
    language: Annotated[str | None, Field(max_length=35)] = None
    public: bool | None = None


_CLEARABLE = ("item_url", "language")


class SendIn(Request_):
    """The vendor to send the review to: its number, name, URL or host."""

    vendor: Annotated[str, Field(min_length=1, max_length=2048, examples=["1"])]


class FeedIn(Request_):
    """Turn the public feed on or off."""

    on: bool


def install(app: FastAPI, desk: ReviewDesk) -> None:
    """Keep ``desk`` on the app for the routes of this module."""
    app.state.review_desk = desk


def desk_of(request: Request) -> ReviewDesk:
    """The app's review desk."""
    desk: ReviewDesk = request.app.state.review_desk
    return desk


@router.get("/licences", tags=["reviews"])
def licences() -> list[dict[str, Any]]:
    """The licences a review may be published under, each with what it allows."""
    return [asdict(entry) for entry in LICENCES]


@router.get("/feed", tags=["reviews"])
def feed_status(request: Request) -> dict[str, Any]:
    """The public feed: on or off, its address, the reviewer DID, how many reviews it lists."""
    return desk_of(request).feed().as_json()


@router.put("/feed", tags=["reviews"])
def set_feed(request: Request, body: FeedIn) -> dict[str, Any]:
    """Turn the public feed on or off (audited): on, anyone may read the public reviews."""
    return desk_of(request).set_feed(body.on).as_json()


@router.get("", tags=["reviews"])
def list_reviews(request: Request) -> list[dict[str, Any]]:
    """Every review, the newest change first, each as signed and where it was sent."""
    return [record.as_json() for record in desk_of(request).reviews()]


@router.post("", tags=["reviews"], status_code=201)
def write_review(request: Request, body: ReviewIn) -> dict[str, Any]:
    """Write and sign a review; ``422`` says what does not fit."""
    desk = desk_of(request)
    author = body.author if body.author is not None else desk.default_author()
    if author is None:
        raise ValueError("author: give the name your reviews are signed with (a pseudonym is fine)")
    values = body.model_dump(exclude={"public", "author"})
    return desk.write(Draft(author=author, **values), public=body.public).as_json()


@router.get("/{review_id}", tags=["reviews"])
def show_review(request: Request, review_id: int) -> dict[str, Any]:
    """One review, as signed (its signature checked again as it was read)."""
    return desk_of(request).review(review_id).as_json()


@router.patch("/{review_id}", tags=["reviews"])
def edit_review(request: Request, review_id: int, changes: ReviewChanges) -> dict[str, Any]:
    """Change a review: a new version, sent to the vendors that have it; or make it public."""
    desk = desk_of(request)
    given = changes.model_dump(exclude_unset=True, exclude={"public"})
    # null clears what may be empty (the item's address, the language); elsewhere it keeps
    wanted = {k: v for k, v in given.items() if v is not None or k in _CLEARABLE}
    if not wanted:
        if changes.public is None:
            return desk.review(review_id).as_json()
        return desk.publish(review_id, changes.public).as_json()
    draft = replace(Draft.of(desk.review(review_id).review), **wanted)
    return desk.edit(review_id, draft, public=changes.public).as_json()


@router.post("/{review_id}/withdraw", tags=["reviews"])
def withdraw_review(request: Request, review_id: int) -> dict[str, Any]:
    """Withdraw a review: out of the feed for good; every vendor that has it is told."""
    return desk_of(request).withdraw(review_id).as_json()


@router.post("/{review_id}/send", tags=["reviews"], status_code=202)
def send_review(request: Request, review_id: int, body: SendIn) -> dict[str, Any]:
    """Send a review to a vendor over the relationship (it learns the reviewer DID is yours)."""
    return desk_of(request).send(review_id, body.vendor).as_json()
