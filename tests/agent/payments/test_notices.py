"""Payment notices and payees' receipts: told once, with the terms; receipts checked and kept."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.agent.payments.providers import CountingProvider, refused
from tests.agent.vendors import files_on_disk, in_clear
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.payments import notices
from vrm.agent.payments.allocation import Weight
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.payments.notices import NoticeRecord, PayeeContact
from vrm.agent.payments.providers import LedgerOnlyProvider
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent
from vrm.protocol import (
    PAYMENT_RECEIPT,
    Identity,
    Message,
    PaymentNotice,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    payment_types,
)

MONTH = "2026-03"
TERMS = ["no fund-drive calls", "no resale of my contact"]
STATION = Identity.generate()


def paid_station(person: PersonalAgent) -> tuple[PayeeContact, NoticeRecord]:
    """Radio paid 7.50 of 10 EUR and told of it, as the desk does after the first contact."""
    person.set_budget("10.00", "EUR")
    radio = person.add_payee(
        "Radio Quincunx", Weight(Decimal(3)), endpoint="https://radio.example/", terms=TERMS
    )
    person.add_payee("Fen Zine", Weight(Decimal(1)))
    person.pay(MONTH, LedgerOnlyProvider())
    [payment] = [p for p in person.payments(MONTH) if p.payee_id == radio.id]
    with person.engine.begin() as connection:
        contact = notices.add_contact(
            connection,
            person.sealer,
            radio.id,
            their_did=STATION.did,
            inbox="https://radio.example/inbox",
            now=person.clock(),
        )
        notices.queue_notice(
            connection,
            person.sealer,
            payment,
            radio,
            contact,
            reply_to="http://127.0.0.1:8470/inbox",
            max_age=3600,
            now=person.clock(),
        )
        sent = notices.notice_of(connection, person.sealer, payment.id)
    assert sent is not None
    return contact, sent


def receipt(
    contact: PayeeContact, notice: PaymentNotice, *, sender: Identity = STATION, **changes: Any
) -> Message:
    """The payee's receipt of ``notice``, as the agent's inbox verified it."""
    body = {
        "payment": notice.payment,
        "month": notice.month,
        "amount": notice.amount,
        "currency": notice.currency,
        "terms": list(notice.terms),
        "payee": "Radio Quincunx",
    } | changes
    _, token = compose(sender, type=PAYMENT_RECEIPT, to=contact.our_did, body=body)
    return Verifier(receiver=contact.our_did, types=payment_types(), seen_ids=None).verify(token)


def test_the_notice_carries_the_share_and_the_persons_terms(person: PersonalAgent) -> None:
    """The notice says the month, the amount, the provider's reference and every term."""
    _contact, sent = paid_station(person)
    [payment] = [p for p in person.payments(MONTH) if p.id == sent.payment_id]
    assert sent.notice.model_dump(exclude={"payment"}) == {
        "month": MONTH,
        "amount": "7.50",
        "currency": "EUR",
        "provider": "ledger-only",
        "reference": payment.reference,
        "terms": TERMS,
        "reply_to": "http://127.0.0.1:8470/inbox",
    }
    assert sent.notice.payment.startswith("vrm-paid-")
    assert payment.idempotency_key not in sent.notice.payment  # the provider's key stays its own
    assert sent.receipt is None
    [entry] = [e for e in person.audit_entries() if e.kind == "payment.notice_sent"]
    assert describe(entry, {}) == "Told Radio Quincunx of 7.50 EUR paid for 2026-03, with 2 terms"


def test_only_paid_payments_with_no_notice_are_due(person: PersonalAgent) -> None:
    """A notice goes once per paid payment; the zine without an endpoint is never due."""
    _contact, sent = paid_station(person)
    with person.engine.begin() as connection:
        left = notices.unsent(connection)
    zine = [p.id for p in person.payments(MONTH) if p.payee_name == "Fen Zine"]
    assert left == zine
    assert PaymentsDesk(person).pending() == []  # the zine has no endpoint to tell
    assert sent.payment_id not in left


def test_the_payees_receipt_is_kept_as_signed_and_audited(person: PersonalAgent) -> None:
    """A receipt repeating the notice is kept, verified when read; the same one again is a no-op."""
    contact, sent = paid_station(person)
    message = receipt(contact, sent.notice, note="Thank you")
    person.receive(message)
    person.receive(message)
    kept = PaymentsDesk(person).notices()[sent.payment_id]
    assert kept.receipt is not None
    assert kept.receipt.note == "Thank you"
    assert kept.signed_receipt == message.compact
    assert kept.acknowledged_at is not None
    entries = [e for e in person.audit_entries() if e.kind == "payment.acknowledged"]
    assert len(entries) == 1
    assert describe(entries[0], {}) == "Radio Quincunx acknowledged 7.50 EUR and 2 terms"


@pytest.mark.parametrize(
    ("changes", "sender", "code"),
    [
        ({}, Identity.generate(), RefusalCode.WRONG_RECIPIENT),
        ({"terms": TERMS[:1]}, STATION, RefusalCode.INVALID_BODY),
        ({"amount": "7.00"}, STATION, RefusalCode.INVALID_BODY),
        ({"payment": "vrm-paid-0000000000000000"}, STATION, RefusalCode.INVALID_BODY),
    ],
    ids=["another-sender", "a-term-left-out", "another-amount", "unknown-payment"],
)
def test_a_receipt_that_does_not_fit_is_refused_and_nothing_kept(
    person: PersonalAgent, changes: dict[str, Any], sender: Identity, code: RefusalCode
) -> None:
    """From someone else, or not repeating the notice, a receipt is refused and not kept."""
    contact, sent = paid_station(person)
    with pytest.raises(ProtocolError) as refusal:
        person.receive(receipt(contact, sent.notice, sender=sender, **changes))
    assert refusal.value.code == code
    assert PaymentsDesk(person).notices()[sent.payment_id].receipt is None
    assert not [e for e in person.audit_entries() if e.kind == "payment.acknowledged"]


def test_contacts_notices_and_receipts_are_sealed(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Neither the payee's DID, the terms nor the amounts are readable in the database files."""
    contact, sent = paid_station(person)
    person.receive(receipt(contact, sent.notice))
    stored = files_on_disk(agent.engine, tmp_path)
    for secret in (STATION.did, *TERMS, "radio.example", "Radio Quincunx"):
        assert not in_clear(secret, stored), secret


def test_a_final_failure_can_be_made_due_once_mended(person: PersonalAgent) -> None:
    """The person lets a refused payment be tried again; the next pay pays it, same key."""
    person.set_budget("10.00", "EUR")
    radio = person.add_payee("Radio Quincunx", Weight(Decimal(1)))
    provider = CountingProvider(failures={radio.id: [refused()]})
    [failed] = person.pay(MONTH, provider)
    assert (failed.state, failed.retryable) == ("failed", False)
    person.pay(MONTH, provider)
    assert len(provider.calls) == 1  # final: not tried by itself

    desk = PaymentsDesk(person)
    assert desk.retry(failed.id).retryable is True
    [paid] = person.pay(MONTH, provider)
    assert paid.state == "paid"
    assert [key for _, key in provider.calls] == [failed.idempotency_key] * 2
    with pytest.raises(Conflict, match="only a failed payment"):
        desk.retry(paid.id)
    with pytest.raises(NotFound):
        desk.retry(999)
