"""Messages from vendors to the person's pairwise DIDs, applied in the caller's transaction.

R-buttons, answers to terms, problem reports, exports and erasure confirmations, receipts,
doctors' confirmations that presented health records are deleted, memberships and their
revocations.
"""

from __future__ import annotations

from sqlalchemy import Connection

from vrm.agent import disclosure
from vrm.agent.agreements import service as agreements
from vrm.agent.agreements.choice import load_terms_settings, terms_for
from vrm.agent.audit import service as audit
from vrm.agent.data_rights import service as data_rights
from vrm.agent.health import presentations as health_presentations
from vrm.agent.loyalty import memberships
from vrm.agent.outbox import store as outbox
from vrm.agent.payments import notices as payment_notices
from vrm.agent.records import receipts
from vrm.agent.relationships.service import (
    Relationship,
    get_relationship,
    relationship_for,
    set_vendor_state,
)
from vrm.protocol import (
    VENDOR_STATES,
    AgreementAnswer,
    DataErased,
    DataExport,
    Membership,
    MembershipRevoke,
    Message,
    PartyState,
    PaymentReceipt,
    ProblemReport,
    ProtocolError,
    RefusalCode,
    RelationshipState,
)
from vrm.protocol.v1.health import HealthDeleted
from vrm.protocol.v1.records import Receipt
from vrm.vault import Sealer


def receive(
    connection: Connection, sealer: Sealer, message: Message, *, max_age: float, now: float
) -> list[str]:
    """Apply a verified message from a vendor; return the ids of the messages it queued.

    Raises:
        ProtocolError: the sender is not the vendor that DID was made for, or the
            message does not fit (a vendor announcing a person's state, an answer
            to terms never proffered, a signature that does not verify, a receipt
            outside an accepted relationship).
    """
    if isinstance(message.body, PaymentReceipt):  # from a payee: no relationship to it
        payment_notices.take_receipt(connection, sealer, message, now=now)
        return []
    relationship = relationship_for(connection, sealer, message.envelope.to)
    if relationship is None or relationship.vendor.did != message.sender:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT,
            "this address takes messages only from the vendor it was made for",
        )
    body = message.body
    was_active = relationship.active
    queued: list[str] = []
    if isinstance(body, RelationshipState):
        _vendor_state(connection, sealer, relationship, message, body, now)
    elif isinstance(body, AgreementAnswer):
        outcome = agreements.take_vendor_answer(
            connection,
            sealer,
            relationship=relationship,
            answer=body,
            message_id=message.id,
            rule=load_terms_settings(connection).alternatives,
            max_age=max_age,
            now=now,
        )
        queued += outcome.queued
        queued += _proffer_newer_choice(
            connection, sealer, relationship, body.terms_sha256, max_age, now
        )
    elif isinstance(body, DataExport | DataErased):
        data_rights.take_answer(
            connection, sealer, relationship=relationship, message=message, now=now
        )
    elif isinstance(body, Receipt):
        receipts.take_receipt(
            connection, sealer, relationship=relationship, message=message, now=now
        )
    elif isinstance(body, HealthDeleted):  # taken even once the relationship ended
        health_presentations.take_deletion(
            connection, sealer, relationship=relationship, message=message, now=now
        )
    elif isinstance(body, Membership):
        memberships.take_membership(
            connection, sealer, relationship=relationship, message=message, now=now
        )
    elif isinstance(body, MembershipRevoke):  # taken even once the relationship ended
        memberships.take_revocation(
            connection, sealer, relationship=relationship, message=message, now=now
        )
    elif isinstance(body, ProblemReport):
        _problem(connection, sealer, relationship, message, body, now)
    else:
        raise ProtocolError(
            RefusalCode.UNKNOWN_TYPE, f"a person's agent does not take {message.type} from vendors"
        )
    changed = get_relationship(connection, sealer, relationship.id)
    if changed.active and not was_active:
        queued += disclosure.disclose_all_granted(
            connection, sealer, changed, max_age=max_age, now=now
        )
    return queued


def _proffer_newer_choice(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    answered: str,
    max_age: float,
    now: float,
) -> list[str]:
    """Proffer the person's terms if they chose others while the vendor was deciding.

    ``answered`` is the hash of the terms the vendor answered: whether it accepted them,
    rejected them or proffered an alternative, the person's newer choice follows (an
    alternative still waiting for the person is superseded by it).
    """
    current = get_relationship(connection, sealer, relationship.id)
    if current.person_state == PartyState.ENDED or current.vendor_state != PartyState.ACCEPTED:
        return []
    chosen = terms_for(connection, relationship.id)
    if chosen.sha256() == answered:
        return []
    made = agreements.proffer_again(
        connection,
        sealer,
        relationship=current,
        terms=chosen,
        max_age=max_age,
        now=now,
    )
    return [] if made is None else [made[1]]


def _vendor_state(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    message: Message,
    body: RelationshipState,
    now: float,
) -> None:
    if body.state not in VENDOR_STATES:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, "a vendor's state is accepted, refused or ended"
        )
    set_vendor_state(
        connection,
        sealer,
        relationship,
        body.state,
        message_id=message.id,
        reason=body.reason,
        now=now,
    )


def _problem(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    message: Message,
    body: ProblemReport,
    now: float,
) -> None:
    outbox.mark_reported(
        connection,
        sealer,
        vendor_id=relationship.id,
        message_id=message.envelope.thid,
        code=str(body.code),
        detail=body.detail,
    )
    audit.append(
        connection,
        sealer,
        kind="vendor.problem",
        details={
            "vendor": relationship.id,
            "code": str(body.code),
            "detail": body.detail,
            "about": message.envelope.thid,
            "message": message.id,
        },
        now=now,
    )
