"""The Demand page: an exchange's demand signals for one closed day, drawn on the server.

The page asks the exchange chosen (one of the settings') for the day and category
chosen — by default yesterday, under the first category the endpoint subscribed
to there — and draws the counts per category, and per price band, as SVG bar
charts with the same numbers in tables. An exchange serves a release it made once
again at no cost to its privacy budget, so looking again costs nothing.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from starlette.responses import Response

from vrm.vendor.config import ExchangeSettings
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.web.demand import (
    DemandUnavailable,
    Release,
    bar_chart,
    fetch_release,
    period_problem,
    yesterday,
)
from vrm.web.sessions import Session
from vrm.web.site import Site

DEMAND = "/console/demand"
EVERY_CATEGORY = ""


def demand_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET /console/demand?exchange=URL&category=PREFIX&period=YYYY-MM-DD."""
    router = APIRouter(include_in_schema=False)
    exchanges = endpoint.settings.exchanges

    @router.get(DEMAND)
    async def demand_page(
        exchange: str = "",
        category: str | None = None,
        period: str = "",
        session: Session = Depends(site.signed_in),  # noqa: B008
    ) -> Response:
        now = time.time()
        chosen = next((e for e in exchanges if e.url == exchange), None) or (
            exchanges[0] if exchanges else None
        )
        choices = _categories(chosen)
        if category is None or category not in choices:
            category = choices[1] if len(choices) > 1 else EVERY_CATEGORY
        period = period.strip() or yesterday(now)
        errors: dict[str, str] = {}
        if (problem := period_problem(period, now=now)) is not None:
            errors["period"] = problem
        release: Release | None = None
        unavailable = None
        if chosen is not None and not errors:
            try:
                release = await fetch_release(
                    endpoint.exchanges.sender.transport,
                    chosen.url,
                    category=category or None,
                    period=period,
                )
            except DemandUnavailable as exc:
                unavailable = str(exc)
        charts = []
        per_category = release.per_category() if release is not None else []
        if release is not None:
            charts = [
                bar_chart(
                    [(demand.category, demand.count) for demand in per_category],
                    id="per-category",
                    title=f"Intents per category, {release.period}",
                    unit="intents",
                ),
                bar_chart(
                    release.per_price_band(),
                    id="per-price",
                    title=f"Intents per highest price, {release.period}",
                    unit="intents",
                ),
            ]
        return site.pages.render(
            "demand.html",
            session=session,
            current="demand",
            exchanges=exchanges,
            exchange=chosen,
            categories=choices,
            category=category,
            period=period,
            latest=yesterday(now),
            errors=errors,
            unavailable=unavailable,
            release=release,
            per_category=per_category,
            charts=charts,
        )

    return router


def _categories(exchange: ExchangeSettings | None) -> list[str]:
    """Every category (``""``), then the categories subscribed to at ``exchange``."""
    return [EVERY_CATEGORY, *(exchange.categories if exchange is not None else [])]
