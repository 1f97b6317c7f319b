"""``vrm serve peer`` failing to start says why in one line."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.commandline import run_vrm


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    return run_vrm("serve", "peer", *args)


def test_port_in_use_is_one_line(tmp_path: Path) -> None:
    """A port that is already taken gives one line naming it, and exit status 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = serve("--home", str(tmp_path), "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_damaged_key_file_is_one_line(tmp_path: Path) -> None:
    """A key file that is not a 32-byte seed is named in a one-line error."""
    (tmp_path / "identity.seed").write_bytes(b"not a seed")
    result = serve("--home", str(tmp_path), "--port", "0")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'identity.seed'} is not an identity seed (32 bytes)"
    ]
