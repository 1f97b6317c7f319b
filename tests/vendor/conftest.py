"""Fixtures of the vendor tests: the vendor's store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from vrm.storage import database_engine, migrate_to_newest, sqlite_engine
from vrm.vendor.endpoint import MIGRATIONS


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database for the vendor's store: an SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        built = sqlite_engine(tmp_path / "vendor.db")
    else:
        built = database_engine(request.getfixturevalue("postgres_url"))
    yield built
    built.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """The vendor's store, migrated to the newest version."""
    migrate_to_newest(empty_engine, MIGRATIONS)
    return empty_engine
