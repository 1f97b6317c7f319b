"""Memberships: vendors' signed credentials, kept sealed as they arrived, verified when read.

A vendor sends a ``membership`` over a relationship it accepted and the person has
not ended, from its pinned DID to the person's pairwise DID: the credential must be
issued by that vendor to that DID, else it is refused. A newer credential with the
same id (a new tier) replaces the one kept; an older one arriving late changes
nothing. ``membership.revoke`` from the vendor ends it, whatever the relationship's
state. Credential ids are looked up by keyed fingerprint, never kept in clear.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import NotFound
from vrm.agent.relationships.service import Relationship, get_relationships
from vrm.protocol import (
    Membership,
    MembershipCredential,
    MembershipRevoke,
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
    SignedCredential,
    read_membership,
)
from vrm.vault import Sealer

_KEY_PURPOSE = "membership-credential"
ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


@dataclass(frozen=True)
class MembershipRecord:
    """One membership a vendor issued the person, verified again when it was read."""

    id: int
    vendor_id: int
    vendor_name: str
    vendor_did: str
    our_did: str
    signed: SignedCredential
    message_id: str
    received_at: float
    updated_at: float
    revoked_at: float | None
    reason: str | None

    @property
    def credential(self) -> MembershipCredential:
        """The credential, as the vendor signed it."""
        return self.signed.credential

    @property
    def last_day(self) -> str | None:
        """The last day (UTC) the credential holds, or None when it holds until revoked."""
        until = self.credential.valid_until()
        if until is None:
            return None
        return dt.datetime.fromtimestamp(until - 1, dt.UTC).date().isoformat()

    def state(self, now: float | None = None) -> str:
        """``active``, ``expired`` (past its ``validUntil``) or ``revoked`` by the vendor."""
        if self.revoked_at is not None:
            return REVOKED
        until = self.credential.valid_until()
        current = time.time() if now is None else now
        return EXPIRED if until is not None and current >= until else ACTIVE

    def as_json(self, now: float | None = None) -> dict[str, Any]:
        """A JSON-ready dict: the membership in its parts, and the credential as signed."""
        subject = self.credential.credentialSubject
        return {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "vendor": self.vendor_name,
            "state": self.state(now),
            "programName": subject.programName,
            "tier": subject.tier,
            "benefits": list(subject.benefits),
            "memberSince": subject.memberSince,
            "membershipNumber": subject.membershipNumber,
            "validFrom": self.credential.validFrom,
            "validUntil": self.credential.validUntil,
            "last_day": self.last_day,
            "received_at": self.received_at,
            "updated_at": self.updated_at,
            "revoked_at": self.revoked_at,
            "reason": self.reason,
            "credential": self.signed.token,
        }


def take_membership(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    message: Message,
    now: float,
) -> MembershipRecord:
    """Keep a vendor's credential; a newer one with the same id replaces the older.

    The caller has checked that the sender is the relationship's vendor.

    Raises:
        ProtocolError: ``wrong_recipient`` outside a relationship the vendor accepted and
            neither side ended, or for a credential issued by someone else or to another
            DID than this relationship's.
    """
    body = message.body
    assert isinstance(body, Membership)  # noqa: S101 - the caller dispatches by type
    if (
        relationship.vendor_state != PartyState.ACCEPTED
        or relationship.person_state == PartyState.ENDED
    ):
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT,
            "memberships are taken only within a relationship the vendor accepted and "
            "neither side ended",
        )
    signed = body.signed()
    credential = signed.credential
    if credential.issuer != message.sender:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "the credential is not the sender's")
    if credential.credentialSubject.id != relationship.our_did:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "the credential is for another DID than this one"
        )
    key = _key(sealer, relationship.id, credential.id)
    held = connection.execute(
        text(
            "SELECT id, message_id, valid_from, revoked_at FROM memberships"
            " WHERE vendor_id = :vendor AND credential_key = :key"
        ),
        {"vendor": relationship.id, "key": key},
    ).one_or_none()
    sealed = {
        "message": message.id,
        "from": credential.valid_from(),
        "now": now,
        "sealed": sealer.seal_text(signed.token, _place(relationship.id, message.id)),
    }
    if held is None:
        membership_id = int(
            connection.execute(
                text(
                    "INSERT INTO memberships (vendor_id, credential_key, message_id, valid_from,"
                    " received_at, updated_at, sealed_credential) VALUES (:vendor, :key,"
                    " :message, :from, :now, :now, :sealed) RETURNING id"
                ),
                {"vendor": relationship.id, "key": key, **sealed},
            ).scalar_one()
        )
    else:
        membership_id = held.id
        # The same message again, a late older credential, or one the vendor revoked: kept as is.
        if held.revoked_at is not None or held.valid_from >= credential.valid_from():
            return get_membership(connection, sealer, membership_id)
        connection.execute(
            text(
                "UPDATE memberships SET message_id = :message, valid_from = :from,"
                " updated_at = :now, sealed_credential = :sealed WHERE id = :id"
            ),
            {"id": membership_id, **sealed},
        )
    subject = credential.credentialSubject
    audit.append(
        connection,
        sealer,
        kind="membership.received",
        details={
            "vendor": relationship.id,
            "membership": membership_id,
            "program": subject.programName,
            "tier": subject.tier,
            "replaced": held is not None,
            "message": message.id,
        },
        now=now,
    )
    return get_membership(connection, sealer, membership_id)


def take_revocation(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    message: Message,
    now: float,
) -> MembershipRecord | None:
    """Mark the membership the vendor revoked; None when it issued no such credential here."""
    body = message.body
    assert isinstance(body, MembershipRevoke)  # noqa: S101 - the caller dispatches by type
    row = connection.execute(
        text(
            "SELECT id, revoked_at FROM memberships"
            " WHERE vendor_id = :vendor AND credential_key = :key"
        ),
        {"vendor": relationship.id, "key": _key(sealer, relationship.id, body.credential)},
    ).one_or_none()
    if row is None:
        return None
    if row.revoked_at is None:
        reason = None
        if body.reason:
            reason = sealer.seal_text(body.reason, _reason_place(relationship.id, row.id))
        connection.execute(
            text(
                "UPDATE memberships SET revoked_at = :now, updated_at = :now,"
                " sealed_reason = :reason WHERE id = :id"
            ),
            {"now": now, "reason": reason, "id": row.id},
        )
        audit.append(
            connection,
            sealer,
            kind="membership.revoked",
            details={
                "vendor": relationship.id,
                "membership": row.id,
                "reason": body.reason,
                "message": message.id,
            },
            now=now,
        )
    return get_membership(connection, sealer, row.id)


def memberships(connection: Connection, sealer: Sealer) -> list[MembershipRecord]:
    """Every membership, the latest received first."""
    return _select(connection, sealer, "", {})


def get_membership(connection: Connection, sealer: Sealer, membership_id: int) -> MembershipRecord:
    """The membership with this number.

    Raises:
        NotFound: there is none.
    """
    found = _select(connection, sealer, "WHERE id = :id", {"id": membership_id})
    if not found:
        raise NotFound(f"no membership {membership_id}")
    return found[0]


_SELECT = (
    "SELECT id, vendor_id, message_id, received_at, updated_at, revoked_at, sealed_credential,"
    " sealed_reason FROM memberships "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[MembershipRecord]:
    rows = connection.execute(
        text(_SELECT + where + " ORDER BY received_at DESC, id DESC"), parameters
    ).all()
    vendors = get_relationships(connection, sealer, (row.vendor_id for row in rows))
    found = []
    for row in rows:
        relationship = vendors[row.vendor_id]
        token = sealer.open_text(row.sealed_credential, _place(row.vendor_id, row.message_id))
        signed = read_membership(token)
        credential = signed.credential
        if (
            credential.issuer != relationship.vendor.did
            or credential.credentialSubject.id != relationship.our_did
        ):
            raise ProtocolError(
                RefusalCode.WRONG_RECIPIENT, f"membership {row.id} is not kept as it came"
            )
        reason = None
        if row.sealed_reason is not None:
            reason = sealer.open_text(row.sealed_reason, _reason_place(row.vendor_id, row.id))
        found.append(
            MembershipRecord(
                id=row.id,
                vendor_id=row.vendor_id,
                vendor_name=relationship.vendor.name,
                vendor_did=relationship.vendor.did,
                our_did=relationship.our_did,
                signed=signed,
                message_id=row.message_id,
                received_at=row.received_at,
                updated_at=row.updated_at,
                revoked_at=row.revoked_at,
                reason=reason,
            )
        )
    return found


def _key(sealer: Sealer, vendor_id: int, credential_id: str) -> bytes:
    # The vendor is part of the key: two vendors' equal ids look unrelated.
    return sealer.fingerprint(f"{vendor_id}\0{credential_id}", _KEY_PURPOSE)


def _place(vendor_id: int, message_id: str) -> str:
    return f"memberships/{vendor_id}/{message_id}"


def _reason_place(vendor_id: int, membership_id: int) -> str:
    return f"memberships/{vendor_id}/{membership_id}/reason"
