"""A protocol peer: a party that answers pings and keeps what it received.

It is the smallest complete vrm party — discovery, inbox, persistent replay
protection, and replies sent through the same sending path every service uses —
and the counterpart the demo talks to. ``vrm serve peer`` runs one.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI

from vrm.keyfile import load_or_create_identity
from vrm.protocol import (
    PING,
    PING_RESPONSE,
    Identity,
    Message,
    Ping,
    PingResponse,
    Verifier,
    compose,
    v1_types,
)
from vrm.transport import (
    AiohttpTransport,
    DeliveryError,
    Inbox,
    Sender,
    Transport,
    create_party_app,
    open_seen_ids,
)
from vrm.transport.address_policy import AddressPolicy

SEEN_IDS_FILE = "seen-ids.db"

log = logging.getLogger(__name__)


@dataclass
class PeerLog:
    """What a peer received, newest last, and a way to wait for the next one."""

    # Few: a message can be 256 KiB, and this log is only for waiting on answers.
    messages: deque[Message] = field(default_factory=lambda: deque(maxlen=64))
    received: int = 0
    _arrived: asyncio.Condition | None = None

    async def add(self, message: Message) -> None:
        """Record ``message`` and wake whoever waits for it."""
        self.messages.append(message)
        self.received += 1
        async with self._condition():
            self._condition().notify_all()

    async def wait_for(self, thid: str, timeout: float) -> Message:
        """Wait until a message in thread ``thid`` arrives; return it."""

        def find() -> Message | None:
            return next((m for m in self.messages if m.envelope.thid == thid), None)

        async with self._condition():
            await asyncio.wait_for(self._condition().wait_for(find), timeout)
        found = find()
        assert found is not None  # noqa: S101 - wait_for returned only once it was found
        return found

    def _condition(self) -> asyncio.Condition:
        if self._arrived is None:
            self._arrived = asyncio.Condition()
        return self._arrived


@dataclass
class Peer:
    """A running peer's parts."""

    identity: Identity
    name: str
    app: FastAPI
    log: PeerLog
    sender: Sender
    aclose: Callable[[], Awaitable[None]]
    """Release the store and connections (idempotent; the app's shutdown calls it too)."""


def create_peer(
    *,
    name: str,
    home: Path,
    policy: AddressPolicy | None = None,
    transport: Transport | None = None,
    identity: Identity | None = None,
    public_url: str | None = None,
) -> Peer:
    """Build a peer whose identity and seen ids live in ``home``."""
    identity = identity or load_or_create_identity(home)
    home.mkdir(parents=True, exist_ok=True)
    seen_ids = open_seen_ids(str(home / SEEN_IDS_FILE))
    sender = Sender(transport or AiohttpTransport(policy=policy))
    peer_log = PeerLog()
    replies: set[asyncio.Task[None]] = set()

    async def handle(message: Message) -> None:
        await peer_log.add(message)
        if message.type == PING:
            ping = message.body
            assert isinstance(ping, Ping)  # noqa: S101 - the registry maps PING to Ping
            if ping.response_requested and ping.reply_to:
                # Reply after answering 202, so a slow reply path never holds the sender up.
                task = asyncio.create_task(_answer(message, ping.reply_to))
                replies.add(task)
                task.add_done_callback(replies.discard)

    async def _answer(ping: Message, reply_to: str) -> None:
        _, reply = compose(
            identity,
            type=PING_RESPONSE,
            to=ping.sender,
            body=PingResponse(comment=f"pong from {name}"),
            thid=ping.id,
        )
        try:
            await sender.deliver(reply_to, reply)
        except DeliveryError as exc:
            log.warning("could not answer ping %s: %s", ping.id, exc)

    verifier = Verifier(receiver=identity.did, types=v1_types(), seen_ids=seen_ids)
    inbox = Inbox(identity=identity, verifier=verifier, handler=handle)

    closed = False

    async def aclose() -> None:
        nonlocal closed
        if closed:
            return
        closed = True
        if replies:
            await asyncio.wait(replies, timeout=5)
        await sender.transport.aclose()
        seen_ids.close()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await aclose()

    app = create_party_app(inbox=inbox, name=name, lifespan=lifespan, public_url=public_url)
    return Peer(identity=identity, name=name, app=app, log=peer_log, sender=sender, aclose=aclose)
