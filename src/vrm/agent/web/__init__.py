"""The person's pages, served by the agent beside its API (same origin).

Modules: ``sign_in`` (the passphrase check), ``attention``
(what Home shows), ``routes`` (sign-in, sign-out, Home), one module of routes per
page, and this module's :func:`install_web`, which puts them on the app. What
every set of pages shares (sessions, CSRF, headers, templates) is in :mod:`vrm.web`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from vrm.agent.errors import AgentError
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.routes import page_routes
from vrm.agent.web.sign_in import passphrase_opens
from vrm.web.errors import answer_pages_in_html, sentence
from vrm.web.sign_in import SignInGuard, SignInLimits
from vrm.web.site import Site

__all__ = ["SignInLimits", "install_web"]

TEMPLATES = Path(__file__).with_name("templates")


def install_web(
    app: FastAPI,
    *,
    agent: PersonalAgent,
    desk: IntentDesk,
    database: Path,
    limits: SignInLimits | None = None,
) -> None:
    """Serve the person's pages at ``/`` and their assets at ``/static`` on ``app``."""
    site = Site.of(TEMPLATES)
    guard = SignInGuard(passphrase_opens(agent.engine), limits or SignInLimits())
    app.include_router(
        page_routes(site=site, agent=agent, desk=desk, guard=guard, database=database)
    )
    site.install(app)
    answer_pages_in_html(
        app,
        site,
        is_page=is_page,
        known=[(AgentError, _agent_error), (ValueError, _bad_value)],
    )


NOT_PAGES = ("/api/", "/inbox", "/docs", "/redoc", "/openapi.json", "/health", "/static/")


def is_page(path: str) -> bool:
    """Whether ``path`` is one of the person's pages (not the API, inbox or assets)."""
    return not path.startswith(NOT_PAGES) and path != "/api"


def _agent_error(exc: Exception) -> tuple[int, str]:
    status = exc.status if isinstance(exc, AgentError) else 400
    return status, sentence(str(exc))


def _bad_value(exc: Exception) -> tuple[int, str]:
    return 422, sentence(str(exc))
