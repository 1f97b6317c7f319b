"""Matching intents to subscriptions: category prefixes on whole segments, region, price band."""

from __future__ import annotations

import random

from vrm.exchange.matching import SubscriptionIndex, SubscriptionRule, WantedSummary


def wanted(
    category: str = "vehicles/cars/electric",
    *,
    country: str = "GB",
    region: str | None = "GB-SCT",
    low: float = 0,
    high: float = 30_000,
    currency: str = "EUR",
) -> WantedSummary:
    return WantedSummary(category, country, region, low, high, currency)


def test_a_subscription_to_a_category_covers_everything_below_it_and_nothing_beside() -> None:
    """vehicles covers vehicles/cars/electric; vehicles/bikes and vehicles-parts do not."""
    index = SubscriptionIndex(
        [
            SubscriptionRule("dealer", "vehicles"),
            SubscriptionRule("cars", "vehicles/cars"),
            SubscriptionRule("ev", "vehicles/cars/electric"),
            SubscriptionRule("bikes", "vehicles/bikes"),
            SubscriptionRule("parts", "vehicles-parts"),
        ]
    )
    assert index.match(wanted()) == ["dealer", "cars", "ev"]
    assert index.match(wanted("vehicles/cars")) == ["dealer", "cars"]
    assert index.match(wanted("home/sofas")) == []


def test_regions_and_price_bands_must_fit() -> None:
    """A vendor in another region or currency, or with a band out of reach, is left out."""
    index = SubscriptionIndex(
        [
            SubscriptionRule("everywhere", "vehicles"),
            SubscriptionRule("scotland", "vehicles", frozenset({"GB-SCT"})),
            SubscriptionRule("britain", "vehicles", frozenset({"GB"})),
            SubscriptionRule("france", "vehicles", frozenset({"FR"})),
            SubscriptionRule("luxury", "vehicles", min_price=50_000, currency="EUR"),
            SubscriptionRule("budget", "vehicles", max_price=10_000, currency="EUR"),
            SubscriptionRule("pounds", "vehicles", min_price=0, currency="GBP"),
        ]
    )
    assert set(index.match(wanted(low=5_000))) == {"everywhere", "scotland", "britain", "budget"}
    assert set(index.match(wanted(region=None, low=20_000))) == {"everywhere", "britain"}


def test_a_vendor_is_named_once_however_many_subscriptions_match() -> None:
    """Two matching subscriptions of one vendor give one delivery."""
    index = SubscriptionIndex(
        [SubscriptionRule("shop", "vehicles"), SubscriptionRule("shop", "vehicles/cars")]
    )
    assert index.match(wanted()) == ["shop"]


def test_the_index_finds_exactly_what_a_scan_of_every_subscription_finds() -> None:
    """On 10,000 random subscriptions, the prefix index and a full scan agree on every intent."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    tops = [f"c{i}" for i in range(50)]
    rules = [
        SubscriptionRule(
            f"v{n % 3000}",
            "/".join([rng.choice(tops), f"s{rng.randrange(20)}"][: rng.randrange(1, 3)]),
            frozenset(rng.sample(["GB", "FR", "DE", "GB-SCT"], rng.randrange(0, 3))),
            max_price=rng.choice([None, 100.0, 1000.0]),
            currency=rng.choice([None, "EUR", "GBP"]),
        )
        for n in range(10_000)
    ]
    index = SubscriptionIndex(rules)
    for _ in range(300):
        segments = [rng.choice(tops), f"s{rng.randrange(20)}", "x"][: rng.randrange(1, 4)]
        intent = wanted(
            "/".join(segments),
            country=rng.choice(["GB", "FR"]),
            region=rng.choice([None, "GB-SCT"]),
            low=rng.choice([0, 500, 5000]),
            high=10_000,
            currency=rng.choice(["EUR", "GBP"]),
        )
        scanned = {
            rule.vendor
            for rule in rules
            if (intent.category + "/").startswith(rule.category + "/") and rule.covers(intent)
        }
        assert set(index.match(intent)) == scanned
