"""The CSV adapter: every change appended to a file, one row per field.

The smallest useful adapter, and a model for writing others: a CRM that imports
spreadsheets reads the file; anything else is a page of code like this one.
Columns are :data:`COLUMNS`; ``value`` is the field's value as JSON text
(``null`` when the person cleared or withdrew it). A change without fields (a
relationship ended, a record erased) is one row with ``field``, ``version`` and
``value`` empty. On ``customer.deleted`` the file is rewritten without any earlier row
of that customer (atomically: a new file renamed over the old), then the deletion's
own row is appended, so that an importer deletes the customer's rows too.

Delivery is idempotent: an ``event_id`` already in the file is not written again,
so a retry after a crash between writing and acknowledging adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import anyio
import anyio.to_thread

from vrm.vendor.adapters.base import AdapterError, ChangeKind, CustomerChange

COLUMNS = ("event_id", "occurred_at", "kind", "customer", "field", "version", "value")
"""The file's header row."""


def change_rows(change: CustomerChange) -> list[list[str]]:
    """The rows for one change: one per field, or one without a field when it has none."""
    occurred_at = datetime.fromtimestamp(change.occurred_at, tz=UTC).isoformat()
    common = [change.event_id, occurred_at, change.kind.value, change.customer]
    if not change.fields:
        return [[*common, "", "", ""]]
    return [
        [*common, field, str(change.versions.get(field, "")), json.dumps(value, ensure_ascii=False)]
        for field, value in change.fields.items()
    ]


def read_event_ids(path: Path) -> set[str]:
    """The event ids already in the file (none when it does not exist yet)."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            return {row["event_id"] for row in csv.DictReader(file)}
    except FileNotFoundError:
        return set()


def append_rows(path: Path, rows: list[list[str]]) -> None:
    """Append ``rows`` (and the header first if the file is new), then flush and fsync."""
    text = io.StringIO()
    writer = csv.writer(text)
    with path.open("a", newline="", encoding="utf-8") as file:
        if file.tell() == 0:
            writer.writerow(COLUMNS)
        writer.writerows(rows)
        file.write(text.getvalue())  # the change's rows in one write
        file.flush()
        os.fsync(file.fileno())


def remove_customer(path: Path, customer: str) -> None:
    """Rewrite the file without ``customer``'s rows (atomically; nothing if it is absent)."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            kept = [row for row in csv.reader(file) if len(row) < 4 or row[3] != customer]
    except FileNotFoundError:
        return
    text = io.StringIO()
    csv.writer(text).writerows(kept)
    fresh = path.with_name(path.name + ".erasing")
    with fresh.open("w", newline="", encoding="utf-8") as file:
        file.write(text.getvalue())
        file.flush()
        os.fsync(file.fileno())
    fresh.replace(path)


class CsvAdapter:
    """Appends each change to the CSV file at ``path``, skipping event ids it holds."""

    def __init__(self, *, name: str, path: Path) -> None:
        self.name = name
        self.path = path
        self._seen: set[str] | None = None
        self._lock = anyio.Lock()

    async def deliver(self, change: CustomerChange) -> None:
        """Append the change's rows unless its event id is in the file already."""
        async with self._lock:  # one writer at a time, and no event written twice
            try:
                seen = await self._seen_event_ids()
                if change.event_id in seen:
                    return
                if change.kind == ChangeKind.DELETED:
                    await anyio.to_thread.run_sync(remove_customer, self.path, change.customer)
                await anyio.to_thread.run_sync(append_rows, self.path, change_rows(change))
            except (OSError, csv.Error, UnicodeError) as exc:  # fixable there, so retryable
                raise AdapterError(f"cannot append to {self.path}: {exc}") from exc
            seen.add(change.event_id)

    async def _seen_event_ids(self) -> set[str]:
        """The event ids in the file, read from it on first use and kept up to date."""
        if self._seen is None:
            self._seen = await anyio.to_thread.run_sync(read_event_ids, self.path)
        return self._seen

    async def aclose(self) -> None:
        """Nothing to release: the file is opened for each change."""
