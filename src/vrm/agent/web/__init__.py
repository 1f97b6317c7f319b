"""The person's pages, served by the agent beside its API (same origin).

Modules: ``sign_in`` (the passphrase check), ``attention``
(what Home shows), ``routes`` (sign-in, sign-out, Home), one module of routes per
page, and this module's :func:`install_web`, which puts them on the app. What
every set of pages shares (sessions, CSRF, headers, templates) is in :mod:`vrm.web`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from vrm.agent.api.payments_routes import app_provider
from vrm.agent.errors import AgentError
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.payments_pages import payments_routes
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
    payments_desk: PaymentsDesk | None = None,
) -> None:
    """Serve the person's pages at ``/`` and their assets at ``/static`` on ``app``.

    ``payments_desk`` is the app's (which ``vrm up`` also runs in its housekeeping);
    without one, the pages make their own.
    """
    site = Site.of(TEMPLATES)
    guard = SignInGuard(passphrase_opens(agent.engine), limits or SignInLimits())
    app.include_router(
        page_routes(site=site, agent=agent, desk=desk, guard=guard, database=database)
    )
    app.include_router(
        payments_routes(
            site=site,
            agent=agent,
            desk=payments_desk or PaymentsDesk(agent),
            provider=lambda: app_provider(app, agent),
        )
    )
    site.install(app)
    answer_pages_in_html(
        app,
        site,
        is_page=is_page,
        known=[(AgentError, _agent_error), (ValueError, _bad_value)],
    )


NOT_PAGES = (
    "/api/",
    "/inbox",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/static/",
    "/reviews",  # the public review feed (JSON, for anyone)
)


def is_page(path: str) -> bool:
    """Whether ``path`` is one of the person's pages (not the API, inbox or assets).

    ``/health`` is the liveness check; the Health pages are under ``/health-records``.
    """
    return not path.startswith(NOT_PAGES) and path not in ("/api", "/health")


def _agent_error(exc: Exception) -> tuple[int, str]:
    status = exc.status if isinstance(exc, AgentError) else 400
    return status, sentence(str(exc))


def _bad_value(exc: Exception) -> tuple[int, str]:
    return 422, sentence(str(exc))
