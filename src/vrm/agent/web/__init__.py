"""The person's pages, served by the agent beside its API (same origin).

Modules: ``sessions`` (in-memory sessions), ``sign_in`` (passphrase check, slowed
against guessing), ``forms`` (form reading, CSRF), ``security`` (CSP and other
headers), ``templates`` (Jinja2), ``attention`` (what Home shows), ``routes``
(the pages), and this module's :func:`install_web`, which puts them on the app.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.forms import FormRefused
from vrm.agent.web.routes import SIGN_IN, SignInRequired, page_routes, redirect
from vrm.agent.web.security import SecurityHeaders
from vrm.agent.web.sessions import SessionStore
from vrm.agent.web.sign_in import SignInGuard, SignInLimits, passphrase_opens
from vrm.agent.web.templates import STATIC, Pages

__all__ = ["SignInLimits", "install_web"]


def install_web(
    app: FastAPI,
    *,
    agent: PersonalAgent,
    desk: IntentDesk,
    limits: SignInLimits | None = None,
) -> None:
    """Serve the person's pages at ``/`` and their assets at ``/static`` on ``app``."""
    pages = Pages()
    guard = SignInGuard(passphrase_opens(agent.engine), limits or SignInLimits())
    app.include_router(
        page_routes(agent=agent, desk=desk, pages=pages, sessions=SessionStore(), guard=guard)
    )
    app.mount("/static", SecurityHeaders(StaticFiles(directory=STATIC)), name="static")

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(_request: Request, _exc: SignInRequired) -> Response:
        return redirect(SIGN_IN)

    @app.exception_handler(FormRefused)
    async def _refused(_request: Request, exc: FormRefused) -> Response:
        return pages.render("refused.html", status=403, reason=str(exc))
