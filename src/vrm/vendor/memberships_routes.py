"""The JSON API of memberships: issue, list, revoke, and verify what a customer shows.

Included by :func:`vrm.vendor.api.create_vendor_app` under ``/api`` with the bearer
token. A refused membership code is a problem+json (422, ``membership_refused``)
whose ``reason`` says why: ``tampered``, ``another_vendor``, ``wrong_holder``,
``wrong_audience``, ``stale``, ``not_yet_valid``, ``expired``, ``revoked``,
``superseded``, ``replayed`` or ``malformed``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from vrm.protocol import MembershipRefused
from vrm.transport.problems import PROBLEM_CONTENT_TYPE, problem
from vrm.vendor.checkout import verdict
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.memberships import MembershipRequest

router = APIRouter(prefix="/api")
REFUSED = "membership_refused"


class Scanned(BaseModel):
    """The text a scanner read from the customer's QR code (``VRM1.…``)."""

    model_config = ConfigDict(extra="forbid")

    presentation: Annotated[str, Field(max_length=4096)]


class Revocation(BaseModel):
    """Why the membership ends, for the person (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(max_length=1024)] | None = None


def _endpoint(request: Request) -> VendorEndpoint:
    endpoint: VendorEndpoint = request.app.state.endpoint
    return endpoint


@router.post("/customers/{did}/memberships", tags=["memberships"], status_code=202)
async def issue(request: Request, did: str, membership: MembershipRequest) -> dict[str, Any]:
    """Issue the customer a signed membership credential (or issue it again: a new tier).

    The credential goes to the person encrypted; issuing again in the same program keeps
    the credential's id and member number. ``409`` when the relationship is not accepted,
    was ended by the person or erased; ``422`` for a value the credential cannot take.
    """
    endpoint = _endpoint(request)
    issued = await run_in_threadpool(endpoint.memberships.issue, did, membership)
    endpoint.worker.wake()
    return issued


@router.get("/customers/{did}/memberships", tags=["memberships"])
async def customer_memberships(request: Request, did: str) -> list[dict[str, Any]]:
    """The customer's memberships, oldest first, each with its credential and delivery."""
    return await run_in_threadpool(_endpoint(request).memberships.of_customer, did)


@router.get("/memberships", tags=["memberships"])
async def all_memberships(request: Request) -> list[dict[str, Any]]:
    """Every membership issued, the latest changed first."""
    return await run_in_threadpool(_endpoint(request).memberships.listed)


@router.post("/memberships/verify", tags=["memberships"], response_model=None)
async def verify(request: Request, scanned: Scanned) -> dict[str, Any] | JSONResponse:
    """Verify a membership code a customer shows: ``{valid, member}``, or why it is refused.

    Offline: the endpoint's own signature, the dates, the holder's proof (its key, this
    vendor, made within two minutes, not seen before), and the vendor's own list of
    revoked and replaced credentials.
    """
    checkout = _endpoint(request).checkout
    try:
        checked = await run_in_threadpool(checkout.verify, scanned.presentation)
    except MembershipRefused as refused:
        status, document = problem(REFUSED, refused.detail, instance=request.url.path, status=422)
        document["reason"] = refused.reason.value
        return JSONResponse(document, status_code=status, media_type=PROBLEM_CONTENT_TYPE)
    return verdict(checked)


@router.post("/memberships/{credential_id}/revoke", tags=["memberships"])
async def revoke(
    request: Request,
    credential_id: str,
    revocation: Annotated[Revocation | None, Body()] = None,
) -> dict[str, Any]:
    """Revoke a membership: checkouts refuse its credential from now on; the person is told."""
    endpoint = _endpoint(request)
    reason = None if revocation is None else revocation.reason
    revoked = await run_in_threadpool(
        lambda: endpoint.memberships.revoke(credential_id, reason=reason)
    )
    endpoint.worker.wake()
    return revoked
