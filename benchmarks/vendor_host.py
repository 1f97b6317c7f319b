"""Many real vendor endpoints in one process, for benchmarks.

Each vendor is a whole ``VendorEndpoint`` (vrm.vendor), as ``vrm serve vendor`` opens
it: its own identity, its own SQLite store and seen-ids file in a folder of its own,
its own Records (default policy: accept every request) and its own job worker,
running. The stores are separate files rather than one shared engine because the
endpoint's tables have no vendor column (a shared store would mix the vendors'
customers and jobs, and make them queue on one write lock); the cost is a few open
files per vendor. Each store is a copy of one store migrated at start, so the
migrations run once, not once per vendor.

One ASGI dispatcher routes ``/v/{i}/inbox`` to vendor ``i``'s inbox (the same plain
ASGI ``InboxEndpoint`` that ``mount_party`` mounts at ``/inbox``), without a route per
vendor. ``GET /fleet`` lists the vendors; ``GET /fleet/summary`` reads, per vendor,
its customers and their current ``address.home`` from the records, and counts the
jobs still pending. ``POST /answers`` takes the vendors' answers to relationship
requests (202, nothing else), so that they are delivered once and leave no job
retrying in the background.

Run: .venv/bin/python benchmarks/vendor_host.py --count 250 --base "host 0" --port 0
(prints ``listening on URL`` when every vendor is open).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.routing import Route

from vrm.protocol import Identity
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport.asgi import InboxEndpoint
from vrm.transport.background import running
from vrm.transport.serving import LocalServer, run_service
from vrm.vendor import jobs
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import DATABASE_FILE, MIGRATIONS, VendorEndpoint
from vrm.vendor.schema import jobs as jobs_table

PATH = "address.home"


def open_vendors(count: int, base: str, home: Path, poll: float) -> list[VendorEndpoint]:
    """``count`` endpoints, vendor ``i`` in ``home/i``, its key derived from ``base`` and ``i``."""
    template = home / "template" / DATABASE_FILE
    template.parent.mkdir(parents=True)
    engine = database_engine(template)
    migrate_to_newest(engine, MIGRATIONS)
    engine.dispose()  # the last connection closed: the WAL is folded into the file
    endpoints = []
    for index in range(count):
        folder = home / str(index)
        folder.mkdir()
        shutil.copyfile(template, folder / DATABASE_FILE)
        seed = hashlib.sha256(f"{base}\n{index}".encode()).digest()
        settings = settings_from({"name": f"{base} vendor {index}", "allow_loopback": True})
        endpoint = VendorEndpoint.open(settings, home=folder, identity=Identity.from_seed(seed))
        endpoint.worker.poll_interval = poll
        endpoints.append(endpoint)
    return endpoints


class _Dispatcher:
    """Routes ``/v/{index}/inbox`` to vendor ``index``'s inbox without a route per vendor."""

    def __init__(self, endpoints: list[VendorEndpoint]) -> None:
        self.inboxes = [InboxEndpoint(endpoint.inbox) for endpoint in endpoints]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        index = scope["path_params"]["index"]
        if not 0 <= index < len(self.inboxes):
            raise HTTPException(404, f"no vendor {index}")
        await self.inboxes[index](scope, receive, send)


class _Answers:
    """Takes the vendors' answers to relationship requests: reads each, answers 202."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def summary_of(index: int, endpoint: VendorEndpoint) -> dict[str, Any]:
    """What vendor ``index`` holds: customers, each one's current address, jobs pending."""
    held = endpoint.records.customers()
    with endpoint.engine.begin() as connection:
        waiting = connection.execute(
            select(func.count()).select_from(jobs_table).where(jobs_table.c.state == jobs.PENDING)
        ).scalar_one()
    return {
        "index": index,
        "customers": len(held),
        "accepted": sum(customer["state"] == "accepted" for customer in held),
        PATH: {customer["did"]: customer["fields"].get(PATH) for customer in held},
        "pending_jobs": waiting,
    }


def create_host_app(endpoints: list[VendorEndpoint]) -> FastAPI:
    """The host's HTTP face; its lifespan runs every vendor's job worker."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with running(*(endpoint.worker.run() for endpoint in endpoints)):
                yield
        finally:
            for endpoint in endpoints:
                await endpoint.aclose()

    app = FastAPI(title="vrm vendor endpoints", lifespan=lifespan, redirect_slashes=False)
    app.router.routes.append(
        Route("/v/{index:int}/inbox", _Dispatcher(endpoints), methods=["POST"], name="inbox")
    )
    app.router.routes.append(Route("/answers", _Answers(), methods=["POST"], name="answers"))

    @app.get("/fleet")
    async def vendors(request: Request) -> list[dict[str, Any]]:
        """Every vendor: its number, DID and inbox URL."""
        base = str(request.base_url).rstrip("/")
        return [
            {"index": index, "did": endpoint.identity.did, "inbox": f"{base}/v/{index}/inbox"}
            for index, endpoint in enumerate(endpoints)
        ]

    @app.get("/fleet/summary")
    async def summary() -> list[dict[str, Any]]:
        """Per vendor: customers, accepted ones, each one's address.home, jobs pending."""
        return await run_in_threadpool(
            lambda: [summary_of(index, endpoint) for index, endpoint in enumerate(endpoints)]
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--base", default="vrm vendor host", help="seed text of the vendors")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--home", type=Path, help="an empty folder for the stores (else a temp)")
    parser.add_argument(
        "--poll", type=float, default=1.0, help="each job worker's idle poll, in seconds"
    )
    args = parser.parse_args()

    async def serve(home: Path) -> None:
        endpoints = open_vendors(args.count, args.base, home, args.poll)
        app = create_host_app(endpoints)
        async with LocalServer(app, host=args.host, port=args.port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    # uvicorn stops on SIGTERM and then raises it again: as an interrupt, the temporary
    # folder is still removed on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with contextlib.suppress(KeyboardInterrupt):
        if args.home is not None:
            args.home.mkdir(parents=True, exist_ok=True)
            run_service(serve(args.home))
        else:
            with tempfile.TemporaryDirectory(prefix="vrm-vendors-") as folder:
                run_service(serve(Path(folder)))


if __name__ == "__main__":
    main()
