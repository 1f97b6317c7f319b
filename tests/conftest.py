"""Fixtures shared by the whole suite: services, peers in subprocesses, identities."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vrm.protocol import Identity

POSTGRES_URL = os.environ.get(
    "VRM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NATS_URL = os.environ.get("VRM_TEST_NATS_URL", "nats://127.0.0.1:4222")


def service_missing(name: str, reason: str) -> None:
    """Skip with a printed reason — or fail when running in CI, where every service must run."""
    message = f"{name} is not available ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must run the tests that need it", pytrace=False)
    pytest.skip(f"{message}; start it to run this test")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    try:
        import psycopg
    except ImportError:
        service_missing("PostgreSQL", "psycopg is not installed")
    plain = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        service_missing("PostgreSQL", f"{plain}: {exc}".splitlines()[0])
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in POSTGRES_URL else "?"
            yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def nats_url() -> str:
    """A NATS server with JetStream (tests keep apart by a prefix of their own)."""
    address = NATS_URL.split(",")[0].removeprefix("nats://").rsplit("@", 1)[-1]
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout=3) as s:
            greeting = s.makefile("rb").readline()  # the server speaks first: INFO {...}
    except OSError as exc:
        service_missing("NATS", f"{NATS_URL}: {exc}")
    if not greeting.startswith(b"INFO "):
        service_missing("NATS", f"{NATS_URL} does not answer as a NATS server")
    if not json.loads(greeting[5:]).get("jetstream"):
        service_missing("NATS", f"{NATS_URL} runs without JetStream (start it with -js)")
    return NATS_URL


@pytest.fixture
def alice() -> Identity:
    """A fresh identity for the sending side."""
    return Identity.generate()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, like the services."""
    return "asyncio"


@dataclass
class PeerProcess:
    """A ``vrm serve peer`` running in its own process."""

    process: subprocess.Popen[str]
    url: str
    home: Path

    @property
    def inbox(self) -> str:
        """The peer's inbox URL."""
        return f"{self.url}/inbox"

    @property
    def did(self) -> str:
        """The peer's DID, read from its key file."""
        return Identity.from_seed((self.home / "identity.seed").read_bytes()).did

    def stop(self) -> None:
        """Stop the process and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_peer(home: Path, *extra: str) -> PeerProcess:
    """Start ``vrm serve peer`` with state in ``home``; return once it listens."""
    command = [sys.executable, "-m", "vrm", "serve", "peer", "--home", str(home), "--port", "0"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [*command, *extra], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        pytest.fail(f"the peer did not start: {line!r}")
    return PeerProcess(process, line.removeprefix("listening on ").strip(), home)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeerProcess]:
    """One peer process shared by a test module (tests use distinct message ids)."""
    running = start_peer(tmp_path_factory.mktemp("peer"), "--name", "Bob", "--allow-loopback")
    yield running
    running.stop()
