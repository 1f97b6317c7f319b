"""Errors on a service's pages answered as pages; its API's stay problem+json.

A service maps every error to an RFC 9457 document, which is right for its API
and inbox but not for a person at a browser. For the paths of its pages these
handlers render a page saying what went wrong in words; for every other path
they hand the error to the handler the app had before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vrm.web.site import Site

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
Said = Callable[[Exception], tuple[int, str]]
"""The status and a sentence for the person, for one kind of error."""


def answer_pages_in_html(
    app: FastAPI,
    site: Site,
    *,
    is_page: Callable[[str], bool],
    known: Sequence[tuple[type[Exception], Said]] = (),
) -> None:
    """Render the errors of the paths ``is_page`` accepts as pages; leave others to ``app``'s.

    ``known`` says, per kind of error the service raises, its status and sentence;
    anything else on a page is a 500 page (logged), never a traceback.
    """
    sayers = [*known]
    kinds = [StarletteHTTPException, RequestValidationError, *(kind for kind, _ in known)]
    for kind in [*kinds, Exception]:
        before = app.exception_handlers.get(kind)
        app.add_exception_handler(kind, _either(site, is_page, sayers, before))


def _either(
    site: Site,
    is_page: Callable[[str], bool],
    known: list[tuple[type[Exception], Said]],
    before: Handler | None,
) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_page(request.url.path) or before is None:
            return _page(site, request, exc, known)
        answered = before(request, exc)
        return answered if isinstance(answered, Response) else await answered

    return handle


def _page(
    site: Site, request: Request, exc: Exception, known: list[tuple[type[Exception], Said]]
) -> Response:
    status, message = _said(exc, known)
    if status >= 500:
        log.error("could not show %s", request.url.path, exc_info=exc)
    visitor = site.visitor(request)
    return site.pages.problem(
        status=status,
        message=message,
        home=site.home,
        session=visitor if visitor is not None and visitor.signed_in else None,
    )


def _said(exc: Exception, known: list[tuple[type[Exception], Said]]) -> tuple[int, str]:
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return 404, "There is no such page."
        if exc.status_code == 405:
            return 405, "This page does not take that kind of request."
        return exc.status_code, "This request could not be taken."
    if isinstance(exc, RequestValidationError):
        return 404, "There is no such page: check the address."
    for kind, said in known:
        if isinstance(exc, kind):
            return said(exc)
    return 500, "This page could not be shown. What went wrong is in the service's log."


def sentence(text: str) -> str:
    """An error's message as a sentence: a capital first, a full stop last."""
    text = text.strip() or "That could not be done"
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
