"""Errors on the console's pages answered as pages; the API's stay problem+json."""

from __future__ import annotations

from fastapi import FastAPI

from vrm.vendor.errors import VendorError
from vrm.web import errors
from vrm.web.errors import sentence
from vrm.web.site import SIGN_IN, Site

CONSOLE = "/console"
SIGN_OUT = "/sign-out"


def is_console(path: str) -> bool:
    """Whether ``path`` is one of the console's pages (the root leads to them)."""
    return path in ("/", CONSOLE, SIGN_IN, SIGN_OUT) or path.startswith(CONSOLE + "/")


def _vendor_error(exc: Exception) -> tuple[int, str]:
    status = exc.status if isinstance(exc, VendorError) else 400
    return status, sentence(str(exc))


def answer_pages_in_html(app: FastAPI, site: Site) -> None:
    """Render the errors of the console's paths as pages; leave the others to ``app``'s."""
    errors.answer_pages_in_html(app, site, is_page=is_console, known=[(VendorError, _vendor_error)])
