"""The vendor's console: pages served by the endpoint beside its API (same origin).

Signed in with the endpoint's API token, the vendor sees its customers and the
fields each granted, decides the relationships and terms its policies hold for
it, reads the agreements made, answers the intents exchanges matched with offers,
and sees the exchanges' demand signals as charts.

Modules: ``routes`` (sign-in, sign-out, the way in), ``customer_pages``,
``intent_pages`` and ``demand_pages`` (one router each), ``reading`` (what the
pages show of the store), ``offer_form`` (the compose-offer form), ``demand``
(demand signals fetched, laid out as bar charts), ``errors`` (errors of the
console's paths as pages), and this module's :func:`install_console`. What every
set of pages shares (sessions, CSRF, headers, the layout) is in :mod:`vrm.web`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.web.errors import answer_pages_in_html
from vrm.vendor.web.routes import console_routes, token_matches
from vrm.web.sign_in import SignInGuard, SignInLimits
from vrm.web.site import Site

__all__ = ["SignInLimits", "install_console"]

TEMPLATES = Path(__file__).with_name("templates")
HOME = "/console/customers"
COOKIE = "vrm_console_session"
TOKEN_SIGN_IN = SignInLimits(failure_delay=0.0, lockout=0.0)
"""The API token is 256 random bits: no pause or lockout makes guessing it any harder, and
on a port the public reaches (the inbox's) a lockout would let anyone shut the vendor out."""


def install_console(
    app: FastAPI, *, endpoint: VendorEndpoint, api_token: str, limits: SignInLimits | None = None
) -> None:
    """Serve the console under ``/console`` (sign-in at ``/sign-in``) on the endpoint's ``app``.

    Call it once the app's own error handlers are installed: the console answers the
    errors of its paths as pages and leaves every other path's to them.
    """
    site = Site.of(TEMPLATES, home=HOME, cookie=COOKIE)
    guard = SignInGuard(token_matches(api_token), limits or TOKEN_SIGN_IN)
    app.include_router(console_routes(site=site, endpoint=endpoint, guard=guard))
    site.install(app)
    answer_pages_in_html(app, site)
