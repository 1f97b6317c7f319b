"""The vendor endpoint's HTTP face: discovery, the protocol inbox, and the vendor's JSON API.

The API (bearer token) lists customers and their current fields, shows one
customer's history, lets the vendor approve or refuse pending relationships,
decide proffered terms held for it, keep its own data about a customer, send a
customer signed receipts, export or erase a customer's record, and shows the
delivery log of the CRM adapters;
:mod:`vrm.vendor.intents_routes` adds the intents exchanges matched and the
offers made for them; :mod:`vrm.vendor.memberships_routes` issues, revokes and
verifies membership credentials. OpenAPI at ``/docs``. The vendor's console
(:mod:`vrm.vendor.web`, signed in with the same token) is served beside it at ``/console``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, JsonValue, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from vrm.protocol import WELL_KNOWN_PATH, Discovery
from vrm.terms import Answer
from vrm.transport.app import INBOX_PATH, install_problem_handlers, mount_inbox, problem_response
from vrm.transport.background import running
from vrm.transport.bearer import require_bearer
from vrm.vendor import (
    health_routes,
    intents_routes,
    jobs,
    memberships_routes,
    payments_routes,
    reviews_routes,
)
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.errors import VendorError
from vrm.vendor.receipts import ReceiptRequest
from vrm.vendor.web import SignInLimits, install_console

router = APIRouter(prefix="/api")
STATES = "^(pending|accepted|refused|ended|erased)$"
TermsHash = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="the terms' SHA-256")]


class AlternativeChoice(BaseModel):
    """The agreement offered instead of the terms proffered."""

    agreement: str


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


@router.put("/customers/{did}/data", tags=["customers"])
async def set_vendor_data(
    request: Request, did: str, changes: Annotated[dict[str, JsonValue], Body()]
) -> dict[str, Any]:
    """Set the vendor's own data about the customer (``{"loyalty_tier": "gold"}``).

    Keys not named stay; a key set to null is removed. Answers the data after.
    """
    return await run_in_threadpool(_endpoint(request).records.set_vendor_data, did, changes)


@router.get("/customers/{did}/export", tags=["data rights"])
async def export(request: Request, did: str) -> dict[str, Any]:
    """Everything held on the customer: the body of the data.export the person would get."""
    return await run_in_threadpool(_endpoint(request).records.export, did)


@router.post("/customers/{did}/erase", tags=["data rights"])
async def erase(request: Request, did: str) -> dict[str, Any]:
    """Erase the customer's record; the CRMs delete it, then the person is told."""
    endpoint = _endpoint(request)
    await run_in_threadpool(endpoint.records.erase, did)
    endpoint.worker.wake()
    return await run_in_threadpool(endpoint.records.customer, did)


@router.post("/customers/{did}/receipts", tags=["receipts"], status_code=202)
async def send_receipt(request: Request, did: str, receipt: ReceiptRequest) -> dict[str, Any]:
    """Send the customer a signed receipt (a schema.org Order), encrypted to them.

    ``seller`` defaults to the endpoint's name and public URL. Answers the copy kept,
    with the message's id; ``409`` when the relationship is not accepted, was ended
    by the person or erased, ``422`` when the total does not add up.
    """
    endpoint = _endpoint(request)
    sent = await run_in_threadpool(endpoint.records.send_receipt, did, receipt)
    endpoint.worker.wake()
    return sent


@router.get("/customers/{did}/receipts", tags=["receipts"])
async def customer_receipts(request: Request, did: str) -> list[dict[str, Any]]:
    """The receipts sent to the customer, oldest first, with each one's delivery."""
    return await run_in_threadpool(_endpoint(request).records.receipts, did)


@router.get("/customers/{did}/agreements", tags=["agreements"])
async def customer_agreements(request: Request, did: str) -> list[dict[str, Any]]:
    """Every proffer and agreement of the customer, with the signed documents."""
    return await run_in_threadpool(_endpoint(request).records.agreements, did)


@router.get("/agreements/pending", tags=["agreements"])
async def pending_agreements(request: Request) -> list[dict[str, Any]]:
    """Proffers waiting for the vendor's decision (``[terms] manual = true``)."""
    return await run_in_threadpool(_endpoint(request).records.pending_agreements)


@router.post("/customers/{did}/agreements/{terms_sha256}/accept", tags=["agreements"])
async def accept_agreement(request: Request, did: str, terms_sha256: TermsHash) -> dict[str, Any]:
    """Accept a pending proffer: the vendor signs, the person is told; the agreement holds."""
    return await _decide(request, did, terms_sha256, Answer.ACCEPTED)


@router.post("/customers/{did}/agreements/{terms_sha256}/reject", tags=["agreements"])
async def reject_agreement(request: Request, did: str, terms_sha256: TermsHash) -> dict[str, Any]:
    """Reject a pending proffer: the person is told what the vendor accepts."""
    return await _decide(request, did, terms_sha256, Answer.REJECTED)


@router.post("/customers/{did}/agreements/{terms_sha256}/alternative", tags=["agreements"])
async def offer_alternative(
    request: Request, did: str, terms_sha256: TermsHash, choice: AlternativeChoice
) -> dict[str, Any]:
    """Answer a pending proffer with one alternative agreement, signed by the vendor."""
    return await _decide(request, did, terms_sha256, Answer.ALTERNATIVE, choice.agreement)


async def _decide(
    request: Request, did: str, terms_sha256: str, decision: Answer, alternative: str | None = None
) -> dict[str, Any]:
    endpoint = _endpoint(request)
    answered = await run_in_threadpool(
        lambda: endpoint.records.decide_agreement(
            did, terms_sha256, decision, alternative=alternative
        )
    )
    endpoint.worker.wake()
    return answered


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

    ``?adapter=NAME`` shows one adapter's; ``?answers=true`` the messages sent to people
    (erasure confirmations included).
    """
    prefix: str | tuple[str, ...] = jobs.adapter_queue(adapter) if adapter else jobs.ADAPTER_PREFIX
    if answers:
        prefix = (jobs.MESSAGE_QUEUE, jobs.ERASURE_QUEUE)

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


def create_vendor_app(
    endpoint: VendorEndpoint, *, api_token: str, sign_in_limits: SignInLimits | None = None
) -> FastAPI:
    """The endpoint's app; its lifespan runs the job worker and the exchanges' subscriptions."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with running(
                endpoint.worker.run(), endpoint.exchanges.run(), endpoint.health.sweeper.run()
            ):
                yield
        finally:
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

    @app.exception_handler(VendorError)
    async def _vendor_error(request: Request, exc: VendorError) -> JSONResponse:
        return problem_response(exc.code, str(exc), instance=request.url.path, status=exc.status)

    guard = require_bearer(app, api_token, hint="printed when the endpoint starts")
    app.include_router(router, dependencies=[guard])
    app.include_router(intents_routes.router, dependencies=[guard])
    app.include_router(payments_routes.router, dependencies=[guard])
    app.include_router(health_routes.router, dependencies=[guard])
    app.include_router(reviews_routes.router, dependencies=[guard])
    app.include_router(memberships_routes.router, dependencies=[guard])
    _mount_discovery(app, endpoint)
    mount_inbox(app, endpoint.inbox)
    install_console(app, endpoint=endpoint, api_token=api_token, limits=sign_in_limits)
    return app


def _mount_discovery(app: FastAPI, endpoint: VendorEndpoint) -> None:
    """``GET /.well-known/vrm``, publishing the terms the vendor accepts too."""
    public_url = endpoint.settings.public_url

    @app.get(WELL_KNOWN_PATH, tags=["protocol"])
    async def discovery(request: Request) -> Discovery:
        """Who this vendor is, where its inbox is, what it understands and accepts."""
        inbox_url = (
            public_url.rstrip("/") + INBOX_PATH if public_url else str(request.url_for("inbox"))
        )
        try:
            return endpoint.discovery(inbox_url)
        except ValidationError as exc:
            raise StarletteHTTPException(400, "the Host header makes no usable URL") from exc
