"""The person's pages: sign-in, sign-out and Home, and the routers of the other pages.

Thin: read the form, call a service, render. Every page but sign-in needs a
signed-in session (otherwise: to the sign-in page); every POST checks the
session's CSRF token before anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.attention import attention
from vrm.agent.web.audit_pages import audit_routes
from vrm.agent.web.health_pages import health_routes
from vrm.agent.web.intent_pages import intent_routes
from vrm.agent.web.loyalty_pages import loyalty_routes
from vrm.agent.web.profile_pages import profile_routes
from vrm.agent.web.records_pages import records_routes
from vrm.agent.web.reviews_pages import reviews_routes
from vrm.agent.web.settings_pages import settings_routes
from vrm.agent.web.terms_pages import terms_routes
from vrm.agent.web.vendor_pages import vendor_routes
from vrm.web.sessions import Session
from vrm.web.sign_in import SignInGuard
from vrm.web.site import SIGN_IN, SignInForm, Site

HOME = "/"


def page_routes(
    *,
    site: Site,
    agent: PersonalAgent,
    desk: IntentDesk,
    guard: SignInGuard,
    database: Path,
) -> APIRouter:
    """The router of the person's pages."""
    router = APIRouter(include_in_schema=False)
    pages = site.pages

    def sign_in_form(
        form: SignInForm, status: int = 200, error: str | None = None, headers: Any = None
    ) -> Response:
        return pages.render(
            "sign_in.html", status=status, headers=headers, form_session=form, error=error
        )

    @router.get(SIGN_IN)
    async def sign_in_page(request: Request) -> Response:
        return site.sign_in_page(request, sign_in_form)

    @router.post(SIGN_IN)
    async def sign_in(request: Request) -> Response:
        return await site.sign_in(
            request,
            guard,
            field="passphrase",
            refused=sign_in_form,
            wrong="That passphrase does not open your agent. Try again.",
            guessed="passphrases",
        )

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        return await site.sign_out(request)

    @router.get(HOME)
    def home(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        # (Depends as a default: an Annotated alias made in here is not seen by FastAPI,
        # which resolves the postponed annotations in the module's globals.)
        # A plain def: FastAPI runs it in its thread pool, off the event loop.
        return pages.render(
            "home.html", session=session, current="home", seen=attention(agent, desk)
        )

    router.include_router(audit_routes(site=site, agent=agent))
    router.include_router(records_routes(site=site, agent=agent))
    router.include_router(reviews_routes(site=site, agent=agent))
    router.include_router(health_routes(site=site, agent=agent))
    router.include_router(loyalty_routes(site=site, agent=agent))
    router.include_router(terms_routes(site=site, agent=agent))
    router.include_router(settings_routes(site=site, agent=agent, database=database))
    router.include_router(intent_routes(site=site, agent=agent, desk=desk))
    router.include_router(profile_routes(site=site, agent=agent))
    router.include_router(vendor_routes(site=site, agent=agent))
    return router
