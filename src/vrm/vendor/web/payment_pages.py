"""The console's Payments page: what people paid and the terms that came with each payment."""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.payments import ReceivedPayment
from vrm.web.sessions import Session
from vrm.web.site import Site

PAYMENTS = "/console/payments"
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


def payment_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET /console/payments[?month=YYYY-MM]."""
    router = APIRouter(include_in_schema=False)

    @router.get(PAYMENTS)
    async def payments_page(
        month: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        chosen = month if _MONTH.fullmatch(month) else None
        received = await run_in_threadpool(endpoint.payments.received, chosen)
        return site.pages.render(
            "payments.html",
            session=session,
            current="payments",
            payments=received,
            month=chosen,
            totals=_totals(received),
            terms=_terms(received),
        )

    return router


def _totals(received: list[ReceivedPayment]) -> list[tuple[str, Decimal]]:
    """What was paid, by currency."""
    sums: dict[str, Decimal] = {}
    for payment in received:
        sums[payment.currency] = sums.get(payment.currency, Decimal(0)) + Decimal(payment.amount)
    return sorted(sums.items())


def _terms(received: list[ReceivedPayment]) -> list[tuple[str, int]]:
    """Each term people paid under, with how many payments carry it, most first."""
    counts: dict[str, int] = {}
    for payment in received:
        for term in payment.terms:
            counts[term] = counts.get(term, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
