"""The inbox as a plain ASGI application, mountable in any ASGI framework.

FastAPI apps get it through :func:`vrm.transport.app.mount_party`; a vendor's own
Starlette, Django or Quart app can mount :class:`InboxEndpoint` directly. It needs
no framework because it is the hot path of every party: each request is read in
bounded chunks, verified, handed to the handler and answered, with nothing between
the server and the protocol (docs/performance.md shows what that saves).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from vrm.protocol.errors import ProtocolError
from vrm.transport.inbox import (
    ACCEPTED,
    HandlerFailed,
    Inbox,
    InProgress,
    InvalidRequest,
    UnsupportedMediaType,
)
from vrm.transport.problems import (
    HANDLER_FAILED,
    IN_PROGRESS,
    INVALID_REQUEST,
    PROBLEM_CONTENT_TYPE,
    UNSUPPORTED_MEDIA_TYPE,
    problem,
)

Scope = MutableMapping[str, Any]
AsgiEvent = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[AsgiEvent]]
Send = Callable[[AsgiEvent], Awaitable[None]]

METHOD_NOT_ALLOWED = 405
RETRY_AFTER_SECONDS = 1

log = logging.getLogger(__name__)


class InboxEndpoint:
    """``POST`` a signed or encrypted message; answers 202 or a problem document."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (other scope types are ignored)."""
        if scope["type"] != "http":
            return
        path = str(scope.get("path", ""))
        if scope["method"] != "POST":
            await _send_problem(
                send,
                INVALID_REQUEST,
                "the inbox accepts POST only",
                path,
                status=METHOD_NOT_ALLOWED,
                headers=[(b"allow", b"POST")],
            )
            return
        headers = _headers(scope)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            body = await self.inbox.read_body(
                media_type, headers.get("content-length"), _body_chunks(receive)
            )
            message = await self.inbox.receive(media_type, body)
        except ProtocolError as exc:
            await _send_problem(send, exc.code.value, exc.detail, path)
        except UnsupportedMediaType as exc:
            await _send_problem(send, UNSUPPORTED_MEDIA_TYPE, str(exc), path)
        except InvalidRequest as exc:
            await _send_problem(send, INVALID_REQUEST, str(exc), path, status=400)
        except InProgress as exc:
            retry_after = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
            await _send_problem(send, IN_PROGRESS, str(exc), path, headers=retry_after)
        except HandlerFailed as exc:
            await _send_problem(send, HANDLER_FAILED, str(exc), path)
        except Exception:
            log.exception("unexpected error in the inbox")
            await _send_problem(send, HANDLER_FAILED, "the message could not be handled", path)
        else:
            answer = json.dumps({"id": message.id, "status": "accepted"}).encode()
            await _send(send, ACCEPTED, "application/json", answer)


def _headers(scope: Scope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def _body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            return
        yield event.get("body", b"")
        if not event.get("more_body", False):
            return


async def _send_problem(
    send: Send,
    code: str,
    detail: str,
    path: str,
    *,
    status: int | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    status, document = problem(code, detail, instance=path, status=status)
    await _send(send, status, PROBLEM_CONTENT_TYPE, json.dumps(document).encode(), headers)


async def _send(
    send: Send,
    status: int,
    content_type: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
