"""EmanciPay's ledger: a month planned once, each payee paid once, failures retried alone."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.agent.payments.providers import CountingProvider, outage, refused
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.payments import ledger
from vrm.agent.payments.allocation import AllocationError, Fixed, PerUse, Weight
from vrm.agent.payments.providers import LedgerOnlyProvider
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import UnlockedAgent

MARCH, APRIL = "2026-03", "2026-04"


class Crash(BaseException):
    """The process dying in the middle of a provider call."""


def station_month(person: PersonalAgent) -> list[int]:
    """20 EUR: a podcast at a fixed 5, a station per listening hour (4 h), two weighted."""
    person.set_budget("20.00", "EUR")
    podcast = person.add_payee("Quince Podcast", Fixed(Decimal(5)))
    radio = person.add_payee(
        "Radio Quincunx",
        PerUse(Decimal("0.50"), "hour"),
        endpoint="https://quincunx.example/vrm",
        terms=["no fund-drive calls", "no resale of my contact"],
    )
    blog = person.add_payee("Lark Blog", Weight(Decimal(2)))
    zine = person.add_payee("Fen Zine", Weight(Decimal(1)))
    person.log_use(radio.id, "3", month=MARCH, note="late-night jazz")
    person.log_use(radio.id, "1", month=MARCH)
    return [podcast.id, radio.id, blog.id, zine.id]


def test_paying_a_month_pays_each_payee_once(person: PersonalAgent) -> None:
    """Every share is paid under its own key; paying the month again calls nobody."""
    ids = station_month(person)
    provider = CountingProvider()
    paid = person.pay(MARCH, provider)
    assert [(p.payee_id, p.amount, p.state) for p in paid] == [
        (ids[0], 500, "paid"),
        (ids[1], 200, "paid"),
        (ids[2], 867, "paid"),
        (ids[3], 433, "paid"),
    ]
    assert sum(p.amount for p in paid) == 2000
    assert all(p.attempts == 1 and p.reference and p.provider == "counting" for p in paid)
    assert set(provider.paid.values()) == {1}
    assert len(provider.calls) == 4

    again = person.pay(MARCH, provider)
    assert len(provider.calls) == 4
    assert again == paid
    assert person.payments(MARCH) == paid


def test_a_failed_payment_is_retried_alone_with_the_same_key(person: PersonalAgent) -> None:
    """The station's provider call fails; paying again pays only it, under the same key."""
    ids = station_month(person)
    provider = CountingProvider(failures={ids[1]: [outage()]})
    first = {p.payee_id: p for p in person.pay(MARCH, provider)}
    failed = first[ids[1]]
    assert failed.state == "failed"
    assert failed.retryable
    assert failed.last_error == "provider unavailable (503)"
    assert [first[i].state for i in (ids[0], ids[2], ids[3])] == ["paid"] * 3

    second = {p.payee_id: p for p in person.pay(MARCH, provider)}
    assert second[ids[1]].state == "paid"
    assert second[ids[1]].attempts == 2
    assert second[ids[1]].idempotency_key == failed.idempotency_key
    assert provider.calls[4:] == [(ids[1], failed.idempotency_key)]
    assert [key for _, key in provider.calls].count(failed.idempotency_key) == 2
    assert set(provider.paid.values()) == {1}
    assert len(provider.paid) == 4
    assert [second[i] for i in (ids[0], ids[2], ids[3])] == [
        first[i] for i in (ids[0], ids[2], ids[3])
    ]


def test_a_final_failure_is_not_retried(person: PersonalAgent) -> None:
    """A failure the provider calls final stays failed; paying again leaves it alone."""
    ids = station_month(person)
    provider = CountingProvider(failures={ids[2]: [refused()]})
    person.pay(MARCH, provider)
    person.pay(MARCH, provider)
    [blog] = [p for p in person.payments(MARCH) if p.payee_id == ids[2]]
    assert (blog.state, blog.retryable, blog.attempts) == ("failed", False, 1)
    assert [payee for payee, _ in provider.calls].count(ids[2]) == 1


def test_a_provider_fault_is_recorded_and_retried(person: PersonalAgent) -> None:
    """An unexpected error from the provider is a retryable failure, not a lost payment."""
    ids = station_month(person)
    provider = CountingProvider(failures={ids[0]: [RuntimeError("socket closed")]})
    [podcast, *_] = person.pay(MARCH, provider)
    assert podcast.state == "failed"
    assert podcast.last_error == "unexpected RuntimeError: socket closed"
    assert person.pay(MARCH, provider)[0].state == "paid"


def test_a_call_that_never_came_back_is_retried_with_its_key(person: PersonalAgent) -> None:
    """A crash during the call leaves the payment paying; the next pay finishes it."""
    ids = station_month(person)
    provider = CountingProvider(failures={ids[0]: [Crash()]})
    with pytest.raises(Crash):
        person.pay(MARCH, provider)
    [podcast, *rest] = person.payments(MARCH)
    assert (podcast.state, podcast.attempts) == ("paying", 1)
    assert {p.state for p in rest} == {"planned"}

    done = person.pay(MARCH, provider)
    assert {p.state for p in done} == {"paid"}
    assert done[0].attempts == 2
    assert provider.calls.count((ids[0], podcast.idempotency_key)) == 2
    assert set(provider.paid.values()) == {1}


def test_the_key_is_stable_per_month_and_payee(agent: UnlockedAgent, person: PersonalAgent) -> None:
    """The key is derived from month and payee: the same on every try, unlike any other."""
    ids = station_month(person)
    person.add_payee("Other", Weight(Decimal(1)))
    paid = person.pay(MARCH, LedgerOnlyProvider())
    keys = {p.idempotency_key for p in paid}
    assert len(keys) == len(paid)
    for record in paid:
        assert record.idempotency_key == ledger.idempotency_key(
            agent.sealer, MARCH, record.payee_id
        )
        assert record.idempotency_key != ledger.idempotency_key(agent.sealer, APRIL, ids[0])
        assert record.reference == f"ledger:{record.idempotency_key}"


def test_a_month_is_planned_once(person: PersonalAgent) -> None:
    """After March is planned, budget and payee changes and new uses do not touch it."""
    ids = station_month(person)
    provider = CountingProvider()
    paid = person.pay(MARCH, provider)
    person.set_budget("50.00", "EUR")
    person.add_payee("Late Comer", Weight(Decimal(5)))
    with pytest.raises(Conflict, match="2026-03 is paid already"):
        person.log_use(ids[1], "2", month=MARCH)
    assert person.pay(MARCH, provider) == paid
    april = person.pay(APRIL, provider)
    assert sum(p.amount for p in april) == 5000
    assert len(april) == 4  # the station logged nothing in April


def test_uses_are_kept_per_month(person: PersonalAgent) -> None:
    """Uses belong to their month; the preview of each month counts its own."""
    ids = station_month(person)
    person.log_use(ids[1], "10", month=APRIL, note="a long weekend")
    assert [(u.units, u.note) for u in person.uses(MARCH)] == [
        (Decimal(3), "late-night jazz"),
        (Decimal(1), None),
    ]
    assert [(u.units, u.note) for u in person.uses(APRIL)] == [(Decimal(10), "a long weekend")]
    assert person.allocation(MARCH).amount_of(ids[1]) == 200
    assert person.allocation(APRIL).amount_of(ids[1]) == 500
    assert person.uses("2026-05") == []


def test_a_preview_records_nothing(person: PersonalAgent) -> None:
    """The allocation is shown, not kept: no payments, no audit entry."""
    station_month(person)
    before = len(person.audit_entries())
    assert person.allocation(MARCH).total == 2000
    assert person.payments() == []
    assert len(person.audit_entries()) == before


def test_a_removed_payee_keeps_its_past_and_leaves_the_future(person: PersonalAgent) -> None:
    """Removed after March: named in March's ledger, left out of April."""
    ids = station_month(person)
    person.pay(MARCH, LedgerOnlyProvider())
    removed = person.remove_payee(ids[3])
    assert removed.removed_at is not None
    assert [p.id for p in person.payees()] == ids[:3]
    assert [p.id for p in person.payees(removed=True)] == ids
    assert "Fen Zine" in [p.payee_name for p in person.payments(MARCH)]
    assert ids[3] not in [p.payee_id for p in person.pay(APRIL, LedgerOnlyProvider())]
    with pytest.raises(NotFound, match="removed"):
        person.remove_payee(ids[3])


def test_what_it_keeps_is_sealed_at_rest(
    agent: UnlockedAgent, person: PersonalAgent, tmp_path: Path
) -> None:
    """Names, endpoints, terms, notes and amounts are not in the database files in clear."""
    station_month(person)
    person.set_budget("4321.09", "EUR")
    person.pay(MARCH, LedgerOnlyProvider())
    agent.engine.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())
    for secret in (
        b"Radio Quincunx",
        b"quincunx.example",
        b"no fund-drive calls",
        b"late-night jazz",
        b"4321.09",
        b"432109",
        b"hour",
        b"ledger:",
    ):
        assert secret not in stored, secret


def test_each_step_is_audited_in_words(person: PersonalAgent) -> None:
    """Budget, payees, the plan and each payment and failure are in the log, in words."""
    ids = station_month(person)
    person.pay(MARCH, CountingProvider(failures={ids[1]: [outage()]}))
    entries = [e for e in person.audit_entries() if "pay" in e.kind]
    said = [describe(entry, {}) for entry in entries]
    kinds = [entry.kind for entry in entries]
    assert kinds[0] == "payments.budget"
    assert kinds.count("payee.added") == 4
    assert (
        kinds[5:]
        == ["payments.planned"] + ["payment.paid"] + ["payment.failed"] + ["payment.paid"] * 2
    )
    assert said[0] == "Your monthly budget is now 20.00 EUR"
    assert said[1] == "You added Quince Podcast to your payees"
    assert said[5] == "Planned 2026-03's payments: 4 totalling 20.00 of 20.00 EUR"
    assert said[6].startswith("Paid 5.00 EUR to Quince Podcast for 2026-03 (reference ref-")
    assert said[7] == (
        "Paying 2.00 EUR to Radio Quincunx for 2026-03 failed: provider unavailable (503) "
        "(will be retried)"
    )


def test_unallocated_money_is_said_in_the_plan(person: PersonalAgent) -> None:
    """Without a weighted payee, what is left is recorded and said unallocated."""
    person.set_budget("10", "EUR")
    person.add_payee("Quince Podcast", Fixed(Decimal(4)))
    [paid] = person.pay(MARCH, LedgerOnlyProvider())
    assert paid.amount == 400
    [planned] = [e for e in person.audit_entries() if e.kind == "payments.planned"]
    assert describe(planned, {}).endswith("(6.00 EUR left unallocated)")


def test_budget_and_payees_are_checked(person: PersonalAgent) -> None:
    """Bad amounts, currencies, names, URLs and uses are refused with a clear message."""
    with pytest.raises(Conflict, match="no budget"):
        person.pay(MARCH, LedgerOnlyProvider())
    with pytest.raises(ValueError, match="ISO 4217"):
        person.set_budget("10", "EURO")
    with pytest.raises(ValueError, match="more decimals than JPY"):
        person.set_budget("10.5", "JPY")
    with pytest.raises(ValueError, match="digits"):
        person.set_budget("-10", "EUR")
    assert person.budget() is None
    budget = person.set_budget("1500", "jpy")
    assert (budget.amount, budget.currency, budget.minor) == (Decimal(1500), "JPY", 1500)
    assert person.budget() == budget
    with pytest.raises(AllocationError, match="no payees"):
        person.pay(MARCH, LedgerOnlyProvider())
    with pytest.raises(ValueError, match="more decimals than JPY"):
        person.add_payee("Yen Fixed", Fixed(Decimal("1.5")))
    with pytest.raises(ValueError, match="http or https"):
        person.add_payee("Bad URL", Weight(Decimal(1)), endpoint="ftp://x.example")
    weighted = person.add_payee("Lark Blog", Weight(Decimal(1)))
    with pytest.raises(Conflict, match="already is a payee named"):
        person.add_payee("lark blog", Weight(Decimal(1)))
    with pytest.raises(Conflict, match="not paid per use"):
        person.log_use(weighted.id, "1", month=MARCH)
    per_use = person.add_payee("Radio", PerUse(Decimal(1), "hour"))
    with pytest.raises(ValueError, match="more than zero"):
        person.log_use(per_use.id, "0", month=MARCH)
    with pytest.raises(ValueError, match="YYYY-MM"):
        person.log_use(per_use.id, "1", month="2026-13")
    with pytest.raises(NotFound, match="no payee 99"):
        person.log_use(99, "1")
    with pytest.raises(ValueError, match="YYYY-MM"):
        person.pay("March", LedgerOnlyProvider())


def test_this_month_is_the_default(person: PersonalAgent) -> None:
    """Uses and pay without a month go to the agent's current month."""
    person.set_budget("3", "EUR")
    radio = person.add_payee("Radio", PerUse(Decimal(1), "hour"))
    person.add_payee("Blog", Weight(Decimal(1)))
    logged = person.log_use(radio.id, "1")
    assert logged.month == person.this_month()
    assert {p.month for p in person.pay(None, LedgerOnlyProvider())} == {person.this_month()}
