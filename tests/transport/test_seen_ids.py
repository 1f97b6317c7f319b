"""The persistent seen-ids store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vrm.transport.seen_ids import (
    PostgresSeenIds,
    SqliteSeenIds,
    StoreUnavailable,
    open_seen_ids,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Callable[[Clock], SqliteSeenIds | PostgresSeenIds]]:
    """Open stores of one backend at one location (reopening sees the same data)."""
    location = (
        str(tmp_path / "seen.db")
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    opened: list[SqliteSeenIds | PostgresSeenIds] = []

    def make(clock: Clock) -> SqliteSeenIds | PostgresSeenIds:
        store = open_seen_ids(location, clock=clock)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def test_remember_refuses_a_second_time(make_store: Callable[[Clock], SqliteSeenIds]) -> None:
    """An id is new once; remembering it again reports it as seen."""
    store = make_store(Clock(1000))
    assert store.remember("m-1", 2000) is True
    assert store.remember("m-1", 2000) is False
    assert store.remember("m-2", 2000) is True


def test_survives_reopening(make_store: Callable[[Clock], SqliteSeenIds]) -> None:
    """Ids remembered before a restart are still refused after it."""
    first = make_store(Clock(1000))
    first.remember("m-1", 2000)
    first.close()
    assert make_store(Clock(1000)).remember("m-1", 2000) is False


def test_prune_drops_only_expired(make_store: Callable[[Clock], SqliteSeenIds]) -> None:
    """Pruning forgets ids whose messages expired and keeps the rest."""
    clock = Clock(1000)
    store = make_store(clock)
    store.remember("old", 1500)
    store.remember("young", 5000)
    clock.now = 2000
    assert store.prune() == 1
    assert store.count() == 1
    assert store.remember("young", 5000) is False


def test_pruning_happens_during_use(make_store: Callable[[Clock], SqliteSeenIds]) -> None:
    """Without anyone calling prune, expired ids go once the prune interval passes."""
    clock = Clock(1000)
    store = make_store(clock)
    for n in range(10):
        store.remember(f"old-{n}", 1100)
    clock.now = 1200  # past the 60 s prune interval and past the ids expiry
    store.remember("trigger", 9999)
    assert store.count() == 1


def test_contains_only_looks(make_store: Callable[[Clock], SqliteSeenIds]) -> None:
    """contains() reports a key without recording it."""
    store = make_store(Clock(1000))
    assert store.contains("m-1") is False
    assert store.contains("m-1") is False
    store.remember("m-1", 2000)
    assert store.contains("m-1") is True


def test_unknown_store_url_is_refused() -> None:
    """Only SQLite paths and PostgreSQL URLs are stores; anything else is a clear error."""
    with pytest.raises(ValueError, match="unsupported seen-ids store"):
        open_seen_ids("redis://127.0.0.1:6379")


def test_damaged_store_is_named_in_a_clear_error(tmp_path: Path) -> None:
    """A file that is not a seen-ids database is refused with its path, not a raw error."""
    damaged = tmp_path / "seen.db"
    damaged.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(StoreUnavailable, match="not a seen-ids database"):
        open_seen_ids(str(damaged))
