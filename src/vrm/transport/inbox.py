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
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio.to_thread

from vrm.protocol.errors import ProtocolError, RefusalCode
from vrm.protocol.jwe import decrypt
from vrm.protocol.keys import Identity
from vrm.protocol.message import Message
from vrm.protocol.replay import replay_key
from vrm.protocol.verify import Verifier

JWS_MEDIA_TYPE = "application/vrm+jws"
JWE_MEDIA_TYPE = "application/vrm+jwe"
MEDIA_TYPES = (JWS_MEDIA_TYPE, JWE_MEDIA_TYPE)

Handler = Callable[[Message], Awaitable[None]]

log = logging.getLogger(__name__)


class UnsupportedMediaType(Exception):
    """The request body is neither a signed nor an encrypted vrm message."""


class HandlerFailed(Exception):
    """A verified message could not be handled here; the sender should retry later."""


class Inbox:
    """Receives the messages addressed to one identity.

    Args:
        identity: the receiving party (its key decrypts JWE bodies).
        verifier: checks every message; its ``receiver`` is ``identity.did``.
        handler: called with each accepted message; if it raises, the message is
            not remembered as seen, so the sender's retry is let in.
    """

    def __init__(self, *, identity: Identity, verifier: Verifier, handler: Handler) -> None:
        if verifier.receiver != identity.did:
            raise ValueError("the verifier must check messages are addressed to this identity")
        self.identity = identity
        self.verifier = verifier
        self.handler = handler

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
        if content_length is not None and content_length.isdigit() and int(content_length) > limit:
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
                token = decrypt(body.decode("ascii"), self.identity).encode("ascii")
            except UnicodeDecodeError as exc:
                raise ProtocolError(RefusalCode.MALFORMED, "a compact JWE is ASCII") from exc
        if getattr(self.verifier.seen_ids, "blocking", False):
            message = await anyio.to_thread.run_sync(self.verifier.verify, token)
        else:
            message = self.verifier.verify(token)
        try:
            await self.handler(message)
        except ProtocolError:
            self._forget(message)
            raise
        except Exception as exc:
            # Logged here with the traceback; the sender only learns it may retry.
            log.exception("handling %s %s failed", message.type, message.id)
            self._forget(message)
            raise HandlerFailed(f"message {message.id} could not be handled; retry later") from exc
        except BaseException:
            self._forget(message)
            raise
        log.info("accepted %s %s from %s", message.type, message.id, message.sender)
        return message

    def _forget(self, message: Message) -> None:
        if self.verifier.seen_ids is not None:
            self.verifier.seen_ids.forget(replay_key(message.sender, message.id))


def _oversize(limit: int) -> ProtocolError:
    return ProtocolError(RefusalCode.OVERSIZE, f"request body is larger than {limit} bytes")
