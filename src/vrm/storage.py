"""Database engines shared by the services: SQLite tuned for one machine, or any URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, text


def sqlite_engine(path: Path) -> Engine:
    """An engine on ``path`` in WAL mode with foreign keys enforced.

    Every transaction begins ``IMMEDIATE``: it takes the write lock at once, so the
    server and a CLI command writing at the same time wait for each other (up to
    the busy timeout) instead of one failing on a read-to-write upgrade.
    """
    # URL.create: the path is the database's name as it is ('?', '#', '%' included).
    engine = create_engine(URL.create("sqlite", database=str(path)))

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below, not by pysqlite
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        # What is deleted (an erased customer, a doctor's expired health records) is
        # overwritten, not left in free pages of the file for anyone who copies it.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def database_engine(url_or_path: str | Path) -> Engine:
    """An engine for a database URL (``postgresql+psycopg://…``) or an SQLite file path."""
    text_form = str(url_or_path)
    if "://" in text_form:
        if text_form.startswith("sqlite:///"):
            return sqlite_engine(Path(text_form.removeprefix("sqlite:///")))
        # Requests run in up to 40 worker threads: a pool of 5 (the default) had most
        # of them open and close an overflow connection, a server process each time.
        return create_engine(text_form, pool_pre_ping=True, pool_size=20, max_overflow=20)
    return sqlite_engine(Path(text_form))


def migrate_to_newest(engine: Engine, migrations: Path) -> None:
    """Run the Alembic migrations in ``migrations`` up to the newest, if the database is behind.

    Alembic is imported only when there is something to do: most starts find the
    database current.
    """
    if recorded_revision(engine) == newest_revision(migrations):
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def newest_revision(migrations: Path) -> str:
    """The newest migration's revision, from the file names (``NNNN_what.py``, in order)."""
    files = (migrations / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")
    return max(path.name[:4] for path in files)


def recorded_revision(engine: Engine) -> str | None:
    """The revision the database records, or None for a database never migrated."""
    with engine.begin() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)
