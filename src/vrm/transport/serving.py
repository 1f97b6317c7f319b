"""Running an ASGI app over HTTP with uvicorn, inside the current event loop."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import uvicorn


class ServerStartError(OSError):
    """The server could not start listening (port in use, no permission, unknown host…)."""


class LocalServer:
    """Serve ``app`` over real HTTP for as long as the ``async with`` block lasts.

    The listening socket is opened here rather than by uvicorn, so a failure to
    listen is an ordinary exception with its real cause (uvicorn would log it and
    exit the process). ``port=0`` lets the system pick a free port; :attr:`url`
    tells which.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from vrm.transport.app import inbox_first

        self.host, self.port = host, port
        config = uvicorn.Config(
            inbox_first(app),
            host=host,
            port=port,
            log_level="critical",
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8123`` or ``http://[::1]:8123``."""
        assert self._socket is not None, "the server is not running"  # noqa: S101
        host, port = self._socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def stopped(self) -> asyncio.Task[None]:
        """The serving task; it ends when the server stops (for instance on a signal)."""
        assert self._task is not None, "the server is not running"  # noqa: S101
        return self._task

    async def __aenter__(self) -> LocalServer:
        try:
            self._socket = socket.create_server(
                (self.host, self.port),
                family=socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                reuse_port=False,
            )
        except OSError as exc:
            if isinstance(exc, socket.gaierror) or not exc.errno:
                reason = exc.strerror or str(exc)
            else:
                reason = os.strerror(exc.errno)
            raise ServerStartError(f"cannot listen on {self.host}:{self.port}: {reason}") from exc
        self._task = asyncio.create_task(self._serve(self._socket))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped the server
                raise ServerStartError(f"the server on {self.url} stopped as it started")
            await asyncio.sleep(0.01)
        return self

    async def _serve(self, listening: socket.socket) -> None:
        # uvicorn calls sys.exit() when start-up fails; inside a task that would tear
        # down the whole event loop, so it becomes an ordinary exception here.
        try:
            await self._server.serve(sockets=[listening])
        except SystemExit as exc:
            raise ServerStartError(f"the server on {self.url} could not start") from exc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        if self._socket is not None:
            self._socket.close()


ResultT = TypeVar("ResultT")


def run_service(main: Coroutine[Any, Any, ResultT]) -> ResultT:
    """Run a service's main coroutine on uvloop when it is installed, else asyncio."""
    try:
        import uvloop  # optional: absent on Windows
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
