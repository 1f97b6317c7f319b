"""Payment notices at a payee's endpoint: kept with the terms, answered by a signed receipt.

On SQLite and PostgreSQL. The receipts are read back as the payer's agent reads them:
decrypted with the payer's key and verified.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.vendor.people import VENDOR, queued
from vrm.protocol import (
    PAYMENT_NOTICE,
    Identity,
    Message,
    PaymentReceipt,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    decrypt,
    payment_types,
)
from vrm.vendor.jobs import MESSAGE_QUEUE
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.payments import PaymentsReceived

TERMS = ["no fund-drive calls", "no resale of my contact"]
REPLY_TO = "http://127.0.0.1:9/inbox"


def notice(payer: Identity, **changes: Any) -> Message:
    """A payer's notice of 6.00 EUR for 2026-11, as the endpoint's inbox verified it."""
    body = {
        "payment": "vrm-paid-3f9a0c1d2e4b5a6c",
        "month": "2026-11",
        "amount": "6.00",
        "currency": "EUR",
        "provider": "stripe",
        "reference": "pi_3Q0aXy2eZvKYlo2C0kT7a1Bq",
        "terms": TERMS,
        "reply_to": REPLY_TO,
    } | changes
    _, token = compose(payer, type=PAYMENT_NOTICE, to=VENDOR.did, body=body)
    return Verifier(receiver=VENDOR.did, types=payment_types(), seen_ids=None).verify(token)


def payee(engine: Engine) -> PaymentsReceived:
    return PaymentsReceived(engine, outgoing=Outgoing(VENDOR, 3600, time.time), payee="Radio Leith")


def receipts_for(engine: Engine, payer: Identity) -> list[Message]:
    """The receipts queued for ``payer``, decrypted and verified as its agent does."""
    verifier = Verifier(receiver=payer.did, types=payment_types(), seen_ids=None)
    return [
        verifier.verify(decrypt(payload["token"], payer))
        for queue, to, payload in queued(engine)
        if queue == MESSAGE_QUEUE and to == payer.did and payload["encrypted"]
    ]


def test_a_notice_is_kept_with_its_terms_and_answered_by_a_signed_receipt(
    engine: Engine,
) -> None:
    """The payee lists the payment with the payer's terms and signs a receipt repeating them."""
    payer = Identity.generate()
    told = notice(payer)
    station = payee(engine)
    assert station.receive(told) is True

    [listed] = station.received()
    assert listed.as_json() | {"id": 0, "received_at": 0} == {
        "id": 0,
        "payer": payer.did,
        "payment": "vrm-paid-3f9a0c1d2e4b5a6c",
        "month": "2026-11",
        "amount": "6.00",
        "currency": "EUR",
        "provider": "stripe",
        "reference": "pi_3Q0aXy2eZvKYlo2C0kT7a1Bq",
        "terms": TERMS,
        "receipt_id": listed.receipt_id,
        "received_at": 0,
    }
    [receipt] = receipts_for(engine, payer)
    assert receipt.sender == VENDOR.did
    assert receipt.envelope.thid == told.id
    assert receipt.id == listed.receipt_id
    assert isinstance(receipt.body, PaymentReceipt)
    assert receipt.body.model_dump(exclude={"note"}) == {
        "payment": "vrm-paid-3f9a0c1d2e4b5a6c",
        "month": "2026-11",
        "amount": "6.00",
        "currency": "EUR",
        "terms": TERMS,
        "payee": "Radio Leith",
    }
    assert station.received("2026-10") == []


def test_a_repeated_notice_changes_nothing_and_a_changed_one_is_refused(
    engine: Engine,
) -> None:
    """Told again, the payee keeps one payment and one receipt; a changed amount is refused."""
    payer = Identity.generate()
    station = payee(engine)
    assert station.receive(notice(payer)) is True
    assert station.receive(notice(payer)) is False
    assert len(receipts_for(engine, payer)) == 1
    assert len(station.received()) == 1

    with pytest.raises(ProtocolError) as refusal:
        station.receive(notice(payer, amount="60.00"))
    assert refusal.value.code == RefusalCode.INVALID_BODY
    assert [p.amount for p in station.received()] == ["6.00"]


def test_payers_are_kept_apart(engine: Engine) -> None:
    """Two payers may use the same payment id: each is a payment of its own."""
    station = payee(engine)
    one, other = Identity.generate(), Identity.generate()
    station.receive(notice(one))
    station.receive(notice(other, amount="2.50", terms=[]))
    assert sorted((p.payer, p.amount) for p in station.received()) == sorted(
        [(one.did, "6.00"), (other.did, "2.50")]
    )
    [receipt] = receipts_for(engine, other)
    assert isinstance(receipt.body, PaymentReceipt)
    assert receipt.body.note is None  # nothing to note without terms


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"amount": "0.00"}, "more than zero"),
        ({"terms": ["no calls", "no calls"]}, "each term is named once"),
        ({"month": "2026-13"}, "month"),
        ({"currency": "eur"}, "currency"),
        ({"amount": "1,50"}, "amount"),
    ],
)
def test_a_notice_that_does_not_fit_is_refused_by_the_inbox(
    changes: dict[str, Any], problem: str
) -> None:
    """Zero, repeated terms, a month 13, a lower-case currency or a comma: refused, said why."""
    with pytest.raises(ProtocolError, match=problem) as refusal:
        notice(Identity.generate(), **changes)
    assert refusal.value.code == RefusalCode.INVALID_BODY
