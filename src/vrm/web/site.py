"""What every set of pages shares: sessions, the signed-in check, forms, redirects.

A service (the person's agent, the vendor's console) makes one :class:`Site`,
builds its routers with it, and calls :meth:`Site.install` on its app.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from vrm.web.forms import CSRF_FIELD, MAX_FORM_BYTES, FormRefused, check_csrf, read_form
from vrm.web.pages import STATIC, Pages
from vrm.web.security import SecurityHeaders, secure
from vrm.web.sessions import COOKIE, Session, SessionStore
from vrm.web.sign_in import SignInGuard, TooManyAttempts

SIGN_IN = "/sign-in"


@dataclass(frozen=True)
class SignInForm:
    """What the sign-in form carries before there is a session: its CSRF token."""

    csrf_token: str


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

    async def form(
        self, request: Request, session: Session | None = None, *, limit: int = MAX_FORM_BYTES
    ) -> dict[str, str]:
        """The submitted fields, once the form's CSRF token is the session's.

        Raises:
            FormRefused: no session, no or wrong token, or an unreadable form.
            FormTooLarge: the form is larger than ``limit`` bytes.
        """
        fields = await read_form(request, limit=limit)
        check_csrf(session if session is not None else self.visitor(request), fields)
        return fields

    @property
    def sign_in_cookie(self) -> str:
        """The cookie that carries the sign-in form's CSRF token (double submit)."""
        return f"{self.cookie}_sign_in"

    def sign_in_page(self, request: Request, render: Callable[[SignInForm], Response]) -> Response:
        """The sign-in page ``render`` makes; a visitor signed in already goes home.

        Before signing in there is no session: the form's CSRF token is also set in
        a cookie of its own (SameSite=Strict, HttpOnly), and a POST must carry both,
        equal. Nothing is kept per visitor, so no number of visitors can crowd out
        the person's sign-in.
        """
        session = self.visitor(request)
        if session is not None and session.signed_in:
            return redirect(self.home)
        token = request.cookies.get(self.sign_in_cookie) or secrets.token_urlsafe(32)
        response = render(SignInForm(token))
        response.set_cookie(
            self.sign_in_cookie,
            token,
            path=SIGN_IN,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def sign_in(
        self,
        request: Request,
        guard: SignInGuard,
        *,
        field: str,
        refused: Callable[[SignInForm, int, str, dict[str, str]], Response],
        wrong: str,
        guessed: str,
    ) -> Response:
        """Check the sign-in form's ``field`` with ``guard``; signed in, go home.

        A wrong secret, or too many in a row, is answered by ``refused(form,
        status, message, headers)``: the form again with the message — ``wrong``,
        or a wait, naming what was ``guessed`` ("passphrases"). Signing in starts a new
        session under a new random id.

        Raises:
            FormRefused: the form's CSRF token is not the one of its cookie.
        """
        fields = await read_form(request)
        expected = request.cookies.get(self.sign_in_cookie, "")
        presented = fields.get(CSRF_FIELD, "")
        if not expected or not hmac.compare_digest(presented.encode(), expected.encode()):
            raise FormRefused("this form was not sent from your browser: open the page again")
        form = SignInForm(expected)
        try:
            right = await guard.attempt(fields.get(field, ""))
        except TooManyAttempts as stopped:
            wait = f"{stopped.retry_after:.0f}"
            message = f"Too many wrong {guessed}. Try again in {wait} seconds."
            return refused(form, 429, message, {"Retry-After": wait})
        if not right:
            # 422: the form was read, and what it holds does not open the service.
            return refused(form, 422, wrong, {})
        earlier = self.visitor(request)
        if earlier is not None:
            self.sessions.end(earlier.id)
        session = self.sessions.start(signed_in=True)
        response = redirect(self.home)
        self.set_cookie(response, request, session)
        response.delete_cookie(self.sign_in_cookie, path=SIGN_IN, httponly=True, samesite="strict")
        return response

    async def sign_out(self, request: Request) -> Response:
        """End the session that sent the sign-out form, and go back to the sign-in page.

        A session already over (idle too long) has nothing to end: straight to sign-in.
        """
        session = self.visitor(request)
        if session is not None:
            check_csrf(session, await read_form(request))
            self.sessions.end(session.id)
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
            return self.pages.render("refused.html", status=exc.status, reason=str(exc))


def redirect(to: str) -> RedirectResponse:
    """303 See Other to ``to``, with the security headers."""
    response = RedirectResponse(to, status_code=303)
    secure(response.headers)
    return response
