"""Reading a submitted form and checking its CSRF token; capping an upload's body.

Forms arrive URL-encoded, so the standard library reads them and no multipart
parser is needed; the few pages that take a file read it through
:func:`capped_receive`. Every state-changing form carries its session's CSRF
token; a POST whose token is missing or is not the session's is refused before
anything is done.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.types import Message, Receive

from vrm.web.sessions import Session

CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 64 * 1024
_URLENCODED = "application/x-www-form-urlencoded"


class FormRefused(Exception):
    """The form is not one this session sent: no or wrong CSRF token, or unreadable."""

    status = 403


class FormTooLarge(FormRefused):
    """The form is larger than its page takes."""

    status = 413


async def read_form(request: Request, *, limit: int = MAX_FORM_BYTES) -> dict[str, str]:
    """The submitted fields (the first value of each).

    Raises:
        FormRefused: not URL-encoded, or not UTF-8.
        FormTooLarge: larger than ``limit`` bytes.
    """
    if request.headers.get("content-type", "").split(";")[0].strip() != _URLENCODED:
        raise FormRefused("the form must be sent URL-encoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise FormTooLarge(f"the form is larger than this page takes ({limit // 1024} KiB)")
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise FormRefused("the form is not UTF-8") from exc
    return {name: values[0] for name, values in fields.items()}


def check_csrf(session: Session | None, fields: dict[str, str]) -> None:
    """Refuse the form unless it carries ``session``'s CSRF token.

    Raises:
        FormRefused: no session, no token, or not the session's token.
    """
    presented = fields.get(CSRF_FIELD, "")
    if session is None or not hmac.compare_digest(presented.encode(), session.csrf_token.encode()):
        raise FormRefused("this form was not sent from your session: open the page again")


def capped_receive(receive: Receive, limit: int, refusal: str) -> Receive:
    """``receive`` that refuses a body longer than ``limit`` bytes, however it is sent.

    Args:
        receive: The request's ASGI ``receive``.
        limit: The most bytes the body may have.
        refusal: What the refusal says (the page's words for its upload).

    Raises:
        FormTooLarge: from the returned ``receive``, once the body passes ``limit``.
    """
    seen = 0

    async def capped() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise FormTooLarge(refusal)
        return message

    return capped
