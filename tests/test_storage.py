"""The shared SQLite engine: what is deleted does not stay readable in the files."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from vrm.storage import sqlite_engine


def test_a_deleted_row_is_overwritten_in_the_files(tmp_path: Path) -> None:
    """A health record deleted at its grant's end leaves no trace in the database or its WAL."""
    engine = sqlite_engine(tmp_path / "vendor.db")
    secret = "Type 2 diabetes mellitus, HbA1c 6.8 %"
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kept (id INTEGER PRIMARY KEY, value TEXT)"))
        connection.execute(
            text("INSERT INTO kept (value) VALUES (:v)"),
            [{"v": f"{secret} #{n}"} for n in range(50)],
        )
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM kept"))
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    engine.dispose()
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    assert secret.encode() not in stored
