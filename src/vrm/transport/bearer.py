"""A bearer-token guard for a service's JSON API, refusing with problem+json (401)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vrm.transport.app import problem_response


class Unauthorised(Exception):
    """No bearer token, or not the service's."""


def require_bearer(app: FastAPI, token: str | Callable[[], str], *, hint: str) -> Any:
    """A dependency admitting only ``Authorization: Bearer <token>``.

    ``token`` is the token, or a function giving the current one (a token that can
    be replaced while the service runs). ``hint`` says where the token is found;
    the 401 answer shows it.
    """
    current = token if callable(token) else lambda: token

    @app.exception_handler(Unauthorised)
    async def _unauthorised(request: Request, _exc: Unauthorised) -> JSONResponse:
        return problem_response(
            "unauthorised",
            f"send the token as 'Authorization: Bearer TOKEN' ({hint})",
            instance=request.url.path,
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    bearer = HTTPBearer(auto_error=False)

    def check(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> None:
        presented = credentials.credentials if credentials else ""
        if not hmac.compare_digest(presented.encode(), current().encode()):
            raise Unauthorised

    return Depends(check)
