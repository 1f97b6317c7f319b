"""The headers every page carries: a strict Content-Security-Policy and its companions.

Pages load only what the agent serves itself — no inline script or style, no other
origin — submit forms only to the agent, and cannot be framed by another site.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
"""Pages show personal data: no cache keeps them, on disk or in a proxy."""


def secure(headers: MutableHeaders) -> None:
    """Add :data:`HEADERS` to a response's headers."""
    headers.update(HEADERS)


class SecurityHeaders:
    """ASGI wrapper adding :data:`HEADERS` to every response of ``app`` (the static files)."""

    def __init__(self, app: ASGIApp, *, cache: str = "max-age=3600") -> None:
        self.app = app
        self._extra = [
            (name.lower().encode(), value.encode())
            for name, value in {**HEADERS, "Cache-Control": cache}.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve ``scope`` through the wrapped app, adding the headers as the answer starts."""

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._extra]
            await send(message)

        await self.app(scope, receive, with_headers)
