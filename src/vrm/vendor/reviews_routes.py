"""The JSON API of people's reviews: those held, with their licence, and fetching a feed.

Included by :func:`vrm.vendor.api.create_vendor_app` under ``/api`` with the bearer
token; errors are problem+json like the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from vrm.protocol.v1.message_types import HttpUrl
from vrm.vendor.endpoint import VendorEndpoint

router = APIRouter(prefix="/api")


class FeedToFetch(BaseModel):
    """Where a person's review feed is: the URL their agent gave them (``…/reviews``)."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[HttpUrl, Field(description="the feed's URL, http or https")]


@router.get("/reviews", tags=["reviews"])
async def list_reviews(
    request: Request,
    state: Annotated[str | None, Query(pattern="^(current|withdrawn)$")] = None,
    customer: str | None = None,
) -> list[dict[str, Any]]:
    """Reviews held, newest first: each signed review, its licence, whether mining is reserved.

    A withdrawn review keeps only its ids and licence: its text was deleted.
    """
    endpoint: VendorEndpoint = request.app.state.endpoint
    return await run_in_threadpool(endpoint.reviews.listed, state=state, customer=customer)


@router.post("/reviews/fetch", tags=["reviews"])
async def fetch_feed(request: Request, feed: FeedToFetch) -> dict[str, Any]:
    """Fetch a person's public review feed, verify each review, keep those that verify.

    Answers what changed, and the entries refused (with why); ``502 feed_unusable``
    when the feed cannot be fetched or read (a feed the person turned off is a 404).
    """
    endpoint: VendorEndpoint = request.app.state.endpoint
    report = await endpoint.reviews.fetch(feed.url)
    return report.as_json()
