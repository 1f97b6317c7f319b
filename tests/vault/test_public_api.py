"""vrm.vault exports what stores build on, and stays free of I/O libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import vrm.vault


def test_all_lists_every_public_name_and_only_those() -> None:
    """Every name in __all__ exists, and every public non-module attribute is listed."""
    public = {
        name
        for name, value in vars(vrm.vault).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(vrm.vault.__all__) == public


def test_importing_the_vault_loads_no_web_database_or_cli_library() -> None:
    """The vault is pure: importing it pulls in no framework, database or CLI package."""
    code = (
        "import json, sys, vrm.vault\n"
        "banned = ['fastapi', 'starlette', 'sqlalchemy', 'aiohttp', 'httpx', 'typer', 'rich']\n"
        "print(json.dumps([name for name in banned if name in sys.modules]))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
