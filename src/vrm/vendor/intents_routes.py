"""The JSON API of intentcasting: intents matched by exchanges, offers, the exchanges.

Included by :func:`vrm.vendor.api.create_vendor_app` under ``/api`` with the bearer
token; errors are problem+json like the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.intents import INTENT_STATES, OFFER_STATES
from vrm.vendor.offers import OfferRequest

router = APIRouter(prefix="/api")
INTENT_STATE = f"^({'|'.join(INTENT_STATES)})$"
OFFER_STATE = f"^({'|'.join(OFFER_STATES)})$"


def _endpoint(request: Request) -> VendorEndpoint:
    endpoint: VendorEndpoint = request.app.state.endpoint
    return endpoint


@router.get("/intents", tags=["intents"])
async def list_intents(
    request: Request, state: Annotated[str | None, Query(pattern=INTENT_STATE)] = None
) -> list[dict[str, Any]]:
    """Intents the exchanges matched to this vendor, with what each person wants."""
    return await run_in_threadpool(_endpoint(request).intents.intents, state=state)


@router.get("/intents/{intent_id}", tags=["intents"])
async def show_intent(request: Request, intent_id: int) -> dict[str, Any]:
    """One intent: the demand as the person wrote it, their signed intent, the offers made."""
    return await run_in_threadpool(_endpoint(request).intents.intent, intent_id)


@router.post("/intents/{intent_id}/offers", tags=["intents"], status_code=201)
async def make_offer(request: Request, intent_id: int, offer: OfferRequest) -> dict[str, Any]:
    """Offer to the person behind the intent: signed, encrypted to them, posted to its mailbox.

    Answers ``409`` when the intent was withdrawn or has expired, ``502`` when the
    exchange did not take the offer (its answer is in ``detail``).
    """
    return await _endpoint(request).exchanges.offer(intent_id, offer)


@router.get("/offers", tags=["intents"])
async def list_offers(
    request: Request,
    state: Annotated[str | None, Query(pattern=OFFER_STATE)] = None,
    intent: int | None = None,
) -> list[dict[str, Any]]:
    """The offers made, oldest first; ``?state=accepted`` or ``?intent=N`` to narrow.

    An accepted offer names its ``customer``: the DID of the person's relationship
    (``/api/customers/{did}`` once their request has come).
    """
    endpoint = _endpoint(request)
    return await run_in_threadpool(lambda: endpoint.intents.offers(state=state, intent=intent))


@router.get("/exchanges", tags=["intents"])
async def list_exchanges(request: Request) -> list[dict[str, Any]]:
    """The exchanges of the settings: subscribed or not, the fetch cursor, the last error."""
    return await run_in_threadpool(_endpoint(request).exchanges.status)
