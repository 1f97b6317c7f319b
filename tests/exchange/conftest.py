"""Fixtures of the exchange tests: its store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from vrm.exchange.service import MIGRATIONS
from vrm.storage import database_engine, migrate_to_newest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def exchange_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The exchange's store, migrated: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        built = database_engine(tmp_path / "exchange.db")
    else:
        built = database_engine(request.getfixturevalue("postgres_url"))
    migrate_to_newest(built, MIGRATIONS)
    yield built
    built.dispose()
