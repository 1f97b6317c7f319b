"""What every set of pages shares: sessions, the signed-in check, forms, redirects.

A service (the person's agent, the vendor's console) makes one :class:`Site`,
builds its routers with it, and calls :meth:`Site.install` on its app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from vrm.web.forms import FormRefused, check_csrf, read_form
from vrm.web.pages import STATIC, Pages
from vrm.web.security import SecurityHeaders, secure
from vrm.web.sessions import COOKIE, Session, SessionStore

SIGN_IN = "/sign-in"


class SignInRequired(Exception):
    """The page needs a signed-in session and the request has none."""


@dataclass
class Site:
    """The pages of one service and the sessions of its visitors."""

    pages: Pages
    sessions: SessionStore = field(default_factory=SessionStore)
    home: str = "/"

    @classmethod
    def of(cls, templates: Path, *, home: str = "/") -> Site:
        """A site rendering ``templates`` (then the shared ones), sessions in memory."""
        return cls(Pages(templates), home=home)

    async def signed_in(self, request: Request) -> Session:
        """FastAPI dependency: the request's signed-in session.

        Async: the session store is only ever touched on the event loop.

        Raises:
            SignInRequired: no session, or not signed in (the page answers with
                a redirect to the sign-in page).
        """
        session = self.sessions.find(request.cookies.get(COOKIE))
        if session is None or not session.signed_in:
            raise SignInRequired
        return session

    def visitor(self, request: Request) -> Session | None:
        """The request's session, signed in or not; None without one."""
        return self.sessions.find(request.cookies.get(COOKIE))

    async def form(self, request: Request, session: Session | None = None) -> dict[str, str]:
        """The submitted fields, once the form's CSRF token is the session's.

        Raises:
            FormRefused: no session, no or wrong token, or an unreadable form.
        """
        fields = await read_form(request)
        check_csrf(session if session is not None else self.visitor(request), fields)
        return fields

    def sign_in(self, request: Request, visitor: Session | None, to: str | None = None) -> Response:
        """Sign the visitor in under a new session id, and send them on to ``to``.

        A new id at sign-in: an id seen before signing in never becomes a key.
        """
        if visitor is not None:
            self.sessions.end(visitor.id)
        session = self.sessions.start(signed_in=True)
        response = redirect(to or self.home)
        set_cookie(response, request, session)
        return response

    def sign_out(self, session: Session) -> Response:
        """End ``session`` and go back to the sign-in page."""
        self.sessions.end(session.id)
        response = redirect(SIGN_IN)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    def install(self, app: FastAPI) -> None:
        """Serve the shared assets at ``/static`` and turn the pages' refusals into pages."""
        app.mount("/static", SecurityHeaders(StaticFiles(directory=STATIC)), name="static")

        @app.exception_handler(SignInRequired)
        async def _sign_in_first(_request: Request, _exc: SignInRequired) -> Response:
            return redirect(SIGN_IN)

        @app.exception_handler(FormRefused)
        async def _refused(_request: Request, exc: FormRefused) -> Response:
            return self.pages.render("refused.html", status=403, reason=str(exc))


def redirect(to: str) -> RedirectResponse:
    """303 See Other to ``to``, with the security headers."""
    response = RedirectResponse(to, status_code=303)
    secure(response.headers)
    return response


def set_cookie(response: Response, request: Request, session: Session) -> None:
    """The session cookie: out of scripts' reach, never sent by another site."""
    response.set_cookie(
        COOKIE,
        session.id,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
