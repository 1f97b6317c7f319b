"""Rendering pages: Jinja2 templates shipped in the package, HTML-escaped by default.

A service's own templates come first; this package's (the layout, the CSRF field,
the refusal page) are found after them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse, Response

from vrm.web.security import secure

if TYPE_CHECKING:
    from vrm.web.sessions import Session

SHARED_TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def when(epoch: float | None) -> str:
    """An epoch time as people read it, in the agent's local time."""
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def iso(epoch: float | None) -> str:
    """An epoch time for a ``<time datetime>`` attribute."""
    if epoch is None:
        return ""
    return dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def download(content: bytes | str, *, media_type: str, filename: str) -> Response:
    """``content`` handed out as the file ``filename``, with the headers every page carries."""
    response = Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    secure(response.headers)
    return response


class Pages:
    """The page templates, rendered into responses that carry the security headers."""

    def __init__(self, templates: Path) -> None:
        self._environment = Environment(
            loader=FileSystemLoader([templates, SHARED_TEMPLATES]),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # Shipped in the package: no file is looked at again once compiled.
            auto_reload=False,
        )
        self._environment.filters["when"] = when
        self._environment.filters["iso"] = iso

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The page ``template`` rendered with ``context``."""
        context.setdefault("session", None)
        context.setdefault("current", None)
        context.setdefault("form_session", None)
        html = self._environment.get_template(template).render(**context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        secure(response.headers)
        return response

    def problem(
        self, *, status: int, message: str, home: str, session: Session | None
    ) -> HTMLResponse:
        """The problem page: ``message`` with the ``status``, and a way back to ``home``."""
        return self.render(
            "problem.html",
            status=status,
            session=session,
            status_code=status,
            message=message,
            home=home,
        )
