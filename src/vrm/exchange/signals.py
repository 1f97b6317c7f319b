"""Demand signals: what people want, released to vendors as privacy-safe aggregates (C9).

A release covers the intents published in one UTC day (the *period*) under a category
prefix (or every category) and holds two tables:

- ``counts``: intents per (category cut two levels below the prefix, country);
- ``prices``: intents per (currency, band of the intent's maximum price); the bands are
  ``0-100``, ``100-500``, ``500-1k``, ``1k-5k``, ``5k-10k``, ``10k-50k`` and ``50k+`` in the
  currency's own units (lower edge included).

**What is protected.** One intent. Each falls in exactly one period (its ``created_at`` on
the exchange's clock), one count cell and one price cell, so adding or removing it changes
two cells (l0 = 2) by one each (l∞ = 1, l1 = 2). A person's intents are unlinkable here (a
pseudonym each); one who publishes m intents in a day is protected with m·ε (group privacy).
Withdrawn and expired intents count for the day they were published: the demand existed,
and dropping them would change a day after it was released.

**Noise and threshold.** OpenDP's ``make_laplace_threshold``: discrete Laplace noise (the
geometric mechanism: counts stay integers) of scale 2 / ε_cells on every cell the day
holds, then cells whose noisy count is under the threshold are left out. Leaving cells out
is k-anonymity, but also more: which cells exist at all is data (one intent from a country
nobody else asks from makes a cell), so a cell of one intent must be released only with a
small probability δ. The threshold is therefore the larger of ``k`` (10) and the smallest
count at which OpenDP's privacy map bounds δ by ``delta_per_release`` (1e-6): about 70 at
the defaults, so a cell is seen once some 70 intents share it in a day. With k = 10 alone
δ would be about 0.14, which protects nobody.

**Suppressed cells.** How many cells were left out is data too (a lone intent adds one),
so it is noisy as well: discrete Laplace of scale 2 / ε_suppressed on each table's number
of cells, less the cells shown, at least 0. It is an estimate.

**Budget.** A release costs ``epsilon_per_release`` (0.5): 80 % for the cells, 20 % for
the suppressed counts, and δ as above. Releases of one period compose (their prefixes may
overlap), so a period has ``epsilon_per_period`` (2.0) in all, shared by every caller: four
releases a day at the defaults. A new release that would overspend is refused
(``budget_spent``, 429). Periods hold disjoint intents (parallel composition), so each has
its own budget. The spend and the release are written in one transaction; nothing is
answered unless its spend is recorded.

**Caching.** Each release is kept (``signal_releases``) and the same (period, prefix) is
answered with the same document again at no cost: repeating a query cannot average the
noise away, and cached releases are served after the budget is spent.

**Closed periods only.** A day is released once it is over. While it is open intents keep
arriving: a cached release would go stale, a fresh one would need fresh budget, and the
difference between two releases of a growing day would single out the intents between
them. Once it is over its intents no longer change (withdrawal changes a state, not the day).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from vrm.exchange.schema import intents, signal_budget, signal_releases
from vrm.intents.taxonomy import UnknownCategory, taxonomy

if TYPE_CHECKING:
    from opendp.mod import Measurement

INVALID_REQUEST, BUDGET_SPENT = "invalid_request", "budget_spent"
DEPTH = 2
"""How many levels below the prefix the counts go."""
PRICE_BANDS: tuple[tuple[float | None, str], ...] = (
    (100, "0-100"),
    (500, "100-500"),
    (1_000, "500-1k"),
    (5_000, "1k-5k"),
    (10_000, "5k-10k"),
    (50_000, "10k-50k"),
    (None, "50k+"),
)
"""Each band's upper edge (excluded; None: open) and its label, lowest first."""
SUPPRESSED_SHARE = 0.2
"""The part of a release's ε spent on the noisy numbers of suppressed cells."""
CELL_SENSITIVITY = (2, 2, 1)
"""One intent changes 2 cells (l0), by 2 in all (l1), each by 1 (l∞)."""
_CATEGORY = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,3}")
_PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY = 24 * 3600.0


class SignalsRefused(Exception):
    """A release refused: ``code`` is ``invalid_request`` or ``budget_spent``."""

    def __init__(self, code: str, detail: str, status: int) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status


class DemandSignals:
    """Releases of aggregate demand, each differentially private and paid from a budget.

    Args:
        engine: the exchange's database.
        k: the least noisy count a released cell may have.
        epsilon_per_release: what one new release costs.
        epsilon_per_period: what all releases of one period may cost together.
        delta_per_release: the chance a release may reveal a cell of a single intent.
        clock: the current epoch time (injectable for tests).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        k: int = 10,
        epsilon_per_release: float = 0.5,
        epsilon_per_period: float = 2.0,
        delta_per_release: float = 1e-6,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if not 0 < epsilon_per_release <= epsilon_per_period:
            raise ValueError("need 0 < epsilon_per_release <= epsilon_per_period")
        if not 0 < delta_per_release < 1:
            raise ValueError("delta_per_release must be between 0 and 1")
        self.engine = engine
        self.k = k
        self.epsilon_per_release = epsilon_per_release
        self.epsilon_per_period = epsilon_per_period
        self.delta_per_release = delta_per_release
        self.clock = clock
        self.cell_scale = CELL_SENSITIVITY[1] / (epsilon_per_release * (1 - SUPPRESSED_SHARE))
        # An intent adds at most one cell to each table: the numbers of cells move by l0 in all.
        self.suppressed_scale = CELL_SENSITIVITY[0] / (epsilon_per_release * SUPPRESSED_SHARE)
        self.threshold, self._cells, self._sizes = _mechanisms(
            self.cell_scale, self.suppressed_scale, k, delta_per_release
        )
        epsilon = (
            privacy_loss(self._cells, CELL_SENSITIVITY)[0]
            + privacy_loss(self._sizes, CELL_SENSITIVITY[0])[0]
        )
        if epsilon > epsilon_per_release * (1 + 1e-9):  # OpenDP's own accounting, as a check
            raise ValueError(f"the mechanisms would spend ε = {epsilon}, over the release's")

    def release(self, *, category: str | None = None, period: str | None = None) -> dict[str, Any]:
        """The release for ``category`` (a prefix; None: all) and ``period`` (default: yesterday).

        Raises:
            SignalsRefused: ``invalid_request`` for a malformed or unknown category, a
                malformed period or one not over yet; ``budget_spent`` when a new release
                would overspend the period's budget.
        """
        prefix = _prefix(category)
        day = self._closed_period(period)
        try:
            return self._release(prefix, day)
        except IntegrityError:
            # The period's first releases raced to create its budget row and this one lost;
            # now the row exists, its lock orders them.
            return self._release(prefix, day)

    def _release(self, prefix: str, day: date) -> dict[str, Any]:
        period = day.isoformat()
        with self.engine.begin() as connection:
            if (cached := _cached(connection, period, prefix)) is not None:
                return cached
            spent = connection.execute(
                select(signal_budget.c.spent)
                .where(signal_budget.c.period == period)
                .with_for_update()
            ).scalar()
            # The same release may have been made while this one waited for the lock.
            if (cached := _cached(connection, period, prefix)) is not None:
                return cached
            if (spent or 0.0) + self.epsilon_per_release > self.epsilon_per_period + 1e-9:
                raise SignalsRefused(
                    BUDGET_SPENT,
                    f"the privacy budget of {period} is spent (ε {self.epsilon_per_period}): "
                    "releases already made are still served, new ones are not",
                    429,
                )
            counts, prices = _tally(connection, prefix, day)
            document = self._noisy(prefix, period, counts, prices)
            now = self.clock()
            connection.execute(
                insert(signal_releases).values(
                    period=period,
                    category=prefix,
                    document=json.dumps(document),
                    epsilon=self.epsilon_per_release,
                    created_at=now,
                )
            )
            if spent is None:
                connection.execute(
                    insert(signal_budget).values(
                        period=period, spent=self.epsilon_per_release, updated_at=now
                    )
                )
            else:
                connection.execute(
                    update(signal_budget)
                    .where(signal_budget.c.period == period)
                    .values(spent=spent + self.epsilon_per_release, updated_at=now)
                )
        return document

    def _noisy(
        self,
        prefix: str,
        period: str,
        counts: Counter[tuple[str, str]],
        prices: Counter[tuple[str, str]],
    ) -> dict[str, Any]:
        cells = {f"c|{cat}|{country}": n for (cat, country), n in counts.items()}
        cells |= {f"p|{currency}|{band}": n for (currency, band), n in prices.items()}
        noisy: dict[str, int] = self._cells(cells)
        shown_counts, shown_prices = [], []
        for key, value in noisy.items():
            table, first, second = key.split("|")
            if table == "c":
                shown_counts.append({"category": first, "country": second, "count": value})
            else:
                shown_prices.append({"currency": first, "band": second, "count": value})
        sizes: list[int] = self._sizes([len(counts), len(prices)])
        order = {label: index for index, (_, label) in enumerate(PRICE_BANDS)}
        return {
            "period": period,
            "category": prefix or None,
            "counts": sorted(shown_counts, key=lambda c: (c["category"], c["country"])),
            "prices": sorted(shown_prices, key=lambda c: (c["currency"], order[c["band"]])),
            "suppressed": {
                "counts": max(0, sizes[0] - len(shown_counts)),
                "prices": max(0, sizes[1] - len(shown_prices)),
            },
            "privacy": {
                "epsilon": self.epsilon_per_release,
                "delta": self.delta_per_release,
                "k": self.k,
                "threshold": self.threshold,
                "noise": "discrete Laplace",
                "scale": self.cell_scale,
            },
            "released_at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
        }

    def _closed_period(self, period: str | None) -> date:
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        if period is None:
            return today - timedelta(days=1)
        try:
            if not _PERIOD.fullmatch(period):
                raise ValueError(period)
            day = date.fromisoformat(period)
        except ValueError:
            raise SignalsRefused(
                INVALID_REQUEST, f"period {period!r} is not a day (YYYY-MM-DD)", 422
            ) from None
        if day >= today:
            raise SignalsRefused(
                INVALID_REQUEST,
                f"period {period} is not over: a UTC day is released once it has ended "
                f"({today - timedelta(days=1)} is the latest)",
                422,
            )
        return day


def _cached(connection: Connection, period: str, prefix: str) -> dict[str, Any] | None:
    """The release already made for ``period`` and ``prefix``, if any."""
    document = connection.execute(
        select(signal_releases.c.document).where(
            signal_releases.c.period == period, signal_releases.c.category == prefix
        )
    ).scalar()
    return None if document is None else dict(json.loads(document))


def _prefix(category: str | None) -> str:
    """The category prefix, checked against the grammar and the taxonomy ("" for all)."""
    if category is None:
        return ""
    if not _CATEGORY.fullmatch(category):
        raise SignalsRefused(
            INVALID_REQUEST,
            f"category {category!r} is not a category path (lowercase segments joined by "
            "'/', four at most)",
            422,
        )
    try:
        return taxonomy().category(category).path
    except UnknownCategory as exc:
        raise SignalsRefused(INVALID_REQUEST, str(exc), 422) from None


def _tally(
    connection: Connection, prefix: str, day: date
) -> tuple[Counter[tuple[str, str]], Counter[tuple[str, str]]]:
    """The true counts of the day's intents under ``prefix``: by category and country, by price."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    grouped = (intents.c.category, intents.c.country, intents.c.currency, intents.c.max_price)
    query = (
        select(*grouped, func.count())
        .where(intents.c.created_at >= start, intents.c.created_at < start + _DAY)
        .group_by(*grouped)
    )
    if prefix:
        query = query.where(
            or_(
                intents.c.category == prefix,
                intents.c.category.startswith(prefix + "/", autoescape=True),
            )
        )
    depth = len(prefix.split("/")) + DEPTH if prefix else DEPTH
    counts: Counter[tuple[str, str]] = Counter()
    prices: Counter[tuple[str, str]] = Counter()
    for category, country, currency, max_price, n in connection.execute(query):
        counts["/".join(category.split("/")[:depth]), country] += n
        prices[currency, _band(max_price)] += n
    return counts, prices


def _band(price: float) -> str:
    """The label of the price band ``price`` falls in."""
    return next(label for upper, label in PRICE_BANDS if upper is None or price < upper)


def privacy_loss(measurement: Measurement, d_in: Any) -> tuple[float, float]:
    """(ε, δ) of ``measurement`` for neighbours ``d_in`` apart, by OpenDP's privacy map."""
    loss = measurement.map(d_in)  # type: ignore[no-untyped-call]  # opendp leaves it unannotated
    return (float(loss), 0.0) if isinstance(loss, float | int) else (loss[0], loss[1])


def _mechanisms(
    cell_scale: float, suppressed_scale: float, k: int, delta: float
) -> tuple[int, Measurement, Measurement]:
    """The threshold, the noisy-cells measurement and the noisy-sizes measurement."""
    import opendp.prelude as dp  # here, not at import: it takes a noticeable time to load

    dp.enable_features("contrib")
    cells_domain = dp.map_domain(dp.atom_domain(T=dp.String), dp.atom_domain(T=dp.i64))
    cells_metric = dp.l01inf_distance(dp.absolute_distance(T=dp.i64))

    def cells(threshold: int) -> Measurement:
        return dp.m.make_laplace_threshold(
            cells_domain, cells_metric, scale=cell_scale, threshold=threshold
        )

    def private_enough(threshold: int) -> bool:
        return privacy_loss(cells(threshold), CELL_SENSITIVITY)[1] <= delta

    low, high = k, k
    while not private_enough(high):  # δ falls as the threshold rises: double, then bisect
        low, high = high + 1, high * 2
    while low < high:
        middle = (low + high) // 2
        if private_enough(middle):
            high = middle
        else:
            low = middle + 1
    sizes = dp.m.make_laplace(
        dp.vector_domain(dp.atom_domain(T=dp.i64)),
        dp.l1_distance(T=dp.i64),
        scale=suppressed_scale,
    )
    return high, cells(high), sizes
