"""``vrm profile`` as a person types it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.commandline import run_vrm


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm(*args, home=home, passphrase="correct horse")


def test_set_show_and_history(tmp_path: Path) -> None:
    """Fields set from the command line show up, with each change in the history."""
    assert vrm(tmp_path, "init").returncode == 0
    address = {"streetAddress": "1 Main St", "addressLocality": "Springfield"}
    for args in [
        ("profile", "set", "address.home", json.dumps(address)),
        ("profile", "set", "address.home", json.dumps({**address, "streetAddress": "9 Elm Rd"})),
        ("profile", "set", "email.primary", "ann@example.org"),
    ]:
        result = vrm(tmp_path, *args)
        assert result.returncode == 0, result.stderr
    shown = json.loads(vrm(tmp_path, "profile", "show", "--json").stdout)
    assert shown == {
        "address.home": {**address, "streetAddress": "9 Elm Rd"},
        "email.primary": "ann@example.org",
    }
    history = json.loads(vrm(tmp_path, "profile", "history", "address.home", "--json").stdout)
    assert [(v["version"], v["value"]["streetAddress"], v["changed_by"]) for v in history] == [
        (1, "1 Main St", "cli"),
        (2, "9 Elm Rd", "cli"),
    ]


def test_bad_field_or_value_is_one_line(tmp_path: Path) -> None:
    """An unknown field, a bad value or a non-JSON address: one line each, nothing stored."""
    assert vrm(tmp_path, "init").returncode == 0
    for args, message in [
        (("profile", "set", "shoe", "42"), "not a profile field"),
        (("profile", "set", "email.primary", "nope"), "not a valid email"),
        (("profile", "set", "address.home", "1 Main St"), "takes a JSON address"),
    ]:
        result = vrm(tmp_path, *args)
        assert result.returncode == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1
        assert message in lines[0]
    assert json.loads(vrm(tmp_path, "profile", "show", "--json").stdout) == {}


def test_export_to_a_private_file_and_import_it_back(tmp_path: Path) -> None:
    """A vCard export written to a file (mode 0600) imports into another agent unchanged."""
    first, second = tmp_path / "first", tmp_path / "second"
    for home in (first, second):
        assert vrm(home, "init").returncode == 0
    assert vrm(first, "profile", "set", "email.primary", "ann@example.org").returncode == 0
    assert vrm(first, "profile", "set", "name.given", "Ann").returncode == 0
    card = tmp_path / "ann.vcf"
    exported = vrm(first, "profile", "export", "--output", str(card))
    assert exported.returncode == 0, exported.stderr
    assert card.stat().st_mode & 0o077 == 0
    imported = vrm(second, "profile", "import", str(card))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(vrm(second, "profile", "show", "--json").stdout) == {
        "email.primary": "ann@example.org",
        "name.given": "Ann",
    }
    history = json.loads(vrm(second, "profile", "history", "name.given", "--json").stdout)
    assert history[0]["changed_by"] == "vcard import"


def test_audit_lists_and_verifies(tmp_path: Path) -> None:
    """vrm audit lists what happened; vrm audit verify says the chain is whole (exit 0)."""
    assert vrm(tmp_path, "init").returncode == 0
    assert vrm(tmp_path, "profile", "set", "language", "en").returncode == 0
    assert vrm(tmp_path, "profile", "export").returncode == 0
    logged = json.loads(vrm(tmp_path, "audit", "--json").stdout)
    assert [entry["kind"] for entry in logged] == [
        "agent.created",
        "profile.set",
        "profile.export",
    ]
    verified = vrm(tmp_path, "audit", "verify")
    assert verified.returncode == 0
    assert "3 entries verified" in verified.stdout


def test_failed_export_is_not_logged_as_a_disclosure(tmp_path: Path) -> None:
    """An export that could not be written leaves no 'profile.export' entry in the audit log."""
    assert vrm(tmp_path, "init").returncode == 0
    failed = vrm(tmp_path, "profile", "export", "--output", str(tmp_path / "missing" / "x.vcf"))
    assert failed.returncode == 1
    assert "No such file or directory" in failed.stderr
    kinds = [entry["kind"] for entry in json.loads(vrm(tmp_path, "audit", "--json").stdout)]
    assert kinds == ["agent.created"]
