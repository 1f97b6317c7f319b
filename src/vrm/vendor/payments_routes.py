"""The JSON API of payments people told the endpoint of (EmanciPay).

Included by :func:`vrm.vendor.api.create_vendor_app` under ``/api`` with the bearer
token; errors are problem+json like the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from vrm.vendor.endpoint import VendorEndpoint

router = APIRouter(prefix="/api")
MONTH = r"^[0-9]{4}-(0[1-9]|1[0-2])$"


@router.get("/payments", tags=["payments"])
async def list_payments(
    request: Request, month: Annotated[str | None, Query(pattern=MONTH)] = None
) -> list[dict[str, Any]]:
    """Payments people told this endpoint of, newest first, each with the payer's terms."""
    endpoint: VendorEndpoint = request.app.state.endpoint
    found = await run_in_threadpool(endpoint.payments.received, month)
    return [payment.as_json() for payment in found]
