"""The vendor's membership credentials: issued to customers, issued again, revoked.

A membership (docs/protocol.md 7.12) is a credential the vendor signs to the
person's pairwise DID over an accepted relationship the person has not ended; it
goes in a ``membership`` message, encrypted to the person, through the endpoint's
outgoing queue like every answer, and a copy is kept. One membership per program
and customer: issuing again (a new tier, new benefits) keeps the credential's id
and member number, so the newer credential replaces the older on the person's side
and the older one is refused at a checkout as replaced. Revoking tells the person
(``membership.revoke``) and puts the id on the list checkouts refuse; erasing a
customer deletes their memberships and puts their ids on that list too.

Checkouts verify what people show with :mod:`vrm.vendor.checkout`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from vrm.protocol import (
    MEMBERSHIP,
    MEMBERSHIP_REVOKE,
    Identity,
    Membership,
    MembershipRevoke,
    PartyState,
    issue_membership,
    read_membership,
)
from vrm.protocol.v1.memberships import Benefit, Label, MemberNumber, ProgramName
from vrm.vendor.checkout import last_day
from vrm.vendor.errors import (
    Conflict,
    Erased,
    InvalidRequest,
    NotAccepted,
    UnknownCustomer,
    UnknownMembership,
)
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.schema import customers, jobs, memberships, revoked_memberships

ACTIVE, REVOKED = "active", "revoked"
_ERASED = "erased"  # vrm.vendor.data_rights.ERASED (that module calls this one on erasure)


class MembershipRequest(BaseModel):
    """A membership as the vendor's API and console take it.

    ``member_since`` defaults to the day the relationship began (or, issued again, to
    the membership's); ``valid_until`` is the last day it holds (none: until revoked);
    ``program`` defaults to the endpoint's program name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Label
    benefits: list[Benefit] = Field(default_factory=list, max_length=8)
    member_since: dt.date | None = None
    valid_until: dt.date | None = None
    program: ProgramName | None = None
    membership_number: MemberNumber | None = None


@dataclass(frozen=True)
class MembershipDesk:
    """Issues, lists and revokes the endpoint's memberships, one transaction each.

    Args:
        engine: the endpoint's database.
        identity: the vendor's identity, which signs the credentials.
        outgoing: signs and queues the messages to people.
        program: the program name when a request names none.
    """

    engine: Engine
    identity: Identity
    outgoing: Callable[[], Outgoing]
    program: str

    def issue(self, did: str, request: MembershipRequest) -> dict[str, Any]:
        """Issue (or issue again) the customer's membership of the request's program.

        Raises:
            UnknownCustomer: no customer has this DID.
            Erased: only the tombstone is left.
            NotAccepted: the relationship is not accepted, or the person ended it.
            InvalidRequest: a value the credential cannot take (an end in the past, more
                benefits than a QR code holds).
        """
        outgoing = self.outgoing()
        now = outgoing.clock()
        program = request.program or self.program
        with self.engine.begin() as connection:
            customer = _open_customer(connection, did)
            held = connection.execute(
                select(memberships).where(
                    memberships.c.customer == did,
                    memberships.c.program == program,
                    memberships.c.state == ACTIVE,
                )
            ).one_or_none()
            earlier = None if held is None else read_membership(held.credential).credential
            since = request.member_since or (
                dt.date.fromisoformat(earlier.credentialSubject.memberSince)
                if earlier is not None
                else dt.datetime.fromtimestamp(customer.created_at, dt.UTC).date()
            )
            number = request.membership_number or (
                None if earlier is None else earlier.credentialSubject.membershipNumber
            )
            until = None
            if request.valid_until is not None:
                end = request.valid_until + dt.timedelta(days=1)
                until = int(dt.datetime.combine(end, dt.time(), dt.UTC).timestamp())
            try:
                signed = issue_membership(
                    self.identity,
                    subject=did,
                    program=program,
                    tier=request.tier,
                    member_since=since,
                    benefits=request.benefits,
                    # Strictly later than the credential it replaces: the person's agent keeps
                    # the latest validFrom, so one issued again within a second must not tie.
                    valid_from=max(int(now), 0 if earlier is None else earlier.valid_from() + 1),
                    valid_until=until,
                    credential_id=None if held is None else held.id,
                    membership_number=number,
                )
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
            message_id = outgoing.queue(
                connection,
                to=did,
                inbox=customer.reply_to,
                type=MEMBERSHIP,
                body=Membership(credential=signed.token),
                thid=None,
                encrypted=True,
            )
            kept = {
                "credential": signed.token,
                "digest": signed.digest,
                "message_id": message_id,
                "updated_at": now,
            }
            if held is None:
                connection.execute(
                    insert(memberships).values(
                        id=signed.credential.id,
                        customer=did,
                        program=program,
                        state=ACTIVE,
                        issued_at=now,
                        **kept,
                    )
                )
            else:
                connection.execute(
                    update(memberships).where(memberships.c.id == held.id).values(**kept)
                )
            return _listed(connection, memberships.c.id == signed.credential.id)[0]

    def revoke(self, credential_id: str, *, reason: str | None = None) -> dict[str, Any]:
        """End a membership: checkouts refuse it from now on, and the person is told.

        Raises:
            UnknownMembership: no membership has this id (or its customer was erased).
            Conflict: it was revoked already.
        """
        outgoing = self.outgoing()
        now = outgoing.clock()
        wanted = _urn(credential_id)
        with self.engine.begin() as connection:
            row = connection.execute(
                select(memberships).where(memberships.c.id == wanted).with_for_update()
            ).one_or_none()
            if row is None:
                raise UnknownMembership(f"no membership {credential_id}")
            if row.state == REVOKED:
                raise Conflict(f"membership {wanted} was revoked already")
            connection.execute(
                update(memberships)
                .where(memberships.c.id == wanted)
                .values(state=REVOKED, revoked_at=now, updated_at=now)
            )
            connection.execute(
                insert(revoked_memberships).values(id=wanted, reason=REVOKED, revoked_at=now)
            )
            customer = connection.execute(
                select(customers).where(customers.c.did == row.customer)
            ).one()
            outgoing.queue(
                connection,
                to=row.customer,
                inbox=customer.reply_to,
                type=MEMBERSHIP_REVOKE,
                body=MembershipRevoke(credential=wanted, reason=reason),
                thid=row.message_id,
                encrypted=True,
            )
            return _listed(connection, memberships.c.id == wanted)[0]

    def of_customer(self, did: str) -> list[dict[str, Any]]:
        """The customer's memberships, oldest first, with the delivery of each one's last message.

        Raises:
            UnknownCustomer: no customer has this DID.
        """
        with self.engine.begin() as connection:
            if (
                connection.execute(select(customers.c.did).where(customers.c.did == did)).first()
                is None
            ):
                raise UnknownCustomer(f"no customer {did}")
            return _listed(connection, memberships.c.customer == did)

    def listed(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Every membership, the latest changed first."""
        with self.engine.begin() as connection:
            return _listed(connection, None, newest_first=True, limit=limit)


def forget_customer(connection: Connection, did: str, *, now: float) -> None:
    """Delete an erased customer's memberships; checkouts go on refusing their credentials."""
    ids = list(
        connection.execute(select(memberships.c.id).where(memberships.c.customer == did)).scalars()
    )
    listed = set(
        connection.execute(
            select(revoked_memberships.c.id).where(revoked_memberships.c.id.in_(ids))
        ).scalars()
    )
    fresh = [{"id": i, "reason": _ERASED, "revoked_at": now} for i in ids if i not in listed]
    if fresh:
        connection.execute(insert(revoked_memberships), fresh)
    connection.execute(delete(memberships).where(memberships.c.customer == did))


def _open_customer(connection: Connection, did: str) -> Any:
    customer = connection.execute(
        select(customers).where(customers.c.did == did).with_for_update()
    ).one_or_none()
    if customer is None:
        raise UnknownCustomer(f"no customer {did}")
    if customer.state == _ERASED:
        raise Erased(f"the record of {did} was erased")
    if customer.state != PartyState.ACCEPTED.value:
        raise NotAccepted(
            f"the relationship with {did} is {customer.state}: memberships go only over an "
            "accepted relationship"
        )
    if customer.person_state == PartyState.ENDED.value:
        raise NotAccepted(f"{did} ended the relationship: it takes no membership")
    return customer


def _last_day(until: int | None) -> str | None:
    """The last day (UTC) a credential holds, for people: ``validUntil`` is its first second out."""
    return (
        None if until is None else dt.datetime.fromtimestamp(until - 1, dt.UTC).date().isoformat()
    )


def _urn(credential_id: str) -> str:
    """The credential id as kept: ``urn:uuid:…`` (the bare UUID is taken too)."""
    return credential_id if credential_id.startswith("urn:uuid:") else "urn:uuid:" + credential_id


def _listed(
    connection: Connection, where: Any, *, newest_first: bool = False, limit: int | None = None
) -> list[dict[str, Any]]:
    delivery = (
        select(jobs.c.state)
        .where(jobs.c.queue == MESSAGE_QUEUE, jobs.c.event_id == memberships.c.message_id)
        .correlate(memberships)
        .scalar_subquery()
    )
    query = select(memberships, func.coalesce(delivery, "pending").label("delivery"))
    if where is not None:
        query = query.where(where)
    order = memberships.c.updated_at.desc() if newest_first else memberships.c.issued_at
    rows = connection.execute(query.order_by(order, memberships.c.id).limit(limit)).all()
    return [_membership_json(row) for row in rows]


def _membership_json(row: Any) -> dict[str, Any]:
    credential = read_membership(row.credential).credential
    subject = credential.credentialSubject
    return {
        "id": row.id,
        "customer": row.customer,
        "program": row.program,
        "tier": subject.tier,
        "benefits": list(subject.benefits),
        "memberSince": subject.memberSince,
        "membershipNumber": subject.membershipNumber,
        "validFrom": credential.validFrom,
        "validUntil": credential.validUntil,
        "last_day": last_day(credential.valid_until()),
        "state": row.state,
        "issued_at": row.issued_at,
        "updated_at": row.updated_at,
        "revoked_at": row.revoked_at,
        "delivery": row.delivery,
        "credential": row.credential,
    }
