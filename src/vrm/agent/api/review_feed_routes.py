"""The person's public review feed, served to anyone by ``vrm up``: no token, no session.

``GET /reviews`` (the feed) and ``GET /reviews/{uuid}`` (one review) are read-only
and answer only while the person has the feed on — otherwise, like a review that
is not public, a 404 problem that says no more. They carry the reviews as signed
and the reviewer DID, never a relationship DID or anything of the profile. Any
site may read them (CORS, GET only); caches may keep them a minute and revalidate
with the ETag or Last-Modified. A single review whose author reserved text and
data mining also says so in the TDMRep header (``tdm-reservation: 1``).
"""

from __future__ import annotations

import email.utils
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response

from vrm.agent.api.reviews_routes import desk_of
from vrm.agent.reviews.feed import FEED_PATH, Served
from vrm.transport.app import problem_response
from vrm.transport.problems import NOT_FOUND

router = APIRouter(tags=["public reviews"])
CACHE = "public, max-age=60"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, tdm-reservation",
}
PREFLIGHT = {
    **CORS,
    "Access-Control-Allow-Methods": "GET, HEAD",
    "Access-Control-Allow-Headers": "If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}
Uuid = Annotated[
    str, Path(pattern="^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


@router.api_route(FEED_PATH, methods=["GET", "HEAD"], response_class=JSONResponse)
def feed(request: Request) -> Response:
    """The reviews the person published, each as signed, and the reviewer DID (no token).

    ``404`` while the person has the feed off.
    """
    served = desk_of(request).served_feed()
    if served is None:
        return _absent(request, "this agent publishes no reviews")
    return _answer(request, served)


@router.api_route(
    FEED_PATH + "/{review_uuid}", methods=["GET", "HEAD"], response_class=JSONResponse
)
def one_review(request: Request, review_uuid: Uuid) -> Response:
    """One published review, as signed, by the UUID of its ``@id`` (no token)."""
    served = desk_of(request).served_review(review_uuid)
    if served is None:
        return _absent(request, "this agent publishes no such review")
    return _answer(request, served)


@router.options(FEED_PATH, include_in_schema=False)
@router.options(FEED_PATH + "/{review_uuid}", include_in_schema=False)
def preflight() -> Response:
    """What a browser asks before a conditional GET from another site: GET is allowed."""
    return Response(status_code=204, headers=PREFLIGHT)


def _answer(request: Request, served: Served) -> Response:
    headers = {
        **CORS,
        "ETag": served.etag,
        "Last-Modified": email.utils.formatdate(served.last_modified, usegmt=True),
        "Cache-Control": CACHE,
        "X-Content-Type-Options": "nosniff",
    }
    if served.reserved:
        headers["tdm-reservation"] = "1"
    if _unchanged(request, served):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else served.body
    return Response(body, media_type="application/json", headers=headers)


def _unchanged(request: Request, served: Served) -> bool:
    """The reader's copy is current (RFC 9110 13.1: If-None-Match wins over If-Modified-Since)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or served.etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        parsed = email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return int(served.last_modified) <= parsed.timestamp()


def _absent(request: Request, detail: str) -> Response:
    return problem_response(NOT_FOUND, detail, instance=request.url.path, status=404, headers=CORS)
