"""Demand signals: noisy counts of a closed day, cells under the threshold left out, a budget."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import opendp.prelude as dp
import pytest
from sqlalchemy import Engine, create_engine, insert, select

from vrm.exchange.api import create_exchange_app
from vrm.exchange.schema import intents, signal_budget, signal_releases
from vrm.exchange.service import Exchange, ExchangeSettings
from vrm.exchange.signals import CELL_SENSITIVITY, DemandSignals, SignalsRefused

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC).timestamp()
YESTERDAY = "2026-11-23"
PROBLEM = "application/problem+json"
EXACT = {"epsilon_per_release": 2000.0, "epsilon_per_period": 4000.0}
"""So large an ε that the noise is 0 (scale ≈ 0.001) and the threshold is k: exact answers."""
_pseudonyms = itertools.count()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def exchange(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Exchange]:
    """An exchange on SQLite or PostgreSQL; nothing of it runs in the background."""
    database = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    settings = ExchangeSettings(database=database)
    opened = Exchange.open(settings, home=tmp_path, public_url="http://exchange.test")
    yield opened
    opened.seen_ids.close()
    opened.engine.dispose()


async def client(exchange: Exchange, **settings: Any) -> httpx.AsyncClient:
    """The exchange's app in-process, its signals built with ``settings`` at NOW."""
    signals = DemandSignals(exchange.engine, clock=lambda: NOW, **settings)
    app = create_exchange_app(exchange, signals=signals)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x.test")


@pytest.fixture
async def exact(exchange: Exchange) -> AsyncIterator[httpx.AsyncClient]:
    """The app with noise-free settings, to check what is counted and what is left out."""
    async with await client(exchange, **EXACT) as api:
        yield api


@pytest.fixture
async def api(exchange: Exchange) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the default settings."""
    async with await client(exchange) as api:
        yield api


def publish(
    engine: Engine,
    n: int,
    *,
    day: str = YESTERDAY,
    at: str = "12:00:00",
    category: str = "vehicles/cars/electric",
    country: str = "GB",
    max_price: float = 25_000,
    currency: str = "EUR",
    state: str = "live",
) -> None:
    """``n`` intents as the market stores them, published on ``day`` at ``at`` (UTC)."""
    created = datetime.fromisoformat(f"{day}T{at}+00:00").timestamp()
    rows = [
        {
            "pseudonym": f"did:key:z{next(_pseudonyms)}",
            "message_id": "m",
            "category": category,
            "country": country,
            "region": None,
            "min_price": 0.0,
            "max_price": max_price,
            "currency": currency,
            "pool": False,
            "token": "t",
            "state": state,
            "created_at": created,
            "expires_at": created + 3600,
        }
        for _ in range(n)
    ]
    with engine.begin() as connection:
        connection.execute(insert(intents), rows)


async def signals(api: httpx.AsyncClient, **query: str) -> dict[str, Any]:
    reply = await api.get("/signals", params=query)
    assert reply.status_code == 200, reply.text
    document: dict[str, Any] = reply.json()
    return document


async def refused(api: httpx.AsyncClient, status: int, code: str, **query: str) -> str:
    reply = await api.get("/signals", params=query)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == PROBLEM
    assert reply.json()["code"] == code
    detail: str = reply.json()["detail"]
    return detail


async def test_cells_under_k_are_left_out_and_counted_as_suppressed(
    exact: httpx.AsyncClient, exchange: Exchange
) -> None:
    """Cells of k or more are shown, two levels below the prefix; smaller ones only counted."""
    publish(exchange.engine, 8, category="vehicles/cars/electric/suv")  # cut to three levels
    publish(exchange.engine, 2, category="vehicles/cars/electric")
    publish(exchange.engine, 9, country="FR")  # 9 < k
    publish(exchange.engine, 10, category="vehicles/bicycles", max_price=800)
    publish(exchange.engine, 3, category="vehicles/boats", max_price=90_000, currency="USD")
    publish(exchange.engine, 50, category="home/sofas")  # outside the prefix

    found = await signals(exact, category="vehicles", period=YESTERDAY)

    assert found["counts"] == [
        {"category": "vehicles/bicycles", "country": "GB", "count": 10},
        {"category": "vehicles/cars/electric", "country": "GB", "count": 10},
    ]
    assert found["prices"] == [
        {"currency": "EUR", "band": "500-1k", "count": 10},
        {"currency": "EUR", "band": "10k-50k", "count": 19},
    ]
    assert found["suppressed"] == {"counts": 2, "prices": 1}
    assert found["privacy"]["threshold"] == 10


async def test_noise_is_added_to_every_released_count_and_stays_small(
    api: httpx.AsyncClient, exchange: Exchange
) -> None:
    """300 intents in one cell, four days: the counts move (not all exactly 300), by < 100."""
    days = ["2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]
    for day in days:
        publish(exchange.engine, 300, day=day)

    released = []
    for day in days:
        found = await signals(api, category="vehicles", period=day)
        [cell] = found["counts"]
        [band] = found["prices"]
        assert (cell["category"], cell["country"], band["band"]) == (
            "vehicles/cars/electric",
            "GB",
            "10k-50k",
        )
        released += [cell["count"], band["count"]]

    # Each of the 8 is exactly 300 with probability ≈ 0.1 and 100 away with ≈ 2e-9.
    assert any(count != 300 for count in released)
    assert all(abs(count - 300) < 100 for count in released)


async def test_releases_stop_when_the_period_budget_is_spent_and_cached_ones_are_served(
    api: httpx.AsyncClient, exchange: Exchange
) -> None:
    """Four releases of 0.5 spend a day's 2.0; a fifth is refused, a repeat is the same answer."""
    publish(exchange.engine, 200)
    first = await signals(api, category="vehicles", period=YESTERDAY)
    for prefix in ("vehicles/cars", "home", "vehicles/cars/electric"):
        await signals(api, category=prefix, period=YESTERDAY)

    detail = await refused(api, 429, "budget_spent", category="electronics", period=YESTERDAY)
    assert "budget of 2026-11-23 is spent" in detail
    assert await signals(api, category="vehicles", period=YESTERDAY) == first
    with exchange.engine.begin() as connection:
        assert connection.execute(select(signal_budget.c.spent)).scalar() == 2.0

    async with await client(exchange) as restarted:  # the cache and the spend are in the store
        assert await signals(restarted, category="vehicles", period=YESTERDAY) == first
        await refused(restarted, 429, "budget_spent", period=YESTERDAY)
        await signals(restarted, category="electronics", period="2026-11-22")  # its own budget


async def test_only_a_day_that_is_over_is_released(
    api: httpx.AsyncClient, exchange: Exchange
) -> None:
    """Today and later days are refused, as are malformed days; by default, yesterday."""
    assert "is not over" in await refused(api, 422, "invalid_request", period="2026-11-24")
    await refused(api, 422, "invalid_request", period="2026-12-01")
    for malformed in ("2026-13-01", "20261123", "yesterday"):
        await refused(api, 422, "invalid_request", period=malformed)
    with exchange.engine.begin() as connection:
        assert connection.execute(select(signal_budget)).all() == []  # refusals cost nothing

    assert (await signals(api, category="home"))["period"] == YESTERDAY


async def test_a_malformed_or_unknown_category_is_refused(api: httpx.AsyncClient) -> None:
    """Not a category path, or not in the taxonomy: 422 problem, naming the closest ones."""
    for malformed in ("Vehicles", "vehicles/", "a/b/c/d/e", "cars%"):
        await refused(api, 422, "invalid_request", category=malformed, period=YESTERDAY)
    detail = await refused(
        api, 422, "invalid_request", category="vehicles/flying-carpets", period=YESTERDAY
    )
    assert "did you mean" in detail


async def test_withdrawn_and_expired_intents_count_for_the_day_they_were_published(
    exact: httpx.AsyncClient, exchange: Exchange
) -> None:
    """The demand existed: every state counts, on the day of created_at (midnight opens it)."""
    publish(exchange.engine, 4, at="00:00:00")
    publish(exchange.engine, 3, state="withdrawn")
    publish(exchange.engine, 3, at="23:59:59", state="expired")
    publish(exchange.engine, 20, day="2026-11-22", at="23:59:59")
    publish(exchange.engine, 20, day="2026-11-24", at="00:00:00")

    found = await signals(exact, category="vehicles", period=YESTERDAY)

    assert found["counts"] == [{"category": "vehicles/cars/electric", "country": "GB", "count": 10}]


@pytest.mark.parametrize("before", [0, 1])
def test_concurrent_releases_never_overspend_a_period(exchange: Exchange, before: int) -> None:
    """Eight at once, two per prefix, budget for one more: one answer (twice), six refusals."""
    publish(exchange.engine, 100)
    signals = DemandSignals(
        exchange.engine, epsilon_per_period=0.5 * (before + 1), clock=lambda: NOW
    )
    if before:  # the period's budget row exists: its lock orders the releases
        signals.release(category="tickets", period=YESTERDAY)
    prefixes = ["vehicles", "home", "vehicles/cars", "electronics"] * 2

    def release(prefix: str) -> dict[str, Any] | str:
        try:
            return signals.release(category=prefix, period=YESTERDAY)
        except SignalsRefused as refusal:
            return refusal.code

    with ThreadPoolExecutor(len(prefixes)) as pool:
        answers = list(pool.map(release, prefixes))

    made = [answer for answer in answers if isinstance(answer, dict)]
    assert len(made) == 2
    assert made[0] == made[1]
    assert sorted(a for a in answers if isinstance(a, str)) == ["budget_spent"] * 6
    with exchange.engine.begin() as connection:
        assert connection.execute(select(signal_budget.c.spent)).scalar() == 0.5 * (before + 1)
        assert len(connection.execute(select(signal_releases)).all()) == before + 1


def test_the_threshold_bounds_the_chance_of_revealing_a_lone_intent() -> None:
    """At the defaults a cell needs far more than k = 10: k alone would give δ > 0.1."""
    defaults = DemandSignals(create_engine("sqlite://"))
    dp.enable_features("contrib")

    def delta(threshold: int) -> float:
        measurement = dp.m.make_laplace_threshold(
            dp.map_domain(dp.atom_domain(T=dp.String), dp.atom_domain(T=dp.i64)),
            dp.l01inf_distance(dp.absolute_distance(T=dp.i64)),
            scale=defaults.cell_scale,
            threshold=threshold,
        )
        epsilon, found = measurement.map(CELL_SENSITIVITY)
        assert epsilon <= 0.4 + 1e-9  # 80 % of the release's 0.5
        return float(found)

    assert delta(defaults.threshold) <= 1e-6 < delta(defaults.threshold - 1)
    assert delta(defaults.k) > 0.1
    assert 50 < defaults.threshold < 100
