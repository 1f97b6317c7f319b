"""The CSV adapter appends one row per field, once per event, and survives a csv round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import anyio
import pytest

from vrm.vendor.adapters.base import AdapterError, ChangeKind, CustomerChange
from vrm.vendor.adapters.csv_sink import COLUMNS, CsvAdapter

pytestmark = pytest.mark.anyio


def contact_change(event_id: str = "evt_01", **fields: object) -> CustomerChange:
    fields = fields or {"email.primary": "ada@example.org", "phone.mobile": "+33 6 12 34 56 78"}
    return CustomerChange(
        event_id=event_id,
        kind=ChangeKind.UPDATED,
        customer="did:key:z6MkCustomer",
        occurred_at=1_600_000_000.5,
        fields=dict(fields),
        versions=dict.fromkeys(fields, 2),
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


async def deliver(path: Path, *changes: CustomerChange) -> None:
    adapter = CsvAdapter(name="crm-csv", path=path)
    try:
        for change in changes:
            await adapter.deliver(change)
    finally:
        await adapter.aclose()


async def test_one_row_per_field(tmp_path: Path) -> None:
    """Each field of a change is a row, under a header written once."""
    path = tmp_path / "changes.csv"
    await deliver(path, contact_change("evt_01"), contact_change("evt_02"))
    rows = read_rows(path)
    assert [(r["event_id"], r["field"]) for r in rows] == [
        ("evt_01", "email.primary"),
        ("evt_01", "phone.mobile"),
        ("evt_02", "email.primary"),
        ("evt_02", "phone.mobile"),
    ]
    assert rows[0] == {
        "event_id": "evt_01",
        "occurred_at": "2020-09-13T12:26:40.500000+00:00",
        "kind": "customer.updated",
        "customer": "did:key:z6MkCustomer",
        "field": "email.primary",
        "version": "2",
        "value": '"ada@example.org"',
    }
    assert path.read_text(encoding="utf-8").count("event_id,") == 1


async def test_redelivery_writes_nothing(tmp_path: Path) -> None:
    """The same event again — from this adapter or a new one on the same file — adds no row."""
    path = tmp_path / "changes.csv"
    await deliver(path, contact_change("evt_01"), contact_change("evt_01"))
    written = path.read_bytes()
    await deliver(path, contact_change("evt_01"))
    assert path.read_bytes() == written
    assert len(read_rows(path)) == 2


async def test_awkward_values_survive_a_round_trip(tmp_path: Path) -> None:
    """Commas, quotes, newlines, unicode and structured values read back as they were."""
    values = {
        "address.home": {"street": '12, rue "du Pré"', "lines": ["Bât. B\nEsc. 3"]},
        "name.display": "Zoë Åström, 東京",
        "note": "one\r\ntwo\nthree",
        "email.work": None,
    }
    path = tmp_path / "changes.csv"
    await deliver(path, contact_change("evt_01", **values))
    rows = read_rows(path)
    assert {r["field"]: json.loads(r["value"]) for r in rows} == values


async def test_change_without_fields_is_one_row(tmp_path: Path) -> None:
    """An ended relationship has no fields but still shows in the file."""
    ended = CustomerChange(
        event_id="evt_end", kind=ChangeKind.ENDED, customer="did:key:z6MkCustomer", occurred_at=0
    )
    path = tmp_path / "changes.csv"
    await deliver(path, ended)
    [row] = read_rows(path)
    assert (row["kind"], row["field"], row["version"], row["value"]) == (
        "customer.ended",
        "",
        "",
        "",
    )


async def test_an_erased_customer_leaves_only_its_customer_deleted_row(tmp_path: Path) -> None:
    """Erasure removes the customer's earlier rows (values included); others' rows stay."""
    deleted = CustomerChange(
        event_id="evt_gone", kind=ChangeKind.DELETED, customer="did:key:z6MkCustomer", occurred_at=0
    )
    someone_else = CustomerChange(
        event_id="evt_other",
        kind=ChangeKind.UPDATED,
        customer="did:key:z6MkOther",
        occurred_at=0,
        fields={"email.primary": "bo@example.org"},
        versions={"email.primary": 1},
    )
    path = tmp_path / "changes.csv"
    await deliver(path, contact_change("evt_01"), someone_else, deleted)
    assert "ada@example.org" not in path.read_text(encoding="utf-8")
    assert [r["event_id"] for r in read_rows(path)] == ["evt_other", "evt_gone"]
    row = read_rows(path)[-1]
    assert (row["event_id"], row["kind"], row["customer"]) == (
        "evt_gone",
        "customer.deleted",
        "did:key:z6MkCustomer",
    )
    assert (row["field"], row["version"], row["value"]) == ("", "", "")


async def test_concurrent_deliveries_do_not_interleave(tmp_path: Path) -> None:
    """Changes delivered at once each land whole, once."""
    path = tmp_path / "changes.csv"
    adapter = CsvAdapter(name="crm-csv", path=path)
    async with anyio.create_task_group() as group:
        for number in range(20):
            group.start_soon(adapter.deliver, contact_change(f"evt_{number % 10}"))
    await adapter.aclose()
    rows = read_rows(path)
    assert len(rows) == 20
    assert {r["event_id"] for r in rows} == {f"evt_{n}" for n in range(10)}


async def test_unwritable_path_is_a_retryable_failure(tmp_path: Path) -> None:
    """A path that cannot be written (its parent is a file) raises a retryable AdapterError."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(AdapterError, match="cannot append") as failed:
        await deliver(blocker / "changes.csv", contact_change())
    assert failed.value.retryable is True
