"""The JSON API of health records customers present to the vendor as their doctor.

Included by :func:`vrm.vendor.api.create_vendor_app` under ``/api`` with the bearer
token; errors are problem+json like the rest of the API. Only presentations whose
grant still runs are ever answered: a withdrawn or ended one is gone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from vrm.vendor.endpoint import VendorEndpoint

router = APIRouter(prefix="/api")


@router.get("/customers/{did}/health", tags=["health"])
async def presented(request: Request, did: str) -> list[dict[str, Any]]:
    """The health records the customer presents to you now, oldest first.

    Each presentation: its id, the purpose, its FHIR Bundle (type ``collection``),
    ``valid_until`` (RFC 3339) and the seconds left; ``404`` for an unknown customer.
    """
    endpoint: VendorEndpoint = request.app.state.endpoint
    held = await run_in_threadpool(endpoint.health.held, did)
    now = endpoint.health.clock()
    return [presentation.as_json(now) for presentation in held]
