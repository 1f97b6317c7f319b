"""``vrm demo`` end to end: two processes, real HTTP, every step as the story says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_every_step_as_expected(tmp_path: Path) -> None:
    """The demo's story completes: discovery, answered pings, each refusal, the burst."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "vrm",
            "demo",
            "protocol",
            "--burst",
            "200",
            "--home",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every step as expected" in result.stdout, result.stdout[-4000:]
    for outcome in ("409 replay", "401 bad_signature", "403 wrong_recipient", "413 oversize"):
        assert outcome in result.stdout
    assert "200 accepted" in result.stdout
    assert (tmp_path / "alice" / "identity.seed").stat().st_mode & 0o077 == 0
    assert "Traceback" not in result.stderr


def test_change_once_story_reaches_every_crm(tmp_path: Path) -> None:
    """vrm demo: SCIM, webhook and built-in CRMs all hold the new address, with timings."""
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "vrm", "demo", "--home", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed once, every CRM has it" in result.stdout, result.stdout[-4000:]
    for vendor, crm in (
        ("Corner Grocer", "SCIM 2.0"),
        ("Harbour Bank", "signed webhooks"),
        ("Tidewater Magazine", "built-in store"),
    ):
        row = next(line for line in result.stdout.splitlines() if vendor in line)
        assert crm in row
        assert "9 Quay Street" in row
        assert " ms" in row
    assert "Traceback" not in result.stderr
    assert (tmp_path / "grocer" / "api-token").stat().st_mode & 0o077 == 0
