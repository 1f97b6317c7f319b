"""The message types of EmanciPay: a person's payment notice and the payee's receipt.

When the person's agent has paid a payee (a public station, a creator, any
endpoint that takes payments), it sends a ``payment.notice`` from a DID it keeps
for that payee alone: how much, for which month, through which provider and with
which reference, and the person's terms that come with the money ("no fund-drive
calls", "no resale of my contact"). The payee's endpoint answers with a signed
``payment.receipt`` that names the payment, repeats the amount and acknowledges
each of the terms; the person keeps it in their records.

Money is decimal text, as in receipts (section 7.9). A notice names no person:
the payee learns a pseudonymous DID, the amount and the terms, nothing else.
Specification: docs/protocol.md, section 7.13.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, model_validator

from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.intents import Currency, Name
from vrm.protocol.v1.message_types import Body, HttpUrl, ShortText, v1_types
from vrm.protocol.v1.records import Money

PAYMENT_NOTICE = "vrm/1/payment.notice"
PAYMENT_RECEIPT = "vrm/1/payment.receipt"

PaymentId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]
"""The payer's id of one payment: the same in every notice and receipt about it."""
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Term = Annotated[str, Field(min_length=1, max_length=200)]
Reference = Annotated[str, Field(min_length=1, max_length=255)]
MAX_TERMS = 20
_ZERO = re.compile(r"^0(\.0+)?$")


class PaymentNotice(Body):
    """Tells a payee it was paid, and on which terms.

    ``payment`` is the payer's id of this payment (a retry of the notice carries the
    same one); ``reply_to`` is the inbox the receipt goes to.
    """

    payment: PaymentId
    month: Month
    amount: Money
    currency: Currency
    provider: Name
    reference: Reference | None = None
    """The payment provider's reference (e.g. its payment id), when it gives one."""
    terms: list[Term] = Field(default_factory=list, max_length=MAX_TERMS)
    reply_to: HttpUrl

    @model_validator(mode="after")
    def _something_paid(self) -> PaymentNotice:
        if _ZERO.match(self.amount):
            raise ValueError("a payment notice is for an amount more than zero")
        if len(set(self.terms)) != len(self.terms):
            raise ValueError("each term is named once")
        return self


class PaymentReceipt(Body):
    """The payee's signed acknowledgement of a payment and of the terms that came with it.

    ``amount``, ``currency`` and ``terms`` repeat the notice's; a receipt that does
    not is refused by the payer.
    """

    payment: PaymentId
    month: Month
    amount: Money
    currency: Currency
    terms: list[Term] = Field(default_factory=list, max_length=MAX_TERMS)
    """The terms the payee acknowledges: all of the notice's."""
    payee: Name
    """The payee's name, as it signs."""
    note: ShortText | None = None


def payment_types() -> MessageTypes:
    """The v1 types plus the payment notice and receipt."""
    types = v1_types()
    types.add(PAYMENT_NOTICE, PaymentNotice)
    types.add(PAYMENT_RECEIPT, PaymentReceipt)
    return types
