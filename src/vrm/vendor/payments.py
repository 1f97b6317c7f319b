"""Payments people tell the endpoint of (EmanciPay), and the receipts it signs back.

A person's agent that paid this vendor — a station, a creator — sends a
``payment.notice`` (docs/protocol.md 7.13) from a DID it keeps for this payee: the
amount, the month, the provider's reference and the person's terms. No relationship
is needed: anyone may pay. The endpoint keeps the notice as signed, with its terms,
and answers with a signed ``payment.receipt`` that acknowledges the amount and every
term, queued (encrypted to the payer) like every other answer. A repeated notice
for the same payment changes nothing (its receipt was queued once); one that changes the
amount, currency or month of a payment already acknowledged is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from vrm.protocol import (
    PAYMENT_RECEIPT,
    Message,
    PaymentNotice,
    PaymentReceipt,
    ProtocolError,
    RefusalCode,
)
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.schema import payments_received

THANKS = "Thank you. Your terms are noted with your payment."


@dataclass(frozen=True)
class ReceivedPayment:
    """A payment a person told the endpoint of, with their terms and the receipt sent."""

    id: int
    payer: str
    payment: str
    month: str
    amount: str
    currency: str
    provider: str
    reference: str | None
    terms: tuple[str, ...]
    receipt_id: str
    received_at: float

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the amount as exact decimal text)."""
        return {
            "id": self.id,
            "payer": self.payer,
            "payment": self.payment,
            "month": self.month,
            "amount": self.amount,
            "currency": self.currency,
            "provider": self.provider,
            "reference": self.reference,
            "terms": list(self.terms),
            "receipt_id": self.receipt_id,
            "received_at": self.received_at,
        }


class PaymentsReceived:
    """Takes payment notices and signs their receipts, in one transaction each.

    Args:
        engine: the endpoint's database.
        outgoing: signs and queues the receipts.
        payee: the name the receipts are signed with (the endpoint's name).
    """

    def __init__(self, engine: Engine, *, outgoing: Outgoing, payee: str) -> None:
        self.engine = engine
        self.outgoing = outgoing
        self.payee = payee

    def receive(self, message: Message) -> bool:
        """Keep a verified notice and queue its receipt; False when it was told before.

        The receipt of a payment told before was queued then (the job queue keeps one
        job per message), so a repeat queues nothing new.

        Raises:
            ProtocolError: the payer told of this payment before with another amount,
                currency or month.
        """
        notice = message.body
        if not isinstance(notice, PaymentNotice):
            raise ProtocolError(RefusalCode.UNKNOWN_TYPE, f"{message.type} is not a notice")
        with self.engine.begin() as connection:
            known = connection.execute(
                select(payments_received).where(
                    payments_received.c.payer == message.sender,
                    payments_received.c.payment == notice.payment,
                )
            ).one_or_none()
            if known is not None:
                _same_payment(known, notice)
                return False
            receipt_id, token = self._sign_receipt(message, notice)
            connection.execute(
                payments_received.insert().values(
                    payer=message.sender,
                    payment=notice.payment,
                    month=notice.month,
                    amount=notice.amount,
                    currency=notice.currency,
                    notice=notice.model_dump_json(exclude_none=True),
                    receipt_id=receipt_id,
                    receipt=token,
                    received_at=self.outgoing.clock(),
                )
            )
            self.outgoing.enqueue(
                connection,
                to=message.sender,
                inbox=notice.reply_to,
                message_id=receipt_id,
                token=token,
                encrypted=True,
            )
        return True

    def received(self, month: str | None = None) -> list[ReceivedPayment]:
        """The payments told of (in one month, or all), newest first."""
        query = select(payments_received).order_by(payments_received.c.id.desc())
        if month is not None:
            query = query.where(payments_received.c.month == month)
        with self.engine.begin() as connection:
            return [_listed(row) for row in connection.execute(query)]

    def _sign_receipt(self, message: Message, notice: PaymentNotice) -> tuple[str, str]:
        receipt = PaymentReceipt(
            payment=notice.payment,
            month=notice.month,
            amount=notice.amount,
            currency=notice.currency,
            terms=list(notice.terms),
            payee=self.payee,
            note=THANKS if notice.terms else None,
        )
        return self.outgoing.sign(
            to=message.sender, type=PAYMENT_RECEIPT, body=receipt, thid=message.id
        )


def _same_payment(known: Any, notice: PaymentNotice) -> None:
    told = (known.month, known.amount, known.currency)
    if told != (notice.month, notice.amount, notice.currency):
        raise ProtocolError(
            RefusalCode.INVALID_BODY,
            f"payment {notice.payment} was told as {known.amount} {known.currency} "
            f"for {known.month}; a notice cannot change it",
        )


def _listed(row: Any) -> ReceivedPayment:
    notice = json.loads(row.notice)
    return ReceivedPayment(
        id=row.id,
        payer=row.payer,
        payment=row.payment,
        month=row.month,
        amount=row.amount,
        currency=row.currency,
        provider=notice["provider"],
        reference=notice.get("reference"),
        terms=tuple(notice.get("terms", ())),
        receipt_id=row.receipt_id,
        received_at=row.received_at,
    )
