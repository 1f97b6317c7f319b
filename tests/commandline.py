"""Running the ``vrm`` command as a person does: a separate process, exit status, output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_vrm(
    *args: str,
    home: Path | None = None,
    passphrase: str | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``vrm ARGS`` with its own ``VRM_HOME`` and ``VRM_PASSPHRASE`` (none if None)."""
    env = {key: value for key, value in os.environ.items() if key != "VRM_PASSPHRASE"}
    if home is not None:
        env["VRM_HOME"] = str(home)
    if passphrase is not None:
        env["VRM_PASSPHRASE"] = passphrase
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "vrm", *args],
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the command succeeded; its output."""
    assert result.returncode == 0, result.stderr
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> str:
    """Assert the command failed with one line, no traceback, saying ``expected``; that line."""
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1, result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr
