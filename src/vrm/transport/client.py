"""Outgoing HTTP behind one small interface, so tests can swap the network out.

:class:`AiohttpTransport` is the production client: aiohttp's connection pool keeps
its throughput at 64 requests in flight, where httpx's async pool collapses
(benchmarks/bench_delivery.py measures both). :class:`AsgiTransport` calls an ASGI
app in-process through httpx, for tests that need no server. Both enforce a
timeout and a response size limit on every call, and turn every failure to get an
answer into :class:`TransportError`.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import anyio
import httpx

from vrm.transport.address_policy import AddressPolicy, AddressRefused, GuardedResolver

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024
IDLE_CONNECTION_SECONDS = 4.0


class TransportError(Exception):
    """The request did not get an HTTP answer: refused, timed out, or too large.

    ``retryable`` is False when trying again cannot help (the address policy forbids
    the URL); network failures and timeouts are retryable.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class HttpReply:
    """An HTTP response, read whole (it is small by construction)."""

    status: int
    content_type: str
    body: bytes
    retry_after: float | None = None
    """Seconds the server asked to wait before trying again (``Retry-After``), if any."""

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Transport(Protocol):
    """Sends one HTTP request and returns the reply."""

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        """Send the request; raise :class:`TransportError` when no reply comes."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


class AiohttpTransport:
    """HTTP over aiohttp with a shared connection pool.

    Args:
        policy: which addresses may be reached (public only by default).
        timeout: seconds for the whole request.
        max_connections: connections open at once across all hosts.
        max_response_bytes: a longer response body is a :class:`TransportError`.
    """

    def __init__(
        self,
        *,
        policy: AddressPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_connections: int = 100,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.policy = policy or AddressPolicy()
        self.timeout = timeout
        self.max_connections = max_connections
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session belongs to the running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.max_connections,
                    resolver=GuardedResolver(self.policy),
                    # Below common servers' idle timeout (uvicorn: 5 s), so an idle
                    # connection is dropped here before the server closes it under us.
                    keepalive_timeout=IDLE_CONNECTION_SECONDS,
                ),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=False,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        """Send the request and read at most ``max_response_bytes`` of the reply."""
        headers = {"content-type": content_type} if content_type else {}
        try:
            self.policy.check_url(url)
        except AddressRefused as exc:
            raise TransportError(str(exc), retryable=False) from exc
        try:
            async with self._get_session().request(
                method, url, data=content, headers=headers, allow_redirects=False
            ) as response:
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > self.max_response_bytes:
                        raise TransportError(
                            f"response from {url} is over {self.max_response_bytes} bytes",
                            retryable=False,
                        )
                return HttpReply(
                    response.status,
                    response.content_type,
                    bytes(body),
                    parse_retry_after(response.headers.get("retry-after")),
                )
        except aiohttp.InvalidURL as exc:
            raise TransportError(f"{method} {url}: not a valid URL", retryable=False) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressRefused):
                raise TransportError(f"{method} {url}: {exc.os_error}", retryable=False) from exc
            raise TransportError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        except AddressRefused as exc:
            raise TransportError(f"{method} {url}: {exc}", retryable=False) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise TransportError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class AsgiTransport:
    """HTTP to an ASGI app in the same process (tests, tools); no sockets."""

    def __init__(
        self,
        app: Any,
        *,
        base_url: str = "http://testserver",
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        """Call the app."""
        headers = {"content-type": content_type} if content_type else {}
        try:
            with anyio.fail_after(self.timeout):
                response = await self._client.request(method, url, content=content, headers=headers)
        except TimeoutError as exc:
            raise TransportError(f"{method} {url}: no answer in {self.timeout} s") from exc
        except httpx.HTTPError as exc:
            raise TransportError(f"{method} {url}: {exc}") from exc
        if len(response.content) > self.max_response_bytes:
            raise TransportError(
                f"response from {url} is over {self.max_response_bytes} bytes", retryable=False
            )
        return HttpReply(
            response.status_code,
            response.headers.get("content-type", "").split(";")[0],
            response.content,
            parse_retry_after(response.headers.get("retry-after")),
        )

    async def aclose(self) -> None:
        """Close the client."""
        await self._client.aclose()
