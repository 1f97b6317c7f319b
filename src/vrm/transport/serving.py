"""Running an ASGI app on 127.0.0.1 with uvicorn, inside the current event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

import uvicorn


class ServerStartError(OSError):
    """The server could not start listening (port in use, no permission…)."""


class LocalServer:
    """Serve ``app`` over real HTTP for as long as the ``async with`` block lasts.

    ``port=0`` lets the system pick a free port; :attr:`url` tells which.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        config = uvicorn.Config(
            app, host=host, port=port, log_level="critical", lifespan="on", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8123``."""
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> LocalServer:
        self._task = asyncio.create_task(self._serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises what stopped the server
                raise ServerStartError(f"the server on {self.host}:{self.port} stopped at start")
            await asyncio.sleep(0.01)
        return self

    async def _serve(self) -> None:
        # uvicorn calls sys.exit() when it cannot bind; inside a task that would tear
        # down the whole event loop, so it becomes an ordinary exception here.
        try:
            await self._server.serve()
        except SystemExit as exc:
            raise ServerStartError(
                f"cannot listen on {self.host}:{self.port} (in use, or not permitted)"
            ) from exc

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


ResultT = TypeVar("ResultT")


def run_service(main: Coroutine[Any, Any, ResultT]) -> ResultT:
    """Run a service's main coroutine on uvloop when it is installed, else asyncio."""
    try:
        import uvloop  # optional: absent on Windows
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
