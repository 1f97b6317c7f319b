"""Sharing a budget: exact to the minor unit, fixed first, per use next, weights take the rest."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vrm.agent.payments.allocation import (
    AllocationError,
    Fixed,
    PerUse,
    Share,
    ShareRule,
    Weight,
    allocate,
    rule_from_json,
)
from vrm.agent.payments.money import (
    InvalidAmount,
    UnknownCurrency,
    exponent,
    format_minor,
    from_minor,
    parse_decimal,
    to_minor,
)

D = Decimal
CURRENCIES = ["EUR", "JPY", "KWD", "CLF", "USD"]


def decimals(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Positive Decimals with at most ``places`` decimals, from integers (never floats)."""
    return st.integers(low, high).map(lambda n: D(n).scaleb(-places))


@st.composite
def month(draw: st.DrawFn) -> tuple[Decimal, str, list[Share], dict[int, Decimal]]:
    """A budget, its currency, a mix of payees, and units logged for the per-use ones."""
    currency = draw(st.sampled_from(CURRENCIES))
    places = exponent(currency)
    budget = from_minor(draw(st.integers(0, 10**9)), currency)
    rules = st.one_of(
        decimals(places, 1, 10**8).map(Fixed),
        decimals(3, 1, 10**6).map(Weight),
        decimals(4, 1, 10**6).map(lambda rate: PerUse(rate, "hour")),
    )
    drawn = draw(st.lists(rules, min_size=1, max_size=8))
    ids = draw(st.permutations(range(1, 50)))[: len(drawn)]
    shares = [Share(payee_id, rule) for payee_id, rule in zip(ids, drawn, strict=False)]
    uses = {
        share.payee_id: draw(decimals(2, 0, 100_000))
        for share in shares
        if isinstance(share.rule, PerUse)
    }
    return budget, currency, shares, uses


@settings(max_examples=400, deadline=None)
@given(month())
def test_the_allocation_adds_up_exactly(
    drawn: tuple[Decimal, str, list[Share], dict[int, Decimal]],
) -> None:
    """With a weighted payee it is the budget to the unit; without, never more; none negative."""
    budget, currency, shares, uses = drawn
    allocation = allocate(budget, currency, shares, uses)
    assert allocation.budget == to_minor(budget, currency)
    assert all(line.amount >= 0 for line in allocation.lines)
    assert all(line.asked is None or line.amount <= line.asked for line in allocation.lines)
    if any(isinstance(share.rule, Weight) for share in shares):
        assert allocation.total == allocation.budget
        assert allocation.unallocated == 0
    else:
        assert allocation.total <= allocation.budget
    assert sorted(line.payee_id for line in allocation.lines) == [
        s.payee_id for s in sorted(shares, key=lambda s: s.payee_id)
    ]


@settings(max_examples=300, deadline=None)
@given(month())
def test_fixed_shares_are_honoured_when_they_fit(
    drawn: tuple[Decimal, str, list[Share], dict[int, Decimal]],
) -> None:
    """Fixed amounts that fit the budget are paid in full; per-use too when both fit."""
    budget, currency, shares, uses = drawn
    allocation = allocate(budget, currency, shares, uses)
    fixed = [line for line in allocation.lines if isinstance(line.rule, Fixed)]
    per_use = [line for line in allocation.lines if isinstance(line.rule, PerUse)]
    asked_fixed = sum(line.asked or 0 for line in fixed)
    if asked_fixed <= allocation.budget:
        assert all(line.amount == line.asked for line in fixed)
        if asked_fixed + sum(line.asked or 0 for line in per_use) <= allocation.budget:
            assert all(line.amount == line.asked for line in per_use)
    else:
        assert sum(line.amount for line in fixed) == allocation.budget
        assert all(line.amount == 0 for line in allocation.lines if line not in fixed)


@settings(max_examples=200, deadline=None)
@given(month(), st.randoms(use_true_random=False))
def test_it_is_deterministic(
    drawn: tuple[Decimal, str, list[Share], dict[int, Decimal]], shuffler: random.Random
) -> None:
    """The same month gives the same allocation, whatever order the payees come in."""
    budget, currency, shares, uses = drawn
    first = allocate(budget, currency, shares, uses)
    shuffled = list(shares)
    shuffler.shuffle(shuffled)
    assert allocate(budget, currency, shuffled, uses) == first


def test_three_equal_weights_share_ten_euros() -> None:
    """10.00 by three: the cent left goes to the lowest number."""
    allocation = allocate(D("10.00"), "EUR", [Share(n, Weight(D(1))) for n in (3, 1, 2)])
    assert [(line.payee_id, line.amount) for line in allocation.lines] == [
        (1, 334),
        (2, 333),
        (3, 333),
    ]


def test_fixed_then_per_use_then_weights() -> None:
    """20 EUR: 5 fixed, 3 hours at 0.50, and 13.50 split 2:1 by weight."""
    allocation = allocate(
        D("20"),
        "eur",
        [
            Share(1, Fixed(D("5"))),
            Share(2, PerUse(D("0.50"), "hour")),
            Share(3, Weight(D(2))),
            Share(4, Weight(D(1))),
        ],
        {2: D(3)},
    )
    assert allocation.currency == "EUR"
    assert [line.amount for line in allocation.lines] == [500, 150, 900, 450]
    assert allocation.unallocated == 0
    assert allocation.as_json()["lines"][1] == {
        "payee": 2,
        "rule": {"per_use": "0.50", "unit": "hour"},
        "amount": "1.50",
        "amount_minor": 150,
        "asked": "1.50",
        "units": "3",
        "cut": False,
    }


def test_fixed_shares_over_the_budget_are_cut_in_proportion() -> None:
    """8 + 4 fixed from 10: cut to 6.67 and 3.33; per-use and weights get nothing."""
    allocation = allocate(
        D("10"),
        "EUR",
        [Share(1, Fixed(D(8))), Share(2, Fixed(D(4))), Share(3, Weight(D(1)))],
    )
    assert [line.amount for line in allocation.lines] == [667, 333, 0]
    assert [line.cut for line in allocation.lines] == [True, True, False]


def test_per_use_is_capped_by_what_remains() -> None:
    """7 fixed leaves 3 of 10; 4 and 2 owed per use share those 3 as 2 and 1."""
    allocation = allocate(
        D("10"),
        "EUR",
        [
            Share(1, Fixed(D(7))),
            Share(2, PerUse(D(1), "hour")),
            Share(3, PerUse(D("0.5"), "track")),
        ],
        {2: D(4), 3: D(4)},
    )
    assert [line.amount for line in allocation.lines] == [700, 200, 100]


def test_without_weights_the_rest_stays_unallocated() -> None:
    """3 fixed and 1.50 per use from 10: 5.50 left unallocated, and said so."""
    allocation = allocate(
        D("10"), "EUR", [Share(1, Fixed(D(3))), Share(2, PerUse(D("0.5"), "hour"))], {2: D(3)}
    )
    assert allocation.total == 450
    assert allocation.unallocated == 550
    assert "5.50 EUR unallocated" in allocation.describe_total()


def test_per_use_rounds_to_the_nearest_minor_unit() -> None:
    """0.125 for 1 hour is 0.13 (half up); 0.333 for 1 is 0.33; no uses is nothing."""
    allocation = allocate(
        D("10"),
        "EUR",
        [
            Share(1, PerUse(D("0.125"), "hour")),
            Share(2, PerUse(D("0.333"), "hour")),
            Share(3, PerUse(D(1), "hour")),
        ],
        {1: D(1), 2: D(1)},
    )
    assert [line.amount for line in allocation.lines] == [13, 33, 0]


def test_currencies_have_their_own_minor_units() -> None:
    """JPY has none, KWD three: 1000 JPY by three weights, 1.000 KWD likewise."""
    yen = allocate(D(1000), "JPY", [Share(n, Weight(D(1))) for n in (1, 2, 3)])
    assert [line.amount for line in yen.lines] == [334, 333, 333]
    assert format_minor(334, "JPY") == "334 JPY"
    dinar = allocate(D(1), "KWD", [Share(n, Weight(D(1))) for n in (1, 2, 3)])
    assert [line.amount for line in dinar.lines] == [334, 333, 333]
    assert format_minor(334, "KWD") == "0.334 KWD"


@pytest.mark.parametrize(
    ("call", "error", "said"),
    [
        (lambda: allocate(D(10), "EUR", []), AllocationError, "no payees"),
        (lambda: allocate(D(10), "EUX", [Share(1, Weight(D(1)))]), UnknownCurrency, "EUX"),
        (lambda: allocate(D(-1), "EUR", [Share(1, Weight(D(1)))]), InvalidAmount, "negative"),
        (lambda: allocate(D("1.001"), "EUR", [Share(1, Weight(D(1)))]), InvalidAmount, "2"),
        (lambda: allocate(D(10), "JPY", [Share(1, Fixed(D("1.5")))]), InvalidAmount, "JPY"),
        (
            lambda: allocate(D(10), "EUR", [Share(1, Weight(D(1))), Share(1, Fixed(D(1)))]),
            AllocationError,
            "one share",
        ),
        (
            lambda: allocate(D(10), "EUR", [Share(1, PerUse(D(1), "h"))], {1: D(-2)}),
            AllocationError,
            "negative",
        ),
        (lambda: Fixed(D(0)), InvalidAmount, "more than zero"),
        (lambda: Weight(D(-1)), InvalidAmount, "more than zero"),
        (lambda: PerUse(D(1), " "), ValueError, "unit"),
        (lambda: parse_decimal("1e9"), InvalidAmount, "digits"),
        (lambda: parse_decimal("NaN"), InvalidAmount, "digits"),
        (lambda: parse_decimal("-3"), InvalidAmount, "digits"),
        (lambda: rule_from_json({"fixed": "1", "weight": "2"}), ValueError, "one of"),
        (lambda: rule_from_json({"per_use": "1"}), ValueError, "unit"),
    ],
)
def test_bad_input_is_a_clear_error(call: object, error: type[Exception], said: str) -> None:
    """Negative amounts, unknown currencies, no payees, a payee twice: each says what is wrong."""
    with pytest.raises(error, match=said):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    "rule", [Fixed(D("5.00")), Weight(D("2.5")), PerUse(D("0.50"), "listening hour")]
)
def test_rules_round_trip_as_json(rule: ShareRule) -> None:
    """A rule written as JSON reads back the same."""
    assert rule_from_json(rule.as_json()) == rule
