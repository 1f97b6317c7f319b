"""The HTTP face every vrm party shares: discovery, inbox, problem+json errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from vrm.protocol.discovery import WELL_KNOWN_PATH, Discovery
from vrm.protocol.errors import ProtocolError
from vrm.transport.asgi import InboxEndpoint
from vrm.transport.inbox import JWE_MEDIA_TYPE, JWS_MEDIA_TYPE, Inbox
from vrm.transport.problems import (
    HANDLER_FAILED,
    INVALID_REQUEST,
    NOT_FOUND,
    PROBLEM_CONTENT_TYPE,
    problem,
)

INBOX_PATH = "/inbox"

log = logging.getLogger(__name__)


def problem_response(
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Return the problem+json response for ``code`` (with ``status`` if given)."""
    status, document = problem(code, detail, instance=instance, status=status)
    return JSONResponse(
        document, status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error of ``app`` an RFC 9457 problem document, never a traceback."""

    @app.exception_handler(ProtocolError)
    async def _protocol_error(request: Request, exc: ProtocolError) -> JSONResponse:
        return problem_response(exc.code.value, exc.detail, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return problem_response(
            INVALID_REQUEST, f"{where}: {first.get('msg')}", instance=request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = NOT_FOUND if exc.status_code == 404 else INVALID_REQUEST
        return problem_response(
            code,
            str(exc.detail),
            instance=request.url.path,
            status=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return problem_response(
            HANDLER_FAILED, "the server could not handle this request", instance=request.url.path
        )


_INBOX_OPENAPI: dict[str, Any] = {
    "tags": ["protocol"],
    "summary": "Receive one signed (JWS) or encrypted (JWE) message",
    "operationId": "inbox",
    "requestBody": {
        "required": True,
        "content": {
            JWS_MEDIA_TYPE: {"schema": {"type": "string", "description": "compact JWS"}},
            JWE_MEDIA_TYPE: {"schema": {"type": "string", "description": "compact JWE"}},
        },
    },
    "responses": {
        "202": {
            "description": "accepted",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {"id": {"type": "string"}, "status": {"const": "accepted"}},
                    }
                }
            },
        },
        "4XX": {
            "description": "refused",
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"type": "object"}}},
        },
    },
}


def mount_party(
    app: FastAPI,
    *,
    inbox: Inbox,
    name: str,
    accepted_terms: list[str],
    public_url: str | None = None,
) -> None:
    """Add ``GET /.well-known/vrm`` and ``POST /inbox`` for ``inbox`` to ``app``.

    ``public_url`` is the base URL other parties reach this one at; without it the
    inbox URL published in discovery is built from the request's ``Host``.
    """
    identity = inbox.identity
    if identity is None:
        raise ValueError("discovery publishes one DID: give the inbox its identity")

    @app.get(WELL_KNOWN_PATH, tags=["protocol"])
    async def discovery(request: Request) -> Discovery:
        """Who this party is, where its inbox is, and what it understands."""
        inbox_url = (
            public_url.rstrip("/") + INBOX_PATH if public_url else str(request.url_for("inbox"))
        )
        try:
            return Discovery(
                did=identity.did,
                name=name,
                inbox=inbox_url,
                message_types=list(inbox.verifier.types),
                accepted_terms=accepted_terms,
            )
        except ValidationError as exc:
            raise StarletteHTTPException(400, "the Host header makes no usable URL") from exc

    mount_inbox(app, inbox)


def mount_inbox(app: FastAPI, inbox: Inbox) -> None:
    """Add ``POST /inbox`` for ``inbox`` to ``app`` (and to its OpenAPI document).

    A party without discovery uses this alone: a person's agent has one DID per
    relationship and publishes none of them.
    """
    # The inbox is plain ASGI (vrm.transport.asgi): no framework on the hot path.
    endpoint = InboxEndpoint(inbox)
    app.router.routes.append(Route(INBOX_PATH, endpoint, methods=["POST"], name="inbox"))
    app.state.inbox_endpoint = endpoint
    _document_inbox(app)


def inbox_first(app: Any) -> Any:
    """``app`` with ``/inbox`` answered ahead of the framework's middleware.

    The inbox endpoint answers every request itself, problems included, so the
    framework's layers (error pages, exception handlers, body limits, telemetry)
    only cost time there: about an eighth of the exchange's intake. An app without
    an inbox is returned as it is.
    """
    endpoint = getattr(getattr(app, "state", None), "inbox_endpoint", None)
    if endpoint is None:
        return app

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == INBOX_PATH:
            await endpoint(scope, receive, send)
        else:
            await app(scope, receive, send)

    return serve


def _document_inbox(app: FastAPI) -> None:
    """Add the inbox, which FastAPI does not route, to the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schema["paths"][INBOX_PATH] = {"post": _INBOX_OPENAPI}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_party_app(
    *,
    inbox: Inbox,
    name: str,
    accepted_terms: list[str] | None = None,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    public_url: str | None = None,
) -> FastAPI:
    """Build a minimal vrm party: discovery, inbox and problem+json errors."""
    app = FastAPI(
        title=f"vrm party: {name}", version="1", lifespan=lifespan, redirect_slashes=False
    )
    install_problem_handlers(app)
    mount_party(
        app, inbox=inbox, name=name, accepted_terms=accepted_terms or [], public_url=public_url
    )
    return app
