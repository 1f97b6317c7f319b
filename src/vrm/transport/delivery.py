"""Delivering signed messages to inboxes, and discovering parties."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from pydantic import ValidationError

from vrm.protocol.discovery import WELL_KNOWN_PATH, Discovery
from vrm.protocol.errors import RefusalCode
from vrm.transport.client import HttpReply, Transport, TransportError
from vrm.transport.inbox import ACCEPTED, JWE_MEDIA_TYPE, JWS_MEDIA_TYPE


class DeliveryError(Exception):
    """A message was not accepted.

    Attributes:
        retryable: True when trying again later may succeed (network, 5xx, 408, 429).
        code: the receiver's refusal code, when it gave one.
        status: the HTTP status, when there was a reply.
        retry_after: seconds the receiver asked to wait (``Retry-After``), when it did.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        code: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of sending one message."""

    inbox_url: str
    accepted: bool
    error: DeliveryError | None = None


class Sender:
    """Posts signed or encrypted messages to inboxes over a :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def deliver(self, inbox_url: str, message: str, *, encrypted: bool = False) -> bool:
        """Deliver one compact JWS (or JWE when ``encrypted``); raise :class:`DeliveryError`.

        Returns True when the receiver accepted it now, False when it already had it:
        a ``409 replay`` after an attempt whose answer was lost means delivered, so
        retrying is always safe.
        """
        media_type = JWE_MEDIA_TYPE if encrypted else JWS_MEDIA_TYPE
        try:
            reply = await self.transport.request(
                "POST", inbox_url, content=message.encode("ascii"), content_type=media_type
            )
        except TransportError as exc:
            raise DeliveryError(str(exc), retryable=exc.retryable) from exc
        if reply.status == ACCEPTED:
            return True
        refusal = _refusal(inbox_url, reply)
        if refusal.code == RefusalCode.REPLAY:
            return False
        raise refusal

    async def deliver_all(
        self, messages: Iterable[tuple[str, str]], *, concurrency: int = 64
    ) -> list[Delivery]:
        """Deliver many ``(inbox_url, jws)`` pairs, ``concurrency`` at a time, in order."""
        gate = asyncio.Semaphore(concurrency)

        async def one(inbox_url: str, message: str) -> Delivery:
            async with gate:
                try:
                    await self.deliver(inbox_url, message)
                except DeliveryError as exc:
                    return Delivery(inbox_url, accepted=False, error=exc)
                return Delivery(inbox_url, accepted=True)

        return list(await asyncio.gather(*(one(url, msg) for url, msg in messages)))


async def fetch_discovery(transport: Transport, base_url: str) -> Discovery:
    """Fetch and validate the discovery document of the party at ``base_url``.

    The document is at ``/.well-known/vrm`` of the URL's origin (RFC 8615), whatever
    path ``base_url`` has.
    """
    url = urljoin(base_url, WELL_KNOWN_PATH)
    try:
        reply = await transport.request("GET", url)
    except TransportError as exc:
        raise DeliveryError(f"cannot reach {url}: {exc}", retryable=exc.retryable) from exc
    if reply.status != 200:
        raise DeliveryError(
            f"{url} answered {reply.status}", retryable=reply.status >= 500, status=reply.status
        )
    try:
        return Discovery.model_validate_json(reply.body)
    except ValidationError as exc:
        raise DeliveryError(f"{url} is not a vrm discovery document", retryable=False) from exc


def _refusal(inbox_url: str, reply: HttpReply) -> DeliveryError:
    problem: dict[str, Any] = {}
    if reply.content_type.endswith("json"):
        try:
            loaded = reply.json()
            problem = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            problem = {}
    code = problem.get("code") if isinstance(problem.get("code"), str) else None
    detail = problem.get("detail") or reply.body[:200].decode("utf-8", "replace")
    retryable = reply.status >= 500 or reply.status in (408, 429)
    return DeliveryError(
        f"{inbox_url} refused the message ({reply.status} {code or ''}): {detail}".replace(
            " )", ")"
        ),
        retryable=retryable,
        code=code,
        status=reply.status,
        retry_after=reply.retry_after,
    )
