"""A bearer-token guard for a service's JSON API, refusing with problem+json (401)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vrm.transport.app import problem_response


class Unauthorised(Exception):
    """No bearer token, or not the service's."""


def require_bearer(app: FastAPI, token: str, *, hint: str) -> Any:
    """A dependency admitting only ``Authorization: Bearer <token>``.

    ``hint`` says where the token is found; the 401 answer shows it.
    """

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
        if not hmac.compare_digest(presented.encode(), token.encode()):
            raise Unauthorised

    return Depends(check)
