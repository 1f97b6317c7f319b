"""The console's sign-in, sign-out and way in, and the routers of its pages.

Thin: read the form, call the endpoint, render. Every page but sign-in needs a
signed-in session (otherwise: to the sign-in page); every POST checks the
session's CSRF token before anything else.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.web.customer_pages import customer_routes
from vrm.vendor.web.demand_pages import demand_routes
from vrm.vendor.web.errors import CONSOLE, SIGN_OUT
from vrm.vendor.web.health_pages import health_routes
from vrm.vendor.web.intent_pages import intent_routes
from vrm.vendor.web.membership_pages import membership_routes
from vrm.vendor.web.payment_pages import payment_routes
from vrm.vendor.web.review_pages import review_routes
from vrm.web.sign_in import SignInGuard
from vrm.web.site import SIGN_IN, SignInForm, Site, redirect


def token_matches(api_token: str) -> Callable[[str], bool]:
    """A check that is True for the endpoint's API token alone (compared in constant time)."""
    expected = api_token.encode()

    def check(presented: str) -> bool:
        presented = presented.strip()
        return bool(presented) and hmac.compare_digest(presented.encode(), expected)

    return check


def console_routes(*, site: Site, endpoint: VendorEndpoint, guard: SignInGuard) -> APIRouter:
    """The router of the console: sign-in and sign-out, then every page."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    @router.get("/")
    @router.get(CONSOLE)
    async def way_in() -> Response:
        return redirect(site.home)

    def sign_in_form(
        form: SignInForm, status: int = 200, error: str | None = None, headers: Any = None
    ) -> Response:
        return pages.render(
            "sign_in.html",
            status=status,
            headers=headers,
            form_session=form,
            error=error,
            vendor=endpoint.settings.name,
        )

    @router.get(SIGN_IN)
    async def sign_in_page(request: Request) -> Response:
        return site.sign_in_page(request, sign_in_form)

    @router.post(SIGN_IN)
    async def sign_in(request: Request) -> Response:
        return await site.sign_in(
            request,
            guard,
            field="token",
            refused=sign_in_form,
            wrong="That is not this endpoint's API token. Try again.",
            guessed="tokens",
        )

    @router.post(SIGN_OUT)
    async def sign_out(request: Request) -> Response:
        return await site.sign_out(request)

    router.include_router(customer_routes(site=site, endpoint=endpoint))
    router.include_router(health_routes(site=site, endpoint=endpoint))
    router.include_router(intent_routes(site=site, endpoint=endpoint))
    router.include_router(membership_routes(site=site, endpoint=endpoint))
    router.include_router(demand_routes(site=site, endpoint=endpoint))
    router.include_router(payment_routes(site=site, endpoint=endpoint))
    router.include_router(review_routes(site=site, endpoint=endpoint))
    return router
