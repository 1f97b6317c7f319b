"""Creating and finding the person's identities; their keys are kept sealed.

Each relationship and each intent gets an identity of its own, so no two vendors
(and no exchange) can link the person across them. The DID is kept in clear — it
is a random public key, and the inbox must find the identity a message is
addressed to without opening every seed — and the seed is sealed, bound to its DID.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, text

from vrm.protocol import Identity
from vrm.vault import Sealer

_SELECT_ONE = text("SELECT sealed_seed FROM identities WHERE did = :did")
_SELECT_MANY = text(
    "SELECT did, sealed_seed FROM identities WHERE did IN (SELECT value FROM json_each(:dids))"
)


class Purpose(StrEnum):
    """What an identity is used for (one use each, never shared)."""

    RELATIONSHIP = "relationship"
    INTENT = "intent"
    PAYEE = "payee"
    REVIEWER = "reviewer"  # one for all the person's reviews, linked to no relationship


@dataclass(frozen=True)
class IdentityRecord:
    """An identity's public facts."""

    did: str
    purpose: Purpose
    created_at: float


def create_identity(
    connection: Connection, sealer: Sealer, *, purpose: Purpose, now: float | None = None
) -> Identity:
    """Make a new identity for one use and keep its seed sealed."""
    identity = Identity.generate()
    connection.execute(
        text(
            "INSERT INTO identities (did, purpose, sealed_seed, created_at) "
            "VALUES (:did, :purpose, :sealed_seed, :created_at)"
        ),
        {
            "did": identity.did,
            "purpose": purpose.value,
            "sealed_seed": sealer.seal(identity.seed, _place(identity.did)),
            "created_at": time.time() if now is None else now,
        },
    )
    return identity


def load_identity(connection: Connection, sealer: Sealer, *, did: str) -> Identity | None:
    """The identity with this DID, or None when it is not one of the person's."""
    sealed = connection.execute(_SELECT_ONE, {"did": did}).scalar()
    if sealed is None:
        return None
    return Identity.from_seed(sealer.open(sealed, _place(did)))


def load_identities(
    connection: Connection, sealer: Sealer, dids: Iterable[str]
) -> dict[str, Identity]:
    """The identities with these DIDs, by DID, in one query; those not the person's are absent."""
    wanted = list(dict.fromkeys(dids))
    if not wanted:
        return {}
    rows = connection.execute(_SELECT_MANY, {"dids": json.dumps(wanted)}).all()
    return {did: Identity.from_seed(sealer.open(sealed, _place(did))) for did, sealed in rows}


def list_identities(
    connection: Connection, *, purpose: Purpose | None = None
) -> list[IdentityRecord]:
    """The person's identities, oldest first (optionally of one purpose)."""
    rows = connection.execute(
        text(
            "SELECT did, purpose, created_at FROM identities "
            "WHERE :purpose IS NULL OR purpose = :purpose ORDER BY created_at, did"
        ),
        {"purpose": purpose.value if purpose else None},
    ).all()
    return [IdentityRecord(did, Purpose(kind), created_at) for did, kind, created_at in rows]


def _place(did: str) -> bytes:
    return f"identities/{did}".encode()
