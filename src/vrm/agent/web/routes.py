"""The person's pages: sign-in, sign-out and Home, and the routers of the other pages.

Thin: read the form, call a service, render. Every page but sign-in needs a
signed-in session (otherwise: to the sign-in page); every POST checks the
session's CSRF token before anything else.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.attention import attention
from vrm.agent.web.audit_pages import audit_routes
from vrm.agent.web.settings_pages import settings_routes
from vrm.agent.web.sign_in import SignInGuard, TooManyAttempts
from vrm.agent.web.terms_pages import terms_routes
from vrm.web.sessions import Session
from vrm.web.site import SIGN_IN, Site, redirect, set_cookie

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

    @router.get(SIGN_IN)
    async def sign_in_page(request: Request) -> Response:
        visitor = site.visitor(request)
        if visitor is not None and visitor.signed_in:
            return redirect(HOME)
        if visitor is None:
            visitor = site.sessions.start()
        response = pages.render("sign_in.html", form_session=visitor, error=None)
        set_cookie(response, request, visitor)
        return response

    @router.post(SIGN_IN)
    async def sign_in(request: Request) -> Response:
        fields = await site.form(request)
        visitor = site.visitor(request)
        try:
            right = await guard.attempt(fields.get("passphrase", ""))
        except TooManyAttempts as stopped:
            return pages.render(
                "sign_in.html",
                status=429,
                headers={"Retry-After": f"{stopped.retry_after:.0f}"},
                form_session=visitor,
                error=f"Too many wrong passphrases. Try again in {stopped.retry_after:.0f} "
                "seconds.",
            )
        if not right:
            # 422: the form was read, and what it holds does not open the agent.
            return pages.render(
                "sign_in.html",
                status=422,
                form_session=visitor,
                error="That passphrase does not open your agent. Try again.",
            )
        return site.sign_in(request, visitor)

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await site.form(request)
        visitor = site.visitor(request)
        assert visitor is not None  # noqa: S101 - the form's CSRF check needs a session
        return site.sign_out(visitor)

    @router.get(HOME)
    def home(session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        # (Depends as a default: an Annotated alias made in here is not seen by FastAPI,
        # which resolves the postponed annotations in the module's globals.)
        # A plain def: FastAPI runs it in its thread pool, off the event loop.
        return pages.render(
            "home.html", session=session, current="home", seen=attention(agent, desk)
        )

    router.include_router(audit_routes(site=site, agent=agent))
    router.include_router(terms_routes(site=site, agent=agent))
    router.include_router(settings_routes(site=site, agent=agent, database=database))
    return router
