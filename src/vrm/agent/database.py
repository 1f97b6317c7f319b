"""The agent's SQLite database: one engine per process, schema migrated by Alembic."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from vrm.storage import migrate_to_newest, newest_revision, sqlite_engine

MIGRATIONS = Path(__file__).parent / "migrations"
__all__ = [
    "head_revision",
    "migrate",
    "newest_shipped_revision",
    "schema_revision",
    "sqlite_engine",
]


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest migration (Alembic is loaded only when needed)."""
    migrate_to_newest(engine, MIGRATIONS)


def newest_shipped_revision() -> str:
    """The newest migration's revision, from the file names (``NNNN_what.py``, in order)."""
    return newest_revision(MIGRATIONS)


def head_revision() -> str | None:
    """The newest migration shipped with this version of vrm, as Alembic sees it."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def schema_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
