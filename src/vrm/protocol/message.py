"""Signing messages and the verified message a receiver gets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from vrm.protocol.envelope import DEFAULT_LIFETIME_SECONDS, Envelope, new_envelope
from vrm.protocol.jws import sign_compact
from vrm.protocol.keys import Identity


def sign_message(envelope: Envelope, identity: Identity) -> str:
    """Sign ``envelope`` as ``identity``; the envelope's ``from`` must be its DID."""
    if envelope.from_ != identity.did:
        raise ValueError("the envelope's from is not the signing identity's DID")
    return sign_compact(envelope.to_json(), identity)


def compose(
    identity: Identity,
    *,
    type: str,
    to: str,
    body: BaseModel | dict[str, Any],
    thid: str | None = None,
    lifetime: int = DEFAULT_LIFETIME_SECONDS,
    now: float | None = None,
) -> tuple[Envelope, str]:
    """Build and sign a message from ``identity``; return the envelope and the JWS."""
    envelope = new_envelope(
        type=type, sender=identity.did, to=to, body=body, thid=thid, lifetime=lifetime, now=now
    )
    return envelope, sign_message(envelope, identity)


@dataclass(frozen=True, slots=True)
class Message:
    """A message that passed every check: authentic, fresh, addressed here, well-typed."""

    envelope: Envelope
    body: BaseModel
    compact: str
    header: dict[str, Any]

    @property
    def id(self) -> str:
        """The message id."""
        return self.envelope.id

    @property
    def type(self) -> str:
        """The versioned type name."""
        return self.envelope.type

    @property
    def sender(self) -> str:
        """The sender's DID (the envelope's ``from``)."""
        return self.envelope.from_
