"""Relationships arranged ahead, for benchmarks and tests that measure what comes after.

The person's agent queues each relationship request with its proffer, as
``vrm vendors add`` does, but records the vendor's acceptance of the relationship
and of the terms at once, as if the answers had come: those answers go to a
``reply_to`` nobody reads. The vendors (a fleet, endpoints) accept for real when
the requests are delivered, so what follows — profile updates — is taken.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, text

from vrm.agent.agreements.service import make_proffer
from vrm.agent.grants.service import add_grants
from vrm.agent.relationships.service import (
    Relationship,
    add_relationship,
    identity_of,
    set_vendor_state,
)
from vrm.protocol import Discovery, PartyState
from vrm.terms import Terms, library
from vrm.vault import Sealer

TERMS = Terms(agreement=library().agreement("SD-BASE"), additional=())
"""What is proffered: every vendor accepts it by default."""


def prearranged_relationship(
    connection: Connection,
    sealer: Sealer,
    *,
    discovery: Discovery,
    url: str,
    reply_to: str,
    grant: list[str],
    purpose: str,
) -> Relationship:
    """A relationship recorded as accepted, with its agreement, and ``grant`` granted."""
    relationship, offer = add_relationship(
        connection, sealer, discovery=discovery, url=url, reply_to=reply_to, terms=TERMS
    )
    record = make_proffer(
        connection,
        sealer,
        relationship=relationship,
        identity=identity_of(connection, sealer, relationship),
        terms=TERMS,
        message_id=relationship.request_id,
        now=time.time(),
        signed=offer,
    )
    connection.execute(
        text("UPDATE agreements SET state = 'active' WHERE id = :id"), {"id": record.id}
    )
    accepted = set_vendor_state(
        connection, sealer, relationship, PartyState.ACCEPTED, message_id="prearranged"
    )
    add_grants(connection, sealer, relationship=accepted, paths=grant, purpose=purpose)
    return accepted
