"""Tests that need a service skip with a reason on a bare machine, and fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def run_postgres_tests(ci: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("CI", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")
    }
    # Port 1 on loopback: nothing listens there, so PostgreSQL is "absent".
    env["VRM_TEST_POSTGRES_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    if ci:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",
            "-rs",
            "-k",
            "postgresql",
            "tests/transport/test_seen_ids.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.e2e
def test_missing_postgres_skips_with_a_printed_reason() -> None:
    """Without PostgreSQL and outside CI the tests are skipped, and the reason is shown."""
    result = run_postgres_tests(ci="")
    assert result.returncode == 0, result.stdout
    assert "skipped" in result.stdout
    assert "PostgreSQL is not available" in result.stdout


@pytest.mark.e2e
def test_missing_postgres_fails_in_ci() -> None:
    """With CI=true a missing PostgreSQL fails the run instead of skipping quietly."""
    result = run_postgres_tests(ci="true")
    assert result.returncode == 1, result.stdout
    assert "CI must run the tests that need it" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
