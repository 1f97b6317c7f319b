"""Sharing a month's budget among payees, to the minor unit: pure, exact, deterministic.

Each payee has one share rule: a :class:`Fixed` amount, a proportional
:class:`Weight`, or :class:`PerUse` (a rate per unit the person logs, e.g. per
listening hour). :func:`allocate` gives the fixed amounts first (cut down in
proportion when together they exceed the budget), then what the logged uses come
to (cut down in proportion when they exceed what remains), then splits the rest
by weight. Every split of a whole number of minor units uses the largest-remainder
method, ties going to the lower payee number, so the amounts add up exactly: to
the budget when a weighted payee takes the rest, else to at most the budget, the
difference left unallocated. Amounts are integers of minor units; rates, weights
and units are Decimals; no float is involved anywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from math import floor
from typing import Any

from vrm.agent.payments.money import (
    InvalidAmount,
    currency_code,
    exponent,
    format_minor,
    from_minor,
    parse_decimal,
    to_minor,
)

MAX_UNIT_CHARS = 40


class AllocationError(ValueError):
    """The budget cannot be shared as asked (no payees, the same payee twice, bad uses)."""


@dataclass(frozen=True)
class Fixed:
    """The same amount every month (in the budget's currency)."""

    amount: Decimal

    def __post_init__(self) -> None:
        if not self.amount.is_finite() or self.amount <= 0:
            raise InvalidAmount(f"a fixed amount is more than zero (got {self.amount})")

    def as_json(self) -> dict[str, str]:
        """``{"fixed": "5.00"}``."""
        return {"fixed": str(self.amount)}

    def describe(self, currency: str | None = None) -> str:
        """In words: ``fixed 5.00 EUR``."""
        return f"fixed {self.amount}" + (f" {currency}" if currency else "")


@dataclass(frozen=True)
class Weight:
    """A share of what is left after fixed and per-use payees, in proportion to the weight."""

    weight: Decimal

    def __post_init__(self) -> None:
        if not self.weight.is_finite() or self.weight <= 0:
            raise InvalidAmount(f"a weight is more than zero (got {self.weight})")

    def as_json(self) -> dict[str, str]:
        """``{"weight": "2"}``."""
        return {"weight": str(self.weight)}

    def describe(self, currency: str | None = None) -> str:
        """In words: ``weight 2``."""
        return f"weight {self.weight}"


@dataclass(frozen=True)
class PerUse:
    """A rate for each unit the person logs in the month (e.g. 0.50 per listening hour)."""

    rate: Decimal
    unit: str

    def __post_init__(self) -> None:
        if not self.rate.is_finite() or self.rate <= 0:
            raise InvalidAmount(f"a rate is more than zero (got {self.rate})")
        if not self.unit.strip() or len(self.unit) > MAX_UNIT_CHARS:
            raise ValueError(f"a unit is a word of 1 to {MAX_UNIT_CHARS} characters, e.g. hour")

    def as_json(self) -> dict[str, str]:
        """``{"per_use": "0.50", "unit": "hour"}``."""
        return {"per_use": str(self.rate), "unit": self.unit}

    def describe(self, currency: str | None = None) -> str:
        """In words: ``0.50 EUR per hour``."""
        return f"{self.rate}" + (f" {currency}" if currency else "") + f" per {self.unit}"


ShareRule = Fixed | Weight | PerUse


def rule_from_json(data: Mapping[str, Any]) -> ShareRule:
    """The rule :meth:`as_json` wrote (``fixed``, ``weight``, or ``per_use`` with ``unit``).

    Raises:
        ValueError: not exactly one rule, or a value that does not fit it.
    """
    given = [name for name in ("fixed", "weight", "per_use") if data.get(name) is not None]
    if len(given) != 1:
        raise ValueError("a share rule is one of: fixed AMOUNT, weight W, per_use RATE with unit")
    name = given[0]
    if name == "fixed":
        return Fixed(parse_decimal(data["fixed"], "a fixed amount"))
    if name == "weight":
        return Weight(parse_decimal(data["weight"], "a weight"))
    unit = data.get("unit")
    if not isinstance(unit, str):
        raise ValueError("a per-use rule names its unit, e.g. hour")
    return PerUse(parse_decimal(data["per_use"], "a rate"), unit.strip())


@dataclass(frozen=True)
class Share:
    """One payee's claim on the budget: its number and its rule."""

    payee_id: int
    rule: ShareRule


@dataclass(frozen=True)
class AllocationLine:
    """What one payee gets this month, in minor units."""

    payee_id: int
    rule: ShareRule
    amount: int
    asked: int | None
    """What the rule asked for (fixed, or the uses at the rate); None for a weight."""
    units: Decimal
    """The units logged this month (per-use payees; zero for the others)."""

    @property
    def cut(self) -> bool:
        """True when the budget could not give all the rule asked for."""
        return self.asked is not None and self.amount < self.asked


@dataclass(frozen=True)
class Allocation:
    """The month's budget shared out: a line per payee, in payee order."""

    budget: int
    """The budget in minor units."""
    currency: str
    lines: tuple[AllocationLine, ...]

    @property
    def total(self) -> int:
        """What the lines add up to, in minor units."""
        return sum(line.amount for line in self.lines)

    @property
    def unallocated(self) -> int:
        """What no payee takes (only when no payee has a weight), in minor units."""
        return self.budget - self.total

    def amount_of(self, payee_id: int) -> int:
        """The minor units ``payee_id`` gets (0 when it is not a payee)."""
        return next((line.amount for line in self.lines if line.payee_id == payee_id), 0)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal text and as minor units."""
        money = self.currency

        def amount(minor: int | None) -> str | None:
            return None if minor is None else str(from_minor(minor, money))

        return {
            "budget": amount(self.budget),
            "currency": money,
            "total": amount(self.total),
            "unallocated": amount(self.unallocated),
            "lines": [
                {
                    "payee": line.payee_id,
                    "rule": line.rule.as_json(),
                    "amount": amount(line.amount),
                    "amount_minor": line.amount,
                    "asked": amount(line.asked),
                    "units": str(line.units),
                    "cut": line.cut,
                }
                for line in self.lines
            ],
        }

    def describe_total(self) -> str:
        """``12.00 EUR of 12.00 EUR`` and what is left unallocated, if anything."""
        money = self.currency
        said = f"{format_minor(self.total, money)} of {format_minor(self.budget, money)}"
        if self.unallocated:
            said += (
                f"; {format_minor(self.unallocated, money)} unallocated "
                "(no payee has a weight to take the rest)"
            )
        return said


def allocate(
    budget: Decimal,
    currency: str,
    shares: Sequence[Share],
    uses: Mapping[int, Decimal] | None = None,
) -> Allocation:
    """Share ``budget`` among ``shares`` for one month (``uses``: units logged per payee).

    Fixed amounts first, cut in proportion if they exceed the budget; then per-use
    payees at their rate times their units (rounded to the nearest minor unit, halves
    up), cut in proportion if they exceed what remains; then the rest by weight.
    The result does not depend on the order of ``shares``.

    Raises:
        UnknownCurrency: ``currency`` is not an ISO 4217 currency.
        InvalidAmount: the budget or a fixed amount is negative or has more decimals
            than the currency.
        AllocationError: no payees, a payee twice, or negative units.
    """
    code = currency_code(currency)
    total = to_minor(budget, code, "the budget")
    if not shares:
        raise AllocationError("no payees to share the budget among: add one first")
    ordered = sorted(shares, key=lambda share: share.payee_id)
    ids = [share.payee_id for share in ordered]
    if len(set(ids)) != len(ids):
        raise AllocationError("each payee may have one share only")
    logged = dict(uses or {})
    for payee_id, units in logged.items():
        if not units.is_finite() or units < 0:
            raise AllocationError(f"payee {payee_id}'s units cannot be negative (got {units})")

    amounts: dict[int, int] = {}
    asked: dict[int, int] = {}
    fixed = [(share.payee_id, share.rule) for share in ordered if isinstance(share.rule, Fixed)]
    for payee_id, fixed_rule in fixed:
        asked[payee_id] = to_minor(fixed_rule.amount, code, f"payee {payee_id}'s fixed amount")
    left = total - _give(amounts, asked, [payee_id for payee_id, _ in fixed], total)

    scale = 10 ** exponent(code)
    per_use = [(share.payee_id, share.rule) for share in ordered if isinstance(share.rule, PerUse)]
    for payee_id, per_use_rule in per_use:
        units = logged.get(payee_id, Decimal(0))
        owed = Fraction(per_use_rule.rate) * Fraction(units) * scale
        asked[payee_id] = floor(owed + Fraction(1, 2))
    left -= _give(amounts, asked, [payee_id for payee_id, _ in per_use], left)

    weighted = [
        (share.payee_id, Fraction(share.rule.weight))
        for share in ordered
        if isinstance(share.rule, Weight)
    ]
    split = _apportion(left, [weight for _, weight in weighted])
    for (payee_id, _), amount in zip(weighted, split, strict=True):
        amounts[payee_id] = amount

    return Allocation(
        budget=total,
        currency=code,
        lines=tuple(
            AllocationLine(
                payee_id=share.payee_id,
                rule=share.rule,
                amount=amounts[share.payee_id],
                asked=asked.get(share.payee_id),
                units=logged.get(share.payee_id, Decimal(0))
                if isinstance(share.rule, PerUse)
                else Decimal(0),
            )
            for share in ordered
        ),
    )


def _give(amounts: dict[int, int], asked: Mapping[int, int], ids: list[int], room: int) -> int:
    """Give each of ``ids`` what it asked, or a proportional cut when ``room`` is short.

    Returns how much was given. A cut never gives a payee more than it asked: the
    quotas are each below the asked amount, and rounding adds at most one unit.
    """
    wanted = [asked[payee_id] for payee_id in ids]
    given = wanted if sum(wanted) <= room else _apportion(room, [Fraction(w) for w in wanted])
    amounts.update(zip(ids, given, strict=True))
    return sum(given)


def _apportion(total: int, weights: Sequence[Fraction]) -> list[int]:
    """Split ``total`` minor units in proportion to ``weights`` by the largest remainder.

    Each gets the whole part of its exact quota; the units still left go one each to
    the largest fractional parts, ties to the earlier position. The parts add up to
    ``total`` exactly, unless every weight is zero (then nothing is given).
    """
    whole = sum(weights, Fraction(0))
    if not weights or whole == 0:
        return [0] * len(weights)
    quotas = [total * weight / whole for weight in weights]
    parts = [floor(quota) for quota in quotas]
    short = total - sum(parts)
    by_remainder = sorted(range(len(quotas)), key=lambda i: (parts[i] - quotas[i], i))
    for index in by_remainder[:short]:
        parts[index] += 1
    return parts
