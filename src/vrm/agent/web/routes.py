"""The pages: sign-in, sign-out and Home. Thin: read the form, call a service, render.

Every page but sign-in needs a signed-in session (otherwise: to the sign-in page);
every POST checks the session's CSRF token before anything else.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from vrm.agent.intents.desk import IntentDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.web.attention import attention
from vrm.agent.web.forms import check_csrf, read_form
from vrm.agent.web.security import secure
from vrm.agent.web.sessions import COOKIE, Session, SessionStore
from vrm.agent.web.sign_in import SignInGuard, TooManyAttempts
from vrm.agent.web.templates import Pages

SIGN_IN = "/sign-in"
HOME = "/"


class SignInRequired(Exception):
    """The page needs a signed-in session and the request has none."""


def page_routes(
    *,
    agent: PersonalAgent,
    desk: IntentDesk,
    pages: Pages,
    sessions: SessionStore,
    guard: SignInGuard,
) -> APIRouter:
    """The router of the person's pages."""
    router = APIRouter(include_in_schema=False)

    async def signed_in(request: Request) -> Session:
        # async: the session store is only ever touched on the event loop.
        session = sessions.find(request.cookies.get(COOKIE))
        if session is None or not session.signed_in:
            raise SignInRequired
        return session

    @router.get(SIGN_IN)
    async def sign_in_page(request: Request) -> Response:
        session = sessions.find(request.cookies.get(COOKIE))
        if session is not None and session.signed_in:
            return redirect(HOME)
        if session is None:
            session = sessions.start()
        response = pages.render("sign_in.html", form_session=session, error=None)
        set_cookie(response, request, session)
        return response

    @router.post(SIGN_IN)
    async def sign_in(request: Request) -> Response:
        visitor = sessions.find(request.cookies.get(COOKIE))
        fields = await read_form(request)
        check_csrf(visitor, fields)
        assert visitor is not None  # noqa: S101 - check_csrf refuses a form without one
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
            return pages.render(
                "sign_in.html",
                status=401,
                form_session=visitor,
                error="That passphrase does not open your agent. Try again.",
            )
        # A new id once signed in: an id seen before sign-in never becomes a key.
        sessions.end(visitor.id)
        session = sessions.start(signed_in=True)
        response = redirect(HOME)
        set_cookie(response, request, session)
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        session = sessions.find(request.cookies.get(COOKIE))
        fields = await read_form(request)
        check_csrf(session, fields)
        assert session is not None  # noqa: S101 - check_csrf refuses a form without one
        sessions.end(session.id)
        response = redirect(SIGN_IN)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @router.get(HOME)
    def home(session: Session = Depends(signed_in)) -> Response:  # noqa: B008
        # (Depends as a default: an Annotated alias made in here is not seen by FastAPI,
        # which resolves the postponed annotations in the module's globals.)
        # A plain def: FastAPI runs it in its thread pool, off the event loop.
        return pages.render(
            "home.html", session=session, current="home", seen=attention(agent, desk)
        )

    return router


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
