"""The ``vrm`` command starts without the libraries only some of its commands use."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = [
    "fastapi",
    "uvicorn",
    "aiohttp",
    "httpx",
    "alembic",
    "nats",
    "jinja2",
    "playwright",
    "fhir.resources",
]


def test_the_command_loads_no_web_stack_or_migration_tool_until_needed() -> None:
    probe = (
        "import json, sys; import vrm.cli.main; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    loaded = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(loaded.stdout) == []
