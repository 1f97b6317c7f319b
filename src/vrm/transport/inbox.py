"""The protocol inbox over HTTP: verify, then hand the message to a handler.

One inbox serves every vrm service. It accepts ``application/vrm+jws`` and
``application/vrm+jwe`` bodies, refuses oversize requests as soon as the
``Content-Length`` or the bytes read so far pass the limit (a 1 MiB upload is
never held in memory), verifies with :class:`vrm.protocol.Verifier`, and answers
``202 Accepted`` once the handler has taken the message. Refusals are RFC 9457
problem documents (:mod:`vrm.transport.problems`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import TypeVar

import anyio.to_thread

from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.jwe import decrypt, recipient_of
from vrm.protocol.keys import Identity
from vrm.protocol.message import Message
from vrm.protocol.replay import replay_key
from vrm.protocol.verify import Verifier

JWS_MEDIA_TYPE = "application/vrm+jws"
JWE_MEDIA_TYPE = "application/vrm+jwe"
MEDIA_TYPES = (JWS_MEDIA_TYPE, JWE_MEDIA_TYPE)

Handler = Callable[[Message], Awaitable[None]]
Recipients = Callable[[str], Identity | None]
"""Finds the receiving identity for a DID; None when the DID is not one of ours."""
T = TypeVar("T")

log = logging.getLogger(__name__)


ACCEPTED = 202
_CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")


class UnsupportedMediaType(Exception):
    """The request body is neither a signed nor an encrypted vrm message."""


class InvalidRequest(Exception):
    """The HTTP request itself is unusable (e.g. a Content-Length that is not a number)."""


class HandlerFailed(Exception):
    """A verified message could not be handled here; the sender should retry later."""


class InProgress(Exception):
    """The same message is being handled right now; the sender should retry shortly."""


class Inbox:
    """Receives the messages addressed to one identity, or to any of a set of them.

    A message is recorded as seen only after the handler took it, so a retry of a
    message whose handling failed (or was cut short by a crash) is let in again:
    delivery is at least once, and handlers are idempotent by (sender, id). While a
    message is being handled, a duplicate of it is answered ``in_progress`` (retry
    shortly), never ``replay`` — a ``replay`` answer always means "handled".

    Args:
        identity: the receiving party (its key decrypts JWE bodies); its DID is the
            verifier's ``receiver``.
        verifier: checks every message.
        handler: called with each accepted message.
        recipients: instead of ``identity``, for a party with many DIDs (a person
            has one per relationship): finds the identity a JWE is encrypted to; the
            verifier's ``receiver`` is then a test of the DIDs that are ours.
    """

    def __init__(
        self,
        *,
        identity: Identity | None = None,
        verifier: Verifier,
        handler: Handler,
        recipients: Recipients | None = None,
    ) -> None:
        if (identity is None) == (recipients is None):
            raise ValueError("give the receiving identity, or a lookup of the recipients")
        if identity is not None and verifier.receiver != identity.did:
            raise ValueError("the verifier must check messages are addressed to this identity")
        if recipients is not None and not callable(verifier.receiver):
            raise ValueError("the verifier must accept every DID the recipients lookup knows")
        self.identity = identity
        self.recipients = recipients
        self.verifier = verifier
        self.handler = handler
        self._in_flight: set[str] = set()
        # PostgreSQL round trips block; they run in a worker thread, off the event loop.
        # (Types whose handler keeps their replays never reach the store: no hop at all.)
        self._offload = bool(getattr(verifier.seen_ids, "blocking", False))

    @property
    def max_request_bytes(self) -> int:
        """The largest request body read: a JWE of the largest accepted JWS."""
        return self.verifier.max_bytes * 4 // 3 + 4096

    def limit_for(self, media_type: str) -> int:
        """The largest body accepted for ``media_type``."""
        return self.max_request_bytes if media_type == JWE_MEDIA_TYPE else self.verifier.max_bytes

    async def read_body(
        self, media_type: str, content_length: str | None, chunks: AsyncIterator[bytes]
    ) -> bytes:
        """Read a request body, stopping as soon as it passes the limit.

        Raises:
            UnsupportedMediaType: when ``media_type`` is not a vrm message type.
            ProtocolError: ``oversize`` when the body is larger than the limit.
        """
        if media_type not in MEDIA_TYPES:
            raise UnsupportedMediaType(f"send {JWS_MEDIA_TYPE} or {JWE_MEDIA_TYPE}")
        limit = self.limit_for(media_type)
        if content_length is not None:
            if not _CONTENT_LENGTH.fullmatch(content_length):
                raise InvalidRequest("Content-Length is not a decimal number")
            if int(content_length) > limit:
                raise _oversize(limit)
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise _oversize(limit)
        return bytes(body)

    async def receive(self, media_type: str, body: bytes) -> Message:
        """Verify ``body`` and hand it to the handler; return the accepted message."""
        token = body
        if media_type == JWE_MEDIA_TYPE:
            try:
                encrypted = body.decode("ascii")
            except UnicodeDecodeError as exc:
                raise ProtocolError(RefusalCode.MALFORMED, "a compact JWE is ASCII") from exc
            token = decrypt(encrypted, self._decrypting_identity(encrypted)).encode("ascii")
        # Checks are CPU work, done here; only the replay store's round trip may block.
        message = self.verifier.verify(token, record=False, replay_check=False)
        if self._stores(message):
            await self._run(partial(self.verifier.check_replay, message))
        key = replay_key(message.sender, message.id)
        if key in self._in_flight:
            raise InProgress(f"message {message.id} is being handled; retry shortly")
        self._in_flight.add(key)
        try:
            try:
                await self.handler(message)
            except ProtocolError:
                raise
            except Exception as exc:
                # Logged here with the traceback; the sender only learns it may retry.
                log.exception("handling %s %s failed", message.type, message.id)
                raise HandlerFailed(
                    f"message {message.id} could not be handled; retry later"
                ) from exc
            if self._stores(message):
                await self._run(partial(self.verifier.record, message))
        finally:
            self._in_flight.discard(key)
        log.info("accepted %s %s from %s", message.type, message.id, message.sender)
        return message

    def _decrypting_identity(self, encrypted: str) -> Identity:
        if self.identity is not None:
            return self.identity
        assert self.recipients is not None  # noqa: S101 - __init__ requires one of the two
        found = self.recipients(recipient_of(encrypted))
        if found is None:
            raise ProtocolError(
                RefusalCode.WRONG_RECIPIENT, "message is encrypted to another party"
            )
        return found

    async def _run(self, call: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(call) if self._offload else call()

    def _stores(self, message: Message) -> bool:
        """Whether the replay store is asked about this message at all."""
        return message.type not in self.verifier.replays_kept_by_handler


def _oversize(limit: int) -> ProtocolError:
    return ProtocolError(RefusalCode.OVERSIZE, f"request body is larger than {limit} bytes")
