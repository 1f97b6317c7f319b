"""The vendor's messages to people: signed now, queued in the caller's transaction.

The worker posts each to the person's inbox (``reply_to``) with retries; the
message is signed once, so every attempt carries the same id and the person's
replay store makes a repeat harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy import Connection

from vrm.protocol import DEFAULT_MAX_LIFETIME, Identity, encrypt_for, new_envelope, sign_message
from vrm.vendor.jobs import MESSAGE_QUEUE, add_jobs


@dataclass(frozen=True)
class Outgoing:
    """Composes the vendor's messages and queues them for the worker.

    Args:
        identity: the vendor's identity, which signs.
        max_age: how long the worker retries; the messages live that long plus an hour.
        clock: the time now, in Unix seconds.
    """

    identity: Identity
    max_age: float
    clock: Callable[[], float]

    @property
    def lifetime(self) -> int:
        """Seconds a message stays valid: long enough for every retry."""
        return min(DEFAULT_MAX_LIFETIME, int(self.max_age) + 3600)

    def queue(
        self,
        connection: Connection,
        *,
        to: str,
        inbox: str,
        type: str,
        body: BaseModel,
        thid: str | None,
        message_id: str | None = None,
        encrypted: bool = False,
    ) -> str:
        """Sign a message to ``to`` and queue it for ``inbox``; return its id.

        ``encrypted`` encrypts it to ``to`` (sign, then encrypt): only the person reads it.
        """
        signed_id, token = self.sign(to=to, type=type, body=body, thid=thid, message_id=message_id)
        self.enqueue(
            connection, to=to, inbox=inbox, message_id=signed_id, token=token, encrypted=encrypted
        )
        return signed_id

    def sign(
        self,
        *,
        to: str,
        type: str,
        body: BaseModel,
        thid: str | None,
        message_id: str | None = None,
    ) -> tuple[str, str]:
        """Sign a message to ``to``, valid for :attr:`lifetime`; return its id and compact JWS."""
        envelope = new_envelope(
            type=type,
            sender=self.identity.did,
            to=to,
            body=body,
            thid=thid,
            lifetime=self.lifetime,
            now=self.clock(),
            message_id=message_id,
        )
        return envelope.id, sign_message(envelope, self.identity)

    def enqueue(
        self,
        connection: Connection,
        *,
        to: str,
        inbox: str,
        message_id: str,
        token: str,
        encrypted: bool = False,
    ) -> None:
        """Queue a message :meth:`sign` made for ``inbox``, encrypted to ``to`` if asked."""
        payload: dict[str, object] = {"inbox": inbox, "token": token}
        if encrypted:
            payload.update(token=encrypt_for(to, token), encrypted=True)
        add_jobs(
            connection,
            [(MESSAGE_QUEUE, to, message_id, payload)],
            now=self.clock(),
            max_age=self.max_age,
        )
