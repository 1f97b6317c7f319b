"""Services in their own processes, as a person or a vendor runs them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class ServiceProcess:
    """A service listening on 127.0.0.1 in a separate process."""

    process: subprocess.Popen[str]
    url: str

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL) and wait."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def kill(self) -> None:
        """SIGKILL: no clean-up, no flushing — as a crash or a power cut."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def free_port() -> int:
    """A port nothing listens on now: for a service whose public URL is set before it starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_service(command: list[str], *, env: dict[str, str] | None = None) -> ServiceProcess:
    """Start ``command`` (which prints 'listening on URL' first); return once it listens."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    for _ in range(5):
        line = process.stdout.readline()
        if line.startswith("listening on "):
            return ServiceProcess(process, line.removeprefix("listening on ").strip())
        if not line:
            break
    process.kill()
    pytest.fail(f"{' '.join(command[2:])} did not start (last line {line!r})")


def start_fleet(
    count: int = 1,
    *,
    base: str = "vrm fleet",
    policy: str = "accept",
    terms: str = "accept",
    delay: float = 0.0,
    port: int = 0,
) -> ServiceProcess:
    """A process hosting ``count`` small vendor inboxes (vrm.demo.fleet)."""
    return start_service(
        [
            sys.executable,
            "-m",
            "vrm.demo.fleet",
            "--count",
            str(count),
            "--base",
            base,
            "--policy",
            policy,
            "--terms",
            terms,
            "--delay",
            str(delay),
            "--port",
            str(port),
        ]
    )


def start_agent(home: Path, passphrase: str, *, port: int = 0) -> ServiceProcess:
    """``vrm up`` for the agent in ``home``."""
    return start_service(
        [sys.executable, "-m", "vrm", "up", "--home", str(home), "--port", str(port)],
        env={"VRM_PASSPHRASE": passphrase},
    )


def fleet_customers(fleet: ServiceProcess, index: int = 0) -> dict[str, dict]:
    """What vendor ``index`` of a fleet holds, by customer DID."""
    reply = httpx.get(f"{fleet.url}/v/{index}/customers", timeout=10)
    reply.raise_for_status()
    held: dict[str, dict] = reply.json()
    return held
