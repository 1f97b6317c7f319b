"""The agent as one service: JSON API, protocol inbox and delivery worker in one process.

The inbox takes messages addressed to any of the person's relationship DIDs
and, like the API, publishes no discovery document: a person's agent has no one
public identity to publish. Errors are problem+json, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vrm.agent.api import review_feed_routes, reviews_routes
from vrm.agent.api.health_routes import router as health_router
from vrm.agent.api.intents_routes import router as intents_router
from vrm.agent.api.loyalty_routes import router as loyalty_router
from vrm.agent.api.payment_provider_routes import router as payment_provider_router
from vrm.agent.api.payments_routes import router as payments_router
from vrm.agent.api.records_routes import router as records_router
from vrm.agent.api.routes import router
from vrm.agent.api.terms_routes import router as terms_router
from vrm.agent.errors import AgentError
from vrm.agent.health.desk import HealthDesk
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.payments.desk import PaymentsDesk
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import InvalidField
from vrm.agent.reviews.desk import ReviewDesk
from vrm.agent.web import SignInLimits, install_web
from vrm.protocol import (
    AGREEMENT_ANSWER,
    DATA_ERASED,
    DATA_EXPORT,
    PROBLEM_REPORT,
    RELATIONSHIP_STATE,
    AgreementAnswer,
    DataErased,
    DataExport,
    Message,
    MessageTypes,
    RelationshipState,
    Verifier,
    v1_types,
)
from vrm.protocol.v1.health import HEALTH_DELETED, HealthDeleted
from vrm.protocol.v1.memberships import (
    MEMBERSHIP,
    MEMBERSHIP_REVOKE,
    Membership,
    MembershipRevoke,
)
from vrm.protocol.v1.payments import PAYMENT_RECEIPT, PaymentReceipt
from vrm.protocol.v1.records import RECEIPT, Receipt
from vrm.transport import (
    AiohttpTransport,
    Inbox,
    Sender,
    install_problem_handlers,
    mount_inbox,
    open_seen_ids,
    problem_response,
)
from vrm.transport.background import running
from vrm.transport.backoff import Backoff
from vrm.transport.bearer import require_bearer

log = logging.getLogger(__name__)

HOUSEKEEPING_INTERVAL = 60.0
OFFERS_INTERVAL = 15.0


_FROM_VENDORS = frozenset(
    {
        PROBLEM_REPORT,
        RELATIONSHIP_STATE,
        AGREEMENT_ANSWER,
        DATA_EXPORT,
        DATA_ERASED,
        RECEIPT,
        PAYMENT_RECEIPT,
        HEALTH_DELETED,
        MEMBERSHIP,
        MEMBERSHIP_REVOKE,
    }
)
"""The types the agent applies; a ping needs nothing applied."""


def agent_types() -> MessageTypes:
    """What a person's agent receives: the v1 types, and what vendors send people.

    Vendors' relationship states, answers to terms, exports and erasure confirmations,
    receipts, doctors' confirmations that presented health records are deleted,
    memberships and their revocations.
    """
    types = v1_types()
    types.add(RELATIONSHIP_STATE, RelationshipState)
    types.add(AGREEMENT_ANSWER, AgreementAnswer)
    types.add(DATA_EXPORT, DataExport)
    types.add(DATA_ERASED, DataErased)
    types.add(RECEIPT, Receipt)
    types.add(PAYMENT_RECEIPT, PaymentReceipt)
    types.add(HEALTH_DELETED, HealthDeleted)
    types.add(MEMBERSHIP, Membership)
    types.add(MEMBERSHIP_REVOKE, MembershipRevoke)
    return types


def create_agent_app(
    agent: PersonalAgent,
    *,
    api_token: str,
    seen_ids_path: Path,
    database_path: Path | None = None,
    backoff: Backoff | None = None,
    poll_interval: float = 1.0,
    sign_in_limits: SignInLimits | None = None,
) -> FastAPI:
    """Build the agent's app; its lifespan runs the delivery worker and housekeeping.

    The person's pages are served at ``/`` (sign-in with the passphrase), the JSON
    API under ``/api`` (bearer token), the inbox at ``/inbox``.
    """
    seen_ids = open_seen_ids(str(seen_ids_path))
    sender = Sender(AiohttpTransport(policy=agent.address_policy()))
    desk = IntentDesk(agent, transport=sender.transport)
    # Payees are looked up rarely (a first notice): the desk opens a client for that
    # round and closes it, so no session outlives an app whose lifespan never ran.
    payments_desk = PaymentsDesk(agent)
    worker = DeliveryWorker(
        agent.engine, agent.sealer, sender, backoff=backoff, poll_interval=poll_interval
    )
    loop_holder: list[asyncio.AbstractEventLoop] = []

    def wake_worker(_queued: list[str]) -> None:
        # Actions run in FastAPI's thread pool; the worker lives on the event loop.
        if loop_holder:
            loop_holder[0].call_soon_threadsafe(worker.wake)

    agent.on_queued = wake_worker

    async def receive(message: Message) -> None:
        if message.type in _FROM_VENDORS:
            await anyio.to_thread.run_sync(agent.receive, message)

    database = database_path or seen_ids_path.with_name("agent.db")
    ours = _KnownDids(database)

    verifier = Verifier(receiver=ours.contains, types=agent_types(), seen_ids=seen_ids)
    inbox = Inbox(verifier=verifier, handler=receive, recipients=agent.identity_for)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loop_holder.append(asyncio.get_running_loop())
        try:
            async with running(
                worker.run(), _housekeeping(agent, worker, payments_desk), _offers(desk)
            ):
                yield
        finally:
            await sender.transport.aclose()
            seen_ids.close()
            ours.close()

    app = FastAPI(
        title="vrm personal agent",
        version="1",
        lifespan=lifespan,
        redirect_slashes=False,
        description="The person's own agent: profile, vendors, terms and agreements, grants, "
        "data rights, deliveries, records, health records, memberships, audit log. "
        "Every /api operation needs the bearer token `vrm token` shows.",
    )
    app.state.agent = agent
    app.state.desk = desk
    app.state.payments_desk = payments_desk
    app.state.database_path = database
    app.state.worker = worker
    install_problem_handlers(app)
    _install_agent_problems(app)
    # The Settings page can replace the token while the agent runs.
    app.state.api_token = api_token
    guard = require_bearer(app, lambda: str(app.state.api_token), hint="vrm token shows it")
    app.include_router(router, dependencies=[guard])
    app.include_router(terms_router, dependencies=[guard])
    app.include_router(intents_router, dependencies=[guard])
    app.include_router(records_router, dependencies=[guard])
    app.include_router(payments_router, dependencies=[guard])
    app.include_router(payment_provider_router, dependencies=[guard])
    app.include_router(health_router, dependencies=[guard])
    app.include_router(loyalty_router, dependencies=[guard])
    reviews_routes.install(app, ReviewDesk(agent))
    app.include_router(reviews_routes.router, dependencies=[guard])
    app.include_router(review_feed_routes.router)  # the public feed: anyone may read it

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Whether the agent is up (no token needed, says nothing personal)."""
        return {"status": "ok"}

    mount_inbox(app, inbox)
    install_web(
        app,
        agent=agent,
        desk=desk,
        database=database,
        limits=sign_in_limits,
        payments_desk=payments_desk,
    )
    return app


class _KnownDids:
    """Whether a DID is one of the person's, for the inbox's recipient check.

    The check runs on the event loop for every message. Known DIDs are answered
    from memory; any other is looked up at once (a relationship may have been added
    a moment ago, by this process or a ``vrm`` command) through a read-only
    connection, which in WAL mode never waits for a writer. The look-up is one
    indexed read, cheaper than the signature check every message passed before it.
    """

    def __init__(self, database: Path) -> None:
        self._reader = sqlite3.connect(
            f"file:{database}?mode=ro", uri=True, check_same_thread=False
        )
        self._known: set[str] = set()

    def contains(self, did: str) -> bool:
        if did in self._known:
            return True
        found = self._reader.execute(
            "SELECT 1 FROM vendors WHERE our_did = ? UNION ALL"
            " SELECT 1 FROM payee_contacts WHERE our_did = ?",
            (did, did),
        ).fetchone()
        if found:
            self._known.add(did)
        return found is not None

    def close(self) -> None:
        self._reader.close()


def _install_agent_problems(app: FastAPI) -> None:
    @app.exception_handler(AgentError)
    async def _agent_error(request: Request, exc: AgentError) -> JSONResponse:
        return problem_response(exc.code, str(exc), instance=request.url.path, status=exc.status)

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, exc: ValueError) -> JSONResponse:
        code = "invalid_field" if isinstance(exc, InvalidField) else "invalid_request"
        return problem_response(code, str(exc), instance=request.url.path, status=422)


async def _housekeeping(
    agent: PersonalAgent, worker: DeliveryWorker, payments_desk: PaymentsDesk
) -> None:
    while True:
        try:
            if await anyio.to_thread.run_sync(agent.expire_grants):
                worker.wake()
        except Exception:
            log.exception("housekeeping failed; trying again later")
        try:
            if await payments_desk.send_notices():  # payees not reached at the last pay
                worker.wake()
        except Exception:
            log.exception("sending payment notices failed; trying again later")
        try:  # health records presented whose grant or relationship ended
            if await anyio.to_thread.run_sync(HealthDesk(agent).sweep):
                worker.wake()
        except Exception:
            log.exception("ending health presentations failed; trying again later")
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)


async def _offers(desk: IntentDesk) -> None:
    """Drain the mailbox of every live intent now and then (the exchange keeps them)."""
    while True:
        try:
            live = await anyio.to_thread.run_sync(desk.intents)
            for record in live:
                if record.state == "live":
                    await desk.fetch_offers(record.id)
        except Exception:
            log.exception("fetching offers failed; trying again later")
        await asyncio.sleep(OFFERS_INTERVAL)
