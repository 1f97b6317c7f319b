"""The public surface of vrm.protocol and what importing it drags in."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import vrm.protocol

FORBIDDEN_IMPORTS = ("fastapi", "starlette", "sqlalchemy", "aiohttp", "httpx", "typer", "rich")


def _public_names() -> set[str]:
    return {
        name
        for name, value in vars(vrm.protocol).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def test_every_name_in_all_exists():
    """Every name vrm.protocol.__all__ promises can be imported from it."""
    missing = [name for name in vrm.protocol.__all__ if not hasattr(vrm.protocol, name)]
    assert missing == []


def test_all_lists_each_name_once():
    """__all__ has no duplicates."""
    assert len(vrm.protocol.__all__) == len(set(vrm.protocol.__all__))


def test_all_is_exactly_the_public_names():
    """Every public, non-module attribute of vrm.protocol is in __all__, and nothing else is."""
    assert set(vrm.protocol.__all__) == _public_names()


def test_star_import_gives_the_public_api():
    """from vrm.protocol import * binds exactly the names of __all__."""
    namespace: dict[str, object] = {}
    exec("from vrm.protocol import *", namespace)  # noqa: S102 - a fixed import statement
    namespace.pop("__builtins__")
    assert set(namespace) == set(vrm.protocol.__all__)


def _forbidden_loaded_after(statement: str) -> list[str]:
    """Run ``statement`` in a fresh interpreter; return the forbidden packages it loaded."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        f"forbidden = {FORBIDDEN_IMPORTS!r}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules} & set(forbidden))))\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return json.loads(result.stdout)


def test_importing_protocol_pulls_in_no_service_dependencies():
    """Importing vrm.protocol loads no web, database or CLI framework (the protocol is pure)."""
    assert _forbidden_loaded_after("import vrm.protocol, vrm.protocol.v1") == []


def test_import_check_sees_a_forbidden_import():
    """The import-boundary check really reports a forbidden package when one is imported."""
    assert "httpx" in _forbidden_loaded_after("import vrm.protocol, httpx")
