"""``vrm records`` as a person types it: receipts listed, shown, searched, exported; the journal."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
from pathlib import Path

import pytest

from tests.agent.records.sales import item, sale, send
from tests.agent.test_intents import publish, wanted
from tests.agent.vendors import Clock, VendorNetwork, connect
from tests.cli.homes import filled_home
from tests.commandline import one_line_error, run_vrm
from vrm.agent.personal_agent import PersonalAgent

PASSPHRASE = "correct horse"
SOON = (dt.date.today() + dt.timedelta(days=10)).isoformat()


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase=PASSPHRASE)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An agent holding two receipts from Corner Shop (a kettle under warranty) and an intent."""
    folder = tmp_path_factory.mktemp("records")

    async def fill(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> None:
        shop, relationship = await connect(person, network, "Corner Shop", clock=clock)
        kettle = item("Blue kettle", "39.90", sku="KT-22", warrantyEnd=SOON)
        send(person, shop, relationship, sale(kettle, note="Gift"), clock=clock)
        teapot = item("Teapot", "25.00")
        send(person, shop, relationship, sale(teapot, order="A-1002"), clock=clock)
        publish(person, wanted("a quiet dishwasher"))

    filled_home(folder, PASSPHRASE, fill)
    return folder


def test_list_and_show(home: Path) -> None:
    """The list as JSON and as a table; one receipt in words, and as JSON with its signature."""
    listed = json.loads(vrm(home, "records", "list", "--json").stdout)
    assert [r["receipt"]["orderNumber"] for r in listed] == ["A-1002", "A-1001"]
    table = vrm(home, "records", "list")
    assert table.returncode == 0, table.stderr
    assert "Blue kettle" in table.stdout
    assert "39.90 EUR" in table.stdout

    kettle = next(r for r in listed if r["receipt"]["orderNumber"] == "A-1001")
    shown = vrm(home, "records", "show", str(kettle["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "order A-1001" in shown.stdout
    assert "KT-22" in shown.stdout
    assert "note: Gift" in shown.stdout
    as_json = json.loads(vrm(home, "records", "show", str(kettle["id"]), "--json").stdout)
    assert as_json["signed"].count(".") == 2


def test_search(home: Path) -> None:
    """Any case, any searchable text; nothing found says so."""
    found = vrm(home, "records", "search", "TEAPOT", "--json")
    assert [r["receipt"]["orderNumber"] for r in json.loads(found.stdout)] == ["A-1002"]
    nothing = vrm(home, "records", "search", "bicycle")
    assert nothing.returncode == 0
    assert "No receipt holds 'bicycle'" in nothing.stdout


def test_export_to_stdout_and_to_a_file(home: Path, tmp_path: Path) -> None:
    """CSV on standard output; JSON to a file only the person can read."""
    exported = vrm(home, "records", "export", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout)))
    assert [row[3] for row in rows[1:]] == ["Teapot", "Blue kettle"]

    target = tmp_path / "receipts.json"
    written = vrm(home, "records", "export", "--format", "json", "--output", str(target))
    assert written.returncode == 0, written.stderr
    assert "not encrypted" in written.stderr
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 2
    assert target.stat().st_mode & 0o777 == 0o600


def test_reminders(home: Path) -> None:
    """The kettle's warranty ends within 30 days."""
    shown = vrm(home, "records", "reminders")
    assert shown.returncode == 0, shown.stderr
    assert "warranty ends" in shown.stdout
    assert "10 days" in shown.stdout
    [reminder] = json.loads(vrm(home, "records", "reminders", "--json").stdout)
    assert (reminder["item"], reminder["date"]) == ("Blue kettle", SOON)


def test_journal_with_a_note(home: Path) -> None:
    """The journal of the intent, then with the person's note."""
    before = vrm(home, "records", "journal", "1")
    assert before.returncode == 0, before.stderr
    assert "a quiet dishwasher" in before.stdout
    assert "No offers came." in before.stdout
    noted = vrm(home, "records", "journal", "1", "--note", "Waiting for the sales")
    assert noted.returncode == 0, noted.stderr
    assert "your note: Waiting for the sales" in noted.stdout
    assert json.loads(vrm(home, "records", "journal", "1", "--json").stdout)["note"] == (
        "Waiting for the sales"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("records", "show", "99"), "no receipt 99"),
        (("records", "export", "--format", "xml"), "--format 'xml': give csv or json"),
        (("records", "journal", "7"), "no intent 7"),
        (("records", "journal", "1", "--note", "x" * 10_001), "at most 10,000 characters"),
    ],
)
def test_mistakes_are_one_line(home: Path, args: tuple[str, ...], expected: str) -> None:
    """An unknown receipt or intent, a format not offered, a note too long: one line each."""
    one_line_error(vrm(home, *args), expected)


def test_an_unwritable_output_is_one_line(home: Path, tmp_path: Path) -> None:
    """A folder that is not there: one line, and no export is recorded."""
    result = vrm(home, "records", "export", "--output", str(tmp_path / "no" / "such.csv"))
    one_line_error(result, "No such file or directory")
    logged = json.loads(vrm(home, "audit", "--json").stdout)
    exports = [e["details"]["to"] for e in logged if e["kind"] == "receipts.export"]
    assert not any("such.csv" in to for to in exports)
