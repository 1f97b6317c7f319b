"""Errors on the console's pages answered as pages; the API's stay problem+json.

The endpoint's app maps every error to an RFC 9457 document, which is right for
``/api`` and the inbox but not for a person at a browser. For the console's paths
these handlers render a page saying what went wrong in words; for every other
path they hand the error to the handler the app had before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from vrm.vendor.errors import VendorError
from vrm.web.site import SIGN_IN, Site

log = logging.getLogger(__name__)

CONSOLE = "/console"
SIGN_OUT = "/sign-out"
Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def is_console(path: str) -> bool:
    """Whether ``path`` is one of the console's pages (the root leads to them)."""
    return path in ("/", CONSOLE, SIGN_IN, SIGN_OUT) or path.startswith(CONSOLE + "/")


def answer_pages_in_html(app: FastAPI, site: Site) -> None:
    """Render the errors of the console's paths as pages; leave the others to ``app``'s."""
    for kind in (StarletteHTTPException, RequestValidationError, VendorError, Exception):
        app.add_exception_handler(kind, _either(site, app.exception_handlers.get(kind)))


def _either(site: Site, before: Handler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_console(request.url.path) or before is None:
            return _page(site, request, exc)
        answered = before(request, exc)
        return answered if isinstance(answered, Response) else await answered

    return handle


def _page(site: Site, request: Request, exc: Exception) -> Response:
    status, message = _said(exc)
    if status == 500:
        log.exception("the console could not show %s", request.url.path, exc_info=exc)
    visitor = site.visitor(request)
    return site.pages.render(
        "problem.html",
        status=status,
        session=visitor if visitor is not None and visitor.signed_in else None,
        status_code=status,
        message=message,
    )


def _said(exc: Exception) -> tuple[int, str]:
    """The status and a sentence for the person at the browser."""
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return 404, "There is no such page in the console."
        if exc.status_code == 405:
            return 405, "This page does not take that kind of request."
        return exc.status_code, "The console could not take this request."
    if isinstance(exc, RequestValidationError):
        return 404, "There is no such page in the console: check the address."
    if isinstance(exc, VendorError):
        return exc.status, sentence(str(exc))
    return 500, "The console could not show this page. What went wrong is in the endpoint's log."


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first, a full stop last."""
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "?", "!")) else ".")
