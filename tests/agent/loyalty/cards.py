"""Memberships for the loyalty tests: a vendor's credential, sent signed to the person."""

from __future__ import annotations

import datetime as dt

from tests.agent.vendors import Clock, Vendor, from_vendor
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.protocol import (
    MEMBERSHIP,
    MEMBERSHIP_REVOKE,
    Identity,
    Membership,
    MembershipRevoke,
    Message,
    SignedCredential,
    issue_membership,
)

YEAR = 365 * 24 * 3600


def credential(
    vendor: Vendor,
    relationship: Relationship,
    *,
    clock: Clock,
    tier: str = "gold",
    credential_id: str | None = None,
    issuer: Identity | None = None,
    subject: str | None = None,
    valid_for: int | None = YEAR,
) -> SignedCredential:
    """The vendor's credential of ``tier`` to the person's DID with it, valid from now."""
    now = int(clock())
    return issue_membership(
        issuer or vendor.identity,
        subject=subject or relationship.our_did,
        program=f"{vendor.name} Club",
        tier=tier,
        member_since=dt.date(2024, 3, 1),
        benefits=["10% off fresh bread", "free delivery"],
        valid_from=now,
        valid_until=None if valid_for is None else now + valid_for,
        credential_id=credential_id,
        membership_number="M-0042",
    )


def give(
    person: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    signed: SignedCredential,
    *,
    clock: Clock,
    sender: Identity | None = None,
) -> Message:
    """The ``membership`` carrying ``signed``, from the vendor (or ``sender``), taken."""
    message = from_vendor(
        person,
        sender or vendor.identity,
        relationship.our_did,
        Membership(credential=signed.token),
        type=MEMBERSHIP,
        clock=clock,
    )
    person.receive(message)
    return message


def revoke(
    person: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    credential_id: str,
    *,
    clock: Clock,
    reason: str | None = None,
) -> Message:
    """The vendor's ``membership.revoke`` of ``credential_id``, taken."""
    message = from_vendor(
        person,
        vendor.identity,
        relationship.our_did,
        MembershipRevoke(credential=credential_id, reason=reason),
        type=MEMBERSHIP_REVOKE,
        clock=clock,
    )
    person.receive(message)
    return message
