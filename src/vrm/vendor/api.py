"""The vendor endpoint's HTTP face: discovery, the protocol inbox, and the vendor's JSON API.

The API (bearer token) lists customers and their current fields, shows one
customer's history, lets the vendor approve or refuse pending relationships, and
shows the delivery log of the CRM adapters. OpenAPI at ``/docs``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from vrm.transport.app import install_problem_handlers, mount_party, problem_response
from vrm.transport.bearer import require_bearer
from vrm.vendor import jobs
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.records import NotPending, UnknownCustomer

router = APIRouter(prefix="/api")
STATES = "^(pending|accepted|refused)$"


def _endpoint(request: Request) -> VendorEndpoint:
    endpoint: VendorEndpoint = request.app.state.endpoint
    return endpoint


@router.get("/customers", tags=["customers"])
async def list_customers(
    request: Request, state: Annotated[str | None, Query(pattern=STATES)] = None
) -> list[dict[str, Any]]:
    """Customers (by the person's DID with this vendor) and their current fields."""
    return await run_in_threadpool(_endpoint(request).records.customers, state=state)


@router.get("/customers/{did}", tags=["customers"])
async def show_customer(request: Request, did: str) -> dict[str, Any]:
    """One customer: relationship states, current fields, the terms each was granted under."""
    return await run_in_threadpool(_endpoint(request).records.customer, did)


@router.get("/customers/{did}/history", tags=["customers"])
async def customer_history(request: Request, did: str) -> list[dict[str, Any]]:
    """Every field version received from the customer, and every revocation."""
    return await run_in_threadpool(_endpoint(request).records.history, did)


@router.get("/relationships/pending", tags=["relationships"])
async def pending(request: Request) -> list[dict[str, Any]]:
    """Relationship requests waiting for the vendor's decision."""
    return await run_in_threadpool(_endpoint(request).records.customers, state="pending")


@router.post("/relationships/{did}/approve", tags=["relationships"])
async def approve(request: Request, did: str) -> dict[str, Any]:
    """Accept a pending request: the person is told, the CRMs get the new customer."""
    endpoint = _endpoint(request)
    await run_in_threadpool(endpoint.records.approve, did)
    endpoint.worker.wake()
    return await run_in_threadpool(endpoint.records.customer, did)


@router.post("/relationships/{did}/refuse", tags=["relationships"])
async def refuse(request: Request, did: str) -> dict[str, Any]:
    """Refuse a pending request: the person is told."""
    endpoint = _endpoint(request)
    await run_in_threadpool(endpoint.records.refuse, did)
    endpoint.worker.wake()
    return await run_in_threadpool(endpoint.records.customer, did)


@router.post("/relationships/{did}/end", tags=["relationships"])
async def end(request: Request, did: str) -> dict[str, Any]:
    """End an accepted relationship from the vendor's side: the person is told."""
    endpoint = _endpoint(request)
    await run_in_threadpool(endpoint.records.end, did)
    endpoint.worker.wake()
    return await run_in_threadpool(endpoint.records.customer, did)


@router.get("/deliveries", tags=["deliveries"])
async def deliveries(
    request: Request,
    adapter: str | None = None,
    answers: bool = False,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[dict[str, Any]]:
    """The CRM adapters' delivery log, newest first.

    ``?adapter=NAME`` shows one adapter's; ``?answers=true`` the answers sent to people.
    """
    prefix = jobs.adapter_queue(adapter) if adapter else jobs.ADAPTER_PREFIX
    if answers:
        prefix = jobs.MESSAGE_QUEUE

    def read() -> list[dict[str, Any]]:
        with _endpoint(request).engine.begin() as connection:
            return jobs.job_log(connection, queue_prefix=prefix, limit=limit)

    return await run_in_threadpool(read)


@router.post("/deliveries/{job_id}/retry", tags=["deliveries"])
async def retry(request: Request, job_id: int) -> dict[str, Any]:
    """Queue a failed delivery again, due now."""
    endpoint = _endpoint(request)

    def requeue() -> bool:
        with endpoint.engine.begin() as connection:
            return jobs.retry_job(
                connection,
                job_id,
                now=endpoint.records.clock(),
                max_age=endpoint.settings.delivery_max_age,
            )

    if not await run_in_threadpool(requeue):
        raise HTTPException(404, f"no failed delivery {job_id}")
    endpoint.worker.wake()
    return {"id": job_id, "state": "pending"}


def create_vendor_app(endpoint: VendorEndpoint, *, api_token: str) -> FastAPI:
    """The endpoint's app; its lifespan runs the job worker and closes the endpoint."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(endpoint.worker.run(), name="vendor jobs")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await endpoint.aclose()

    settings = endpoint.settings
    app = FastAPI(
        title=f"vrm vendor endpoint: {settings.name}",
        version="1",
        lifespan=lifespan,
        redirect_slashes=False,
        description="Customers who relate with this vendor on their own terms. "
        "Every /api operation needs the endpoint's bearer token.",
    )
    app.state.endpoint = endpoint
    install_problem_handlers(app)

    @app.exception_handler(UnknownCustomer)
    async def _unknown(request: Request, exc: UnknownCustomer) -> JSONResponse:
        return problem_response("not_found", str(exc), instance=request.url.path, status=404)

    @app.exception_handler(NotPending)
    async def _decided(request: Request, exc: NotPending) -> JSONResponse:
        return problem_response("conflict", str(exc), instance=request.url.path, status=409)

    guard = require_bearer(app, api_token, hint="printed when the endpoint starts")
    app.include_router(router, dependencies=[guard])
    mount_party(
        app,
        inbox=endpoint.inbox,
        name=settings.name,
        accepted_terms=[],
        public_url=settings.public_url,
    )
    return app
