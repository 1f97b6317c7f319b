"""Relationships: one per vendor, each with its own pairwise DID and two r-buttons.

The person's button is ``wants``, ``paused`` or ``ended``; the vendor's is
``unknown`` until it answers, then ``accepted``, ``refused`` or ``ended``. Data
flows only while the person wants, the vendor has accepted, and an agreement on
the person's terms is in force (:mod:`vrm.agent.agreements`).

Everything that names the vendor (name, URL, DID, inbox) is sealed; the vendor's
DID is also kept as a keyed fingerprint, so one vendor cannot be added twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import Connection, TextClause, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.identities.service import (
    Purpose,
    create_identity,
    load_identities,
    load_identity,
)
from vrm.agent.outbox.store import DEFAULT_MAX_AGE, enqueue
from vrm.protocol import (
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    Discovery,
    Identity,
    PartyState,
    RelationshipRequest,
    RelationshipState,
)
from vrm.terms import Proffer, Terms, proffer
from vrm.vault import Sealer

UNKNOWN = "unknown"
"""The vendor's side before it answers."""

_VENDOR_KEY_PURPOSE = "vendor-did"
_PERSON_MOVES = {
    PartyState.PAUSED: {PartyState.WANTS},
    PartyState.WANTS: {PartyState.PAUSED},
    PartyState.ENDED: {PartyState.WANTS, PartyState.PAUSED},
}


@dataclass(frozen=True)
class VendorDetails:
    """Who the vendor is and where it is reached (sealed at rest)."""

    name: str
    url: str
    did: str
    inbox: str


@dataclass(frozen=True)
class Relationship:
    """One relationship: the vendor, the person's DID for it, and both r-buttons."""

    id: int
    our_did: str
    vendor: VendorDetails
    person_state: str
    vendor_state: str
    request_id: str
    created_at: float
    updated_at: float
    agreed: bool = False
    """An agreement signed by both is in force."""

    @property
    def active(self) -> bool:
        """True while granted data may flow.

        The person wants it, the vendor accepted, and both signed an agreement.
        """
        return (
            self.person_state == PartyState.WANTS
            and self.vendor_state == PartyState.ACCEPTED
            and self.agreed
        )

    @property
    def held_because(self) -> str | None:
        """Why granted data is not flowing, for people; None while it flows."""
        if self.person_state != PartyState.WANTS:
            return f"you {self.person_state} this relationship"
        if self.vendor_state != PartyState.ACCEPTED:
            return (
                "the vendor has not accepted"
                if self.vendor_state == UNKNOWN
                else (f"the vendor {self.vendor_state} it")
            )
        if not self.agreed:
            return "no agreement on your terms yet"
        return None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "name": self.vendor.name,
            "url": self.vendor.url,
            "vendor_did": self.vendor.did,
            "inbox": self.vendor.inbox,
            "our_did": self.our_did,
            "person_state": self.person_state,
            "vendor_state": self.vendor_state,
            "agreed": self.agreed,
            "active": self.active,
            "held_because": self.held_because,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def add_relationship(
    connection: Connection,
    sealer: Sealer,
    *,
    discovery: Discovery,
    url: str,
    reply_to: str,
    terms: Terms,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> tuple[Relationship, Proffer]:
    """Pin the vendor's DID, make a pairwise identity, queue the request with a proffer.

    The request proffers the person's ``terms``; returns the relationship and the proffer.

    Raises:
        Conflict: there is already an open relationship with this vendor.
    """
    now = time.time() if now is None else now
    vendor_key = sealer.fingerprint(discovery.did, _VENDOR_KEY_PURPOSE)
    existing = connection.execute(
        text("SELECT id FROM vendors WHERE vendor_key = :key AND person_state != 'ended'"),
        {"key": vendor_key},
    ).scalar()
    if existing is not None:
        raise Conflict(f"already in a relationship with {discovery.name} (vendor {existing})")
    identity = create_identity(connection, sealer, purpose=Purpose.RELATIONSHIP, now=now)
    details = VendorDetails(discovery.name, url, discovery.did, discovery.inbox)
    vendor_id = connection.execute(
        text(
            "INSERT INTO vendors (our_did, vendor_key, sealed_details, person_state,"
            " vendor_state, request_id, created_at, updated_at) VALUES (:our_did, :key,"
            " :sealed, 'wants', 'unknown', '', :now, :now) RETURNING id"
        ),
        {
            "our_did": identity.did,
            "key": vendor_key,
            "sealed": sealer.seal_text(json.dumps(details.__dict__), _place(identity.did)),
            "now": now,
        },
    ).scalar_one()
    offer = proffer(
        terms,
        identity,
        person=identity.did,
        vendor=discovery.did,
        proffered_by="person",
        now=int(now),
    )
    request_id = enqueue(
        connection,
        sealer,
        sender=identity,
        to=discovery.did,
        inbox=discovery.inbox,
        type=RELATIONSHIP_REQUEST,
        body=RelationshipRequest(reply_to=reply_to, proffer=offer),
        vendor_id=vendor_id,
        max_age=max_age,
        now=now,
    )
    connection.execute(
        text("UPDATE vendors SET request_id = :request_id WHERE id = :id"),
        {"request_id": request_id, "id": vendor_id},
    )
    audit.append(
        connection,
        sealer,
        kind="relationship.requested",
        details={"vendor": vendor_id, "name": discovery.name, "url": url, "message": request_id},
        now=now,
    )
    relationship = get_relationship(connection, sealer, vendor_id)
    return relationship, offer


def get_relationship(connection: Connection, sealer: Sealer, vendor_id: int) -> Relationship:
    """The relationship with this number."""
    found = _select(connection, sealer, "WHERE id = :id", {"id": vendor_id})
    if not found:
        raise NotFound(f"no vendor {vendor_id}")
    return found[0]


def get_relationships(
    connection: Connection, sealer: Sealer, vendor_ids: Iterable[int]
) -> dict[int, Relationship]:
    """The relationships with these numbers, by number, in one query; unknown ones are absent."""
    wanted = list(dict.fromkeys(vendor_ids))
    if not wanted:
        return {}
    found = _select(
        connection,
        sealer,
        "WHERE id IN (SELECT value FROM json_each(:ids))",
        {"ids": json.dumps(wanted)},
    )
    return {relationship.id: relationship for relationship in found}


def relationship_for(connection: Connection, sealer: Sealer, our_did: str) -> Relationship | None:
    """The relationship the person's DID ``our_did`` belongs to, if any."""
    found = _select(connection, sealer, "WHERE our_did = :did", {"did": our_did})
    return found[0] if found else None


def relationship_dids(connection: Connection) -> set[str]:
    """The person's DID of every relationship."""
    return set(connection.execute(text("SELECT our_did FROM vendors")).scalars())


def list_relationships(connection: Connection, sealer: Sealer) -> list[Relationship]:
    """Every relationship, oldest first."""
    return _select(connection, sealer, "", {})


def find_relationship(connection: Connection, sealer: Sealer, reference: str) -> Relationship:
    """The relationship ``reference`` names: its number, the vendor's name, URL or host.

    Among ended and open relationships with the same vendor, the open one wins.

    Raises:
        NotFound: nothing matches.
        Conflict: the name matches several vendors (use the number).
    """
    reference = reference.strip()
    if reference.isdigit():
        return get_relationship(connection, sealer, int(reference))
    wanted = reference.casefold().rstrip("/")
    matches = [
        rel
        for rel in list_relationships(connection, sealer)
        if wanted
        in {
            rel.vendor.name.casefold(),
            rel.vendor.url.casefold().rstrip("/"),
            (urlsplit(rel.vendor.url).hostname or "").casefold(),
            (urlsplit(rel.vendor.url).netloc or "").casefold(),
        }
    ]
    open_ones = [rel for rel in matches if rel.person_state != PartyState.ENDED]
    matches = open_ones or matches
    if not matches:
        raise NotFound(f"no vendor called {reference!r}: see vrm vendors list")
    if len(matches) > 1:
        numbers = ", ".join(str(rel.id) for rel in matches)
        raise Conflict(f"{reference!r} names several vendors ({numbers}): use the number")
    return matches[0]


def identity_of(connection: Connection, sealer: Sealer, relationship: Relationship) -> Identity:
    """The pairwise identity the person uses with this vendor."""
    identity = load_identity(connection, sealer, did=relationship.our_did)
    if identity is None:
        raise NotFound(f"the identity of vendor {relationship.id} is missing")
    return identity


def identities_of(
    connection: Connection, sealer: Sealer, relationships: Iterable[Relationship]
) -> dict[int, Identity]:
    """The pairwise identities of these relationships, by relationship number, in one query.

    A relationship whose identity is missing is absent (:func:`identity_of` raises).
    """
    relationships = list(relationships)
    found = load_identities(connection, sealer, [r.our_did for r in relationships])
    return {r.id: found[r.our_did] for r in relationships if r.our_did in found}


def set_person_state(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    state: PartyState,
    *,
    reason: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> tuple[Relationship, str]:
    """Press the person's r-button: pause, resume (wants) or end; queue the vendor's notice.

    Returns the changed relationship and the notice's message id.

    Raises:
        Conflict: the move is not possible from the current state (an ended
            relationship stays ended; add the vendor again for a new one).
    """
    now = time.time() if now is None else now
    if relationship.person_state not in _PERSON_MOVES.get(state, set()):
        raise Conflict(
            f"vendor {relationship.id} is {relationship.person_state}: it cannot become {state}"
        )
    connection.execute(
        text("UPDATE vendors SET person_state = :state, updated_at = :now WHERE id = :id"),
        {"state": state.value, "now": now, "id": relationship.id},
    )
    message_id = send_to_vendor(
        connection,
        sealer,
        relationship,
        type=RELATIONSHIP_STATE,
        body=RelationshipState(state=state, reason=reason),
        max_age=max_age,
        now=now,
    )
    audit.append(
        connection,
        sealer,
        kind=f"relationship.{state.value}",
        details={"vendor": relationship.id, "by": "person", "message": message_id},
        now=now,
    )
    return get_relationship(connection, sealer, relationship.id), message_id


def send_to_vendor(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    *,
    type: str,
    body: BaseModel,
    thid: str | None = None,
    identity: Identity | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> str:
    """Queue a message from the person's pairwise DID to the vendor; return its id."""
    return enqueue(
        connection,
        sealer,
        sender=identity or identity_of(connection, sealer, relationship),
        to=relationship.vendor.did,
        inbox=relationship.vendor.inbox,
        type=type,
        body=body,
        vendor_id=relationship.id,
        thid=thid,
        max_age=max_age,
        now=now,
    )


def set_vendor_state(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    state: PartyState,
    *,
    message_id: str,
    reason: str | None = None,
    now: float | None = None,
) -> Relationship:
    """Record the vendor's r-button, as its signed message announced it."""
    now = time.time() if now is None else now
    connection.execute(
        text("UPDATE vendors SET vendor_state = :state, updated_at = :now WHERE id = :id"),
        {"state": state.value, "now": now, "id": relationship.id},
    )
    details: dict[str, Any] = {"vendor": relationship.id, "by": "vendor", "message": message_id}
    if reason:
        details["reason"] = reason
    audit.append(connection, sealer, kind=f"relationship.{state.value}", details=details, now=now)
    return get_relationship(connection, sealer, relationship.id)


_SELECT = (
    "SELECT id, our_did, sealed_details, person_state, vendor_state, request_id, created_at,"
    " updated_at, EXISTS (SELECT 1 FROM agreements a WHERE a.vendor_id = vendors.id"
    " AND a.state = 'active') FROM vendors "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[Relationship]:
    rows = connection.execute(_query(where), parameters).all()
    return [
        Relationship(
            id=row_id,
            our_did=our_did,
            vendor=VendorDetails(**json.loads(sealer.open_text(sealed, _place(our_did)))),
            person_state=person_state,
            vendor_state=vendor_state,
            request_id=request_id,
            created_at=created_at,
            updated_at=updated_at,
            agreed=bool(agreed),
        )
        for (
            row_id,
            our_did,
            sealed,
            person_state,
            vendor_state,
            request_id,
            created_at,
            updated_at,
            agreed,
        ) in rows
    ]


@lru_cache(maxsize=32)
def _query(where: str) -> TextClause:
    return text(_SELECT + where + " ORDER BY id")


def _place(our_did: str) -> str:
    return f"vendors/{our_did}"
