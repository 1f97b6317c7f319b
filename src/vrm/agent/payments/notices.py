"""Payment notices to payees and the payees' signed receipts, kept in the person's records.

Once a payment is paid, a payee with an endpoint is told of it by a signed
``payment.notice`` (docs/protocol.md 7.13) carrying the person's terms. It comes
from a DID the person keeps for that payee alone (a *contact*: no relationship,
no profile — a payee learns an amount, a month and the terms), made the first time
and pinned to the payee's DID as its endpoint then announced it. The payee's
``payment.receipt`` must come from that DID to that contact, name a payment told
of, and repeat its month, amount, currency and every term; it is then kept sealed
as signed and verified again whenever it is read. Every function works in the
caller's transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.identities.service import Purpose, create_identity, load_identity
from vrm.agent.outbox import store as outbox
from vrm.agent.payments.ledger import PAID, PaymentRecord
from vrm.agent.payments.money import from_minor
from vrm.agent.payments.payees import Payee, get_payee
from vrm.protocol import (
    PAYMENT_NOTICE,
    Identity,
    Message,
    PaymentNotice,
    PaymentReceipt,
    ProtocolError,
    RefusalCode,
    payment_types,
)
from vrm.protocol.kept import verify_kept
from vrm.vault import Sealer

_NOTICE_PURPOSE = "payment-notice"


@dataclass(frozen=True)
class PayeeContact:
    """How the person reaches one payee: their own DID for it, the payee's DID and inbox."""

    payee_id: int
    our_did: str
    their_did: str
    inbox: str


@dataclass(frozen=True)
class NoticeRecord:
    """A payment's notice, and the payee's receipt once it came."""

    payment_id: int
    notice_id: str
    message_id: str
    notice: PaymentNotice
    sent_at: float
    receipt: PaymentReceipt | None
    acknowledged_at: float | None
    signed_receipt: str | None
    """The payee's receipt as received (compact JWS), verified when it was read."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "payment": self.payment_id,
            "notice": self.notice_id,
            "message_id": self.message_id,
            "terms": list(self.notice.terms),
            "sent_at": self.sent_at,
            "acknowledged": self.receipt is not None,
            "acknowledged_at": self.acknowledged_at,
            "receipt": None if self.receipt is None else self.receipt.model_dump(mode="json"),
            "signed_receipt": self.signed_receipt,
        }


def unsent(connection: Connection) -> list[int]:
    """The paid payments no notice was sent for, oldest first."""
    return list(
        connection.execute(
            text(
                "SELECT p.id FROM payments p LEFT JOIN payment_notices n ON n.payment_id = p.id"
                " WHERE p.state = :paid AND n.payment_id IS NULL ORDER BY p.id"
            ),
            {"paid": PAID},
        ).scalars()
    )


def contact(connection: Connection, sealer: Sealer, payee_id: int) -> PayeeContact | None:
    """The person's contact with a payee, or None before the first notice."""
    row = connection.execute(
        text("SELECT our_did, sealed_contact FROM payee_contacts WHERE payee_id = :id"),
        {"id": payee_id},
    ).first()
    if row is None:
        return None
    kept = json.loads(sealer.open_text(row.sealed_contact, _contact_place(payee_id)))
    return PayeeContact(payee_id, row.our_did, kept["did"], kept["inbox"])


def add_contact(
    connection: Connection,
    sealer: Sealer,
    payee_id: int,
    *,
    their_did: str,
    inbox: str,
    now: float,
) -> PayeeContact:
    """Make the person's DID for a payee and pin the payee's DID and inbox to it."""
    identity = create_identity(connection, sealer, purpose=Purpose.PAYEE, now=now)
    sealed = sealer.seal_text(
        json.dumps({"did": their_did, "inbox": inbox}), _contact_place(payee_id)
    )
    connection.execute(
        text(
            "INSERT INTO payee_contacts (payee_id, our_did, sealed_contact, created_at)"
            " VALUES (:id, :did, :sealed, :now)"
        ),
        {"id": payee_id, "did": identity.did, "sealed": sealed, "now": now},
    )
    return PayeeContact(payee_id, identity.did, their_did, inbox)


def contact_dids(connection: Connection) -> set[str]:
    """The person's DIDs kept for payees (public keys: nothing to unseal)."""
    return set(connection.execute(text("SELECT our_did FROM payee_contacts")).scalars())


def queue_notice(
    connection: Connection,
    sealer: Sealer,
    payment: PaymentRecord,
    payee: Payee,
    to: PayeeContact,
    *,
    reply_to: str,
    max_age: float,
    now: float,
) -> str:
    """Sign the notice of a paid payment to its payee, queue it, audit it; its message id."""
    sender = load_identity(connection, sealer, did=to.our_did)
    assert sender is not None  # noqa: S101 - made with the contact, never deleted
    notice = PaymentNotice(
        payment=notice_id(sealer, payment),
        month=payment.month,
        amount=str(from_minor(payment.amount, payment.currency)),
        currency=payment.currency,
        provider=payment.provider or "unknown",
        reference=payment.reference,
        terms=list(payee.terms),
        reply_to=reply_to,
    )
    message_id = _enqueue(connection, sealer, sender, to, notice, max_age=max_age, now=now)
    connection.execute(
        text(
            "INSERT INTO payment_notices (payment_id, notice_id, message_id, sealed_notice,"
            " sent_at) VALUES (:payment, :notice, :message, :sealed, :now)"
        ),
        {
            "payment": payment.id,
            "notice": notice.payment,
            "message": message_id,
            "sealed": sealer.seal_text(notice.model_dump_json(), _notice_place(payment.id)),
            "now": now,
        },
    )
    audit.append(
        connection,
        sealer,
        kind="payment.notice_sent",
        details={
            "payment": payment.id,
            "payee": payee.id,
            "name": payee.name,
            "month": payment.month,
            "amount": notice.amount,
            "currency": notice.currency,
            "terms": list(notice.terms),
            "message": message_id,
        },
        now=now,
    )
    return message_id


def take_receipt(
    connection: Connection, sealer: Sealer, message: Message, *, now: float
) -> NoticeRecord:
    """Keep a payee's signed receipt for a payment it was told of.

    The same receipt again changes nothing.

    Raises:
        ProtocolError: ``wrong_recipient`` when the message is not to a payee contact
            from that payee; ``invalid_body`` when it names no notice sent to it, or
            does not repeat the notice's month, amount, currency and terms.
    """
    receipt = message.body
    assert isinstance(receipt, PaymentReceipt)  # noqa: S101 - the caller dispatches by type
    row = connection.execute(
        text("SELECT payee_id FROM payee_contacts WHERE our_did = :did"),
        {"did": message.envelope.to},
    ).first()
    found = None if row is None else contact(connection, sealer, row.payee_id)
    if found is None or found.their_did != message.sender:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this address takes receipts only from its payee"
        )
    sent = _notice_by_id(connection, sealer, receipt.payment, found.payee_id)
    if sent is None:
        raise ProtocolError(RefusalCode.INVALID_BODY, "no payment of that id was told to you")
    _check_matches(sent.notice, receipt)
    if sent.receipt is not None:
        return sent
    connection.execute(
        text(
            "UPDATE payment_notices SET sealed_receipt = :sealed, acknowledged_at = :now"
            " WHERE payment_id = :payment"
        ),
        {
            "sealed": sealer.seal_text(message.compact, _receipt_place(sent.payment_id)),
            "now": now,
            "payment": sent.payment_id,
        },
    )
    audit.append(
        connection,
        sealer,
        kind="payment.acknowledged",
        details={
            "payment": sent.payment_id,
            "payee": found.payee_id,
            "name": get_payee(connection, sealer, found.payee_id).name,
            "signed_as": receipt.payee,
            "amount": receipt.amount,
            "currency": receipt.currency,
            "terms": list(receipt.terms),
            "message": message.id,
        },
        now=now,
    )
    kept = notice_of(connection, sealer, sent.payment_id)
    assert kept is not None  # noqa: S101 - updated just above
    return kept


def notice_of(connection: Connection, sealer: Sealer, payment_id: int) -> NoticeRecord | None:
    """The notice of one payment, with its receipt if one came."""
    row = connection.execute(
        text(_SELECT + " WHERE n.payment_id = :payment"), {"payment": payment_id}
    ).first()
    return None if row is None else _record(sealer, row)


def notices(connection: Connection, sealer: Sealer) -> dict[int, NoticeRecord]:
    """Every notice sent, by payment id."""
    return {row.payment_id: _record(sealer, row) for row in connection.execute(text(_SELECT)).all()}


def notice_id(sealer: Sealer, payment: PaymentRecord) -> str:
    """The id a payee knows a payment by: the same for every notice of it, and only its."""
    return "vrm-paid-" + sealer.fingerprint(str(payment.id), _NOTICE_PURPOSE).hex()[:32]


_SELECT = (
    "SELECT n.payment_id, n.notice_id, n.message_id, n.sealed_notice, n.sealed_receipt,"
    " n.sent_at, n.acknowledged_at, c.our_did FROM payment_notices n"
    " JOIN payments p ON p.id = n.payment_id JOIN payee_contacts c ON c.payee_id = p.payee_id"
)


def _enqueue(
    connection: Connection,
    sealer: Sealer,
    sender: Identity,
    to: PayeeContact,
    notice: PaymentNotice,
    *,
    max_age: float,
    now: float,
) -> str:
    return outbox.enqueue(
        connection,
        sealer,
        sender=sender,
        to=to.their_did,
        inbox=to.inbox,
        type=PAYMENT_NOTICE,
        body=notice,
        vendor_id=None,
        max_age=max_age,
        now=now,
        encrypted=True,  # it says what the person paid: only the payee reads it
    )


def _notice_by_id(
    connection: Connection, sealer: Sealer, notice: str, payee_id: int
) -> NoticeRecord | None:
    row = connection.execute(
        text(_SELECT + " WHERE n.notice_id = :notice AND p.payee_id = :payee"),
        {"notice": notice, "payee": payee_id},
    ).first()
    return None if row is None else _record(sealer, row)


def _check_matches(notice: PaymentNotice, receipt: PaymentReceipt) -> None:
    told = (notice.month, notice.amount, notice.currency, sorted(notice.terms))
    answered = (receipt.month, receipt.amount, receipt.currency, sorted(receipt.terms))
    if told != answered:
        raise ProtocolError(
            RefusalCode.INVALID_BODY,
            "a receipt repeats the notice's month, amount, currency and every term",
        )


def _record(sealer: Sealer, row: Any) -> NoticeRecord:
    notice = PaymentNotice.model_validate_json(
        sealer.open_text(row.sealed_notice, _notice_place(row.payment_id))
    )
    receipt, signed = None, None
    if row.sealed_receipt is not None:
        signed = sealer.open_text(row.sealed_receipt, _receipt_place(row.payment_id))
        body = verify_kept(signed, receiver=row.our_did, types=payment_types()).body
        assert isinstance(body, PaymentReceipt)  # noqa: S101 - kept only after that check
        receipt = body
    return NoticeRecord(
        payment_id=row.payment_id,
        notice_id=row.notice_id,
        message_id=row.message_id,
        notice=notice,
        sent_at=row.sent_at,
        receipt=receipt,
        acknowledged_at=row.acknowledged_at,
        signed_receipt=signed,
    )


def _contact_place(payee_id: int) -> str:
    return f"payee_contacts/{payee_id}"


def _notice_place(payment_id: int) -> str:
    return f"payment_notices/{payment_id}/notice"


def _receipt_place(payment_id: int) -> str:
    return f"payment_notices/{payment_id}/receipt"
