"""Matching intents against vendors' subscriptions, in memory.

Subscriptions are indexed by their category prefix, so an intent in
``vehicles/cars/electric`` looks at the subscriptions to ``vehicles``,
``vehicles/cars`` and ``vehicles/cars/electric`` only, then checks region and
price band. The index is rebuilt from the store when subscriptions change (they
change rarely; intents arrive all the time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubscriptionRule:
    """One subscription of one vendor."""

    vendor: str
    category: str
    regions: frozenset[str] = frozenset()
    """ISO 3166 codes; empty: everywhere."""
    min_price: float | None = None
    max_price: float | None = None
    currency: str | None = None

    def covers(self, wanted: WantedSummary) -> bool:
        """True when ``wanted`` is in this subscription's regions and price band."""
        if self.regions and not (
            wanted.country in self.regions or (wanted.region and wanted.region in self.regions)
        ):
            return False
        if self.currency is None:
            return True
        if self.currency != wanted.currency:
            return False
        # The bands overlap: the person would pay something the vendor asks.
        if self.min_price is not None and wanted.max_price < self.min_price:
            return False
        return not (self.max_price is not None and wanted.min_price > self.max_price)


@dataclass(frozen=True, slots=True)
class WantedSummary:
    """What matching needs to know of an intent."""

    category: str
    country: str
    region: str | None
    min_price: float
    max_price: float
    currency: str


class _Bucket:
    """The subscriptions to one category, arranged so most are found without a check each.

    A subscription with no price band is a vendor in ``anywhere`` (no regions) or under
    each of its regions; only those with a band are checked one by one.
    """

    __slots__ = ("anywhere", "by_region", "priced")

    def __init__(self) -> None:
        self.anywhere: dict[str, None] = {}
        self.by_region: dict[str, dict[str, None]] = {}
        self.priced: list[SubscriptionRule] = []

    def add(self, rule: SubscriptionRule) -> None:
        if rule.currency is not None:
            self.priced.append(rule)
        elif not rule.regions:
            self.anywhere[rule.vendor] = None
        else:
            for region in sorted(rule.regions):
                self.by_region.setdefault(region, {})[rule.vendor] = None


class SubscriptionIndex:
    """Every subscription, by category prefix."""

    def __init__(self, rules: Iterable[SubscriptionRule] = ()) -> None:
        self._by_category: dict[str, _Bucket] = defaultdict(_Bucket)
        self._by_vendor: dict[str, list[SubscriptionRule]] = defaultdict(list)
        self.size = 0
        for rule in rules:
            self._by_category[rule.category].add(rule)
            self._by_vendor[rule.vendor].append(rule)
            self.size += 1

    def rules_of(self, vendor: str) -> list[SubscriptionRule]:
        """The subscriptions of one vendor."""
        return list(self._by_vendor.get(vendor, ()))

    def match(self, wanted: WantedSummary) -> list[str]:
        """The vendors with a subscription covering ``wanted``, each once.

        The order is the same every time for the same subscriptions and intent.
        """
        found: dict[str, None] = {}
        category = wanted.category
        end = 0
        while end >= 0:
            end = category.find("/", end + 1)
            bucket = self._by_category.get(category if end < 0 else category[:end])
            if bucket is None:
                continue
            found.update(bucket.anywhere)
            by_region = bucket.by_region
            if by_region:
                found.update(by_region.get(wanted.country, ()))
                if wanted.region:
                    found.update(by_region.get(wanted.region, ()))
            for rule in bucket.priced:
                if rule.vendor not in found and rule.covers(wanted):
                    found[rule.vendor] = None
        return list(found)
