"""The Reviews page: people's reviews held, each with its licence in words; fetching a feed.

A feed is fetched by a POST (with the session's CSRF token) that calls the same
:meth:`vrm.vendor.reviews.Reviews.fetch` as the API; the page then shows what the
fetch did, and the reviews below.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.errors import FeedUnusable
from vrm.vendor.reviews import FetchReport
from vrm.vendor.web.reading import short_did
from vrm.web.sessions import Session
from vrm.web.site import Site

REVIEWS = "/console/reviews"
SHOWN = 200


def review_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET /console/reviews; POST /console/reviews/fetch (a feed's URL)."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def page(
        session: Session,
        *,
        status: int = 200,
        url: str = "",
        report: FetchReport | None = None,
        error: str | None = None,
    ) -> Response:
        held = endpoint.reviews.listed()
        return pages.render(
            "reviews.html",
            status=status,
            session=session,
            current="reviews",
            reviews=[_shown(review) for review in held[:SHOWN]],
            total=len(held),
            shown=SHOWN,
            url=url,
            report=report,
            error=error,
        )

    @router.get(REVIEWS)
    def reviews_page(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        return page(session)

    @router.post(REVIEWS + "/fetch")
    async def fetch(
        request: Request,
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        fields = await site.form(request, session)
        url = fields.get("url", "").strip()
        if not url.startswith(("http://", "https://")) or len(url) > 2048 or " " in url:
            error = "Give the feed's web address, starting with https:// (or http://)."
            answer = partial(page, session, status=422, url=url, error=error)
            return await anyio.to_thread.run_sync(answer)
        try:
            report = await endpoint.reviews.fetch(url)
        except FeedUnusable as exc:
            answer = partial(page, session, status=502, url=url, error=str(exc))
            return await anyio.to_thread.run_sync(answer)
        return await anyio.to_thread.run_sync(partial(page, session, url=url, report=report))

    return router


def _shown(review: dict[str, Any]) -> dict[str, Any]:
    """A held review as the page shows it: the document's parts, who sent it, the licence."""
    document = review["review"] or {}
    return {
        **review,
        "item": document.get("itemReviewed", {}),
        "rating": document.get("reviewRating", {}).get("ratingValue"),
        "title": document.get("name"),
        "body": document.get("reviewBody"),
        "author": document.get("author", {}).get("name"),
        "language": document.get("inLanguage"),
        "published": document.get("dateModified") or document.get("datePublished"),
        "reviewer_short": short_did(review["reviewer"]),
        "customer_short": short_did(review["customer"]) if review["customer"] else None,
        "document": json.dumps(document, indent=2, ensure_ascii=False) if document else "",
    }
