"""What every set of pages shares: sessions, the signed-in check, forms, redirects.

A service (the person's agent, the vendor's console) makes one :class:`Site`,
builds its routers with it, and calls :meth:`Site.install` on its app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from vrm.web.forms import FormRefused, check_csrf, read_form
from vrm.web.pages import STATIC, Pages
from vrm.web.security import SecurityHeaders, secure
from vrm.web.sessions import COOKIE, Session, SessionStore
from vrm.web.sign_in import SignInGuard, TooManyAttempts

SIGN_IN = "/sign-in"


class SignInRequired(Exception):
    """The page needs a signed-in session and the request has none."""


@dataclass
class Site:
    """The pages of one service and the sessions of its visitors."""

    pages: Pages
    sessions: SessionStore = field(default_factory=SessionStore)
    home: str = "/"
    cookie: str = COOKIE
    """The session cookie's name: one per service, since browsers share cookies across
    the ports of one host (an agent and a vendor's console on 127.0.0.1)."""

    @classmethod
    def of(cls, templates: Path, *, home: str = "/", cookie: str = COOKIE) -> Site:
        """A site rendering ``templates`` (then the shared ones), sessions in memory."""
        return cls(Pages(templates), home=home, cookie=cookie)

    async def signed_in(self, request: Request) -> Session:
        """FastAPI dependency: the request's signed-in session.

        Async: the session store is only ever touched on the event loop.

        Raises:
            SignInRequired: no session, or not signed in (the page answers with
                a redirect to the sign-in page).
        """
        session = self.sessions.find(request.cookies.get(self.cookie))
        if session is None or not session.signed_in:
            raise SignInRequired
        return session

    def visitor(self, request: Request) -> Session | None:
        """The request's session, signed in or not; None without one."""
        return self.sessions.find(request.cookies.get(self.cookie))

    async def form(self, request: Request, session: Session | None = None) -> dict[str, str]:
        """The submitted fields, once the form's CSRF token is the session's.

        Raises:
            FormRefused: no session, no or wrong token, or an unreadable form.
        """
        fields = await read_form(request)
        check_csrf(session if session is not None else self.visitor(request), fields)
        return fields

    def sign_in_page(self, request: Request, render: Callable[[Session], Response]) -> Response:
        """The sign-in page ``render`` makes for the visitor; one signed in already goes home.

        A visitor gets a session before signing in, for the form's CSRF token.
        """
        visitor = self.visitor(request)
        if visitor is not None and visitor.signed_in:
            return redirect(self.home)
        visitor = visitor or self.sessions.start()
        response = render(visitor)
        self.set_cookie(response, request, visitor)
        return response

    async def sign_in(
        self,
        request: Request,
        guard: SignInGuard,
        *,
        field: str,
        refused: Callable[[Session | None, int, str, dict[str, str]], Response],
        wrong: str,
        secrets: str,
    ) -> Response:
        """Check the sign-in form's ``field`` with ``guard``; signed in, go home.

        A wrong secret, or too many in a row, is answered by ``refused(visitor,
        status, message, headers)``: the form again with the message — ``wrong``,
        or a wait, naming ``secrets`` ("passphrases"). A new session id at
        sign-in: an id seen before signing in never becomes a key.
        """
        fields = await self.form(request)
        visitor = self.visitor(request)
        try:
            right = await guard.attempt(fields.get(field, ""))
        except TooManyAttempts as stopped:
            wait = f"{stopped.retry_after:.0f}"
            message = f"Too many wrong {secrets}. Try again in {wait} seconds."
            return refused(visitor, 429, message, {"Retry-After": wait})
        if not right:
            # 422: the form was read, and what it holds does not open the service.
            return refused(visitor, 422, wrong, {})
        if visitor is not None:
            self.sessions.end(visitor.id)
        session = self.sessions.start(signed_in=True)
        response = redirect(self.home)
        self.set_cookie(response, request, session)
        return response

    async def sign_out(self, request: Request) -> Response:
        """End the session that sent the sign-out form, and go back to the sign-in page."""
        await self.form(request)
        visitor = self.visitor(request)
        if visitor is not None:
            self.sessions.end(visitor.id)
        response = redirect(SIGN_IN)
        response.delete_cookie(self.cookie, path="/", httponly=True, samesite="strict")
        return response

    def set_cookie(self, response: Response, request: Request, session: Session) -> None:
        """The session cookie: out of scripts' reach, never sent by another site."""
        response.set_cookie(
            self.cookie,
            session.id,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

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
