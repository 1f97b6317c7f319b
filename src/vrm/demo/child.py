"""The demos' services in child processes, started and stopped cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path


class DemoError(OSError):
    """The demo could not set its parties up."""


class Child:
    """A service in a child process; ready once it prints a line starting with ``ready``."""

    def __init__(self, command: list[str], *, ready: str, log: Path | None = None) -> None:
        self.command = command
        self.ready = ready
        self.log = log
        self.process: subprocess.Popen[str] | None = None
        self.first_line = ""

    async def __aenter__(self) -> Child:
        with contextlib.ExitStack() as files:
            errors = files.enter_context(self.log.open("w")) if self.log else None
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                self.command,
                stdout=subprocess.PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                text=True,
            )
        assert self.process.stdout is not None  # noqa: S101 - stdout=PIPE above
        self.first_line = await asyncio.to_thread(self.process.stdout.readline)
        if not self.first_line.startswith(self.ready):
            await self.stop()
            where = f"see {self.log}" if self.log else "its own error is shown above"
            raise DemoError(f"{self.command[2]} did not start ({where})")
        return self

    @property
    def url(self) -> str:
        """The URL a service printed as 'listening on URL'."""
        return self.first_line.removeprefix("listening on ").strip()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            await asyncio.to_thread(self.process.wait, 10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        if self.process.stdout is not None:
            self.process.stdout.close()
