"""The exchange's HTTP face: discovery, the inbox, the offers mailbox and the fetch routes.

- ``POST /inbox``: intents and withdrawals from pseudonyms, subscriptions from vendors.
- ``POST /mailbox``: an offer, a JWE to an intent's pseudonym; kept, never read here.
- ``POST /mailbox/fetch?wait=S``: a pseudonym's signed ``mailbox.fetch``; its offers
  after the cursor, waiting up to ``S`` seconds (30 at most) for one to come.
- ``POST /intents/fetch``: a vendor's signed ``intents.fetch``; the live intents
  matched to it after the cursor (for vendors the exchange cannot reach).
- ``GET /signals?category=PREFIX&period=YYYY-MM-DD``: public, differentially private
  demand of a closed UTC day (:mod:`vrm.exchange.signals`).

Every refusal is problem+json; each pseudonym, vendor and mailbox is rate limited (by
each process on its own, when several serve one market: docs/scaling.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from vrm.exchange.limits import RateLimit, RateLimited
from vrm.exchange.service import Exchange
from vrm.exchange.signals import DemandSignals, SignalsRefused
from vrm.protocol import Message, ProtocolError, RefusalCode, recipient_of
from vrm.protocol.v1.intents import INTENTS_FETCH, MAILBOX_FETCH, Fetch
from vrm.transport.app import install_problem_handlers, mount_party, problem_response
from vrm.transport.background import running
from vrm.transport.inbox import JWE_MEDIA_TYPE, JWS_MEDIA_TYPE
from vrm.transport.problems import RATE_LIMITED

MAX_FETCH_BYTES = 16 * 1024
MAX_OFFER_BYTES = 256 * 1024
MAX_WAIT_SECONDS = 30.0
HOUSEKEEPING_SECONDS = 60.0


def create_exchange_app(
    exchange: Exchange, *, public_url: str | None = None, signals: DemandSignals | None = None
) -> FastAPI:
    """Build the exchange's app; its lifespan runs the bus (pushes, notices) and expiry.

    ``signals`` releases demand signals (default: the exchange's store, default settings).
    """
    demand = signals or DemandSignals(exchange.engine)
    limits = {
        "offers": RateLimit(rate=5.0, burst=50),  # per mailbox
        "mailbox": RateLimit(rate=2.0, burst=20),  # fetches per pseudonym
        "vendor": RateLimit(rate=20.0, burst=200),  # fetches per vendor
        "signals": RateLimit(rate=1.0, burst=30),  # per client address
    }

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with exchange.bus.running(), running(_expire(exchange)):
                yield
        finally:
            await exchange.aclose()

    app = FastAPI(
        title=exchange.settings.name,
        version="1",
        lifespan=lifespan,
        redirect_slashes=False,
        description="The intent exchange: pseudonymous intents in, matched to vendors' "
        "subscriptions; offers relayed, unread, to each intent's mailbox.",
    )
    install_problem_handlers(app)

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> JSONResponse:
        return problem_response(
            RATE_LIMITED,
            str(exc),
            instance=request.url.path,
            headers={"Retry-After": str(max(1, round(exc.retry_after)))},
        )

    mount_party(
        app,
        inbox=exchange.inbox,
        name=exchange.settings.name,
        accepted_terms=[],
        public_url=public_url,
    )

    @app.post("/mailbox", tags=["offers"], status_code=202)
    async def post_offer(request: Request) -> dict[str, Any]:
        """Keep an offer (a compact JWE to an intent's pseudonym) in that intent's mailbox."""
        encrypted = await _body(request, JWE_MEDIA_TYPE, MAX_OFFER_BYTES)

        pseudonym = recipient_of(encrypted)
        limits["offers"].take(pseudonym)
        kept = await anyio.to_thread.run_sync(exchange.market.post_offer, encrypted)
        await exchange.bus.offer_kept(pseudonym)
        return {"id": kept, "status": "accepted"}

    @app.post("/mailbox/fetch", tags=["offers"])
    async def fetch_offers(
        request: Request, wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0
    ) -> dict[str, Any]:
        """A pseudonym's offers after its cursor, waiting up to ``wait`` seconds for one."""
        message = await _signed(request, exchange, MAILBOX_FETCH)
        limits["mailbox"].take(message.sender)
        after = _after(message)
        found = await anyio.to_thread.run_sync(
            lambda: exchange.market.mailbox(message.sender, after=after)
        )
        if not found and wait:
            await exchange.arrivals.wait(message.sender, wait)
            found = await anyio.to_thread.run_sync(
                lambda: exchange.market.mailbox(message.sender, after=after)
            )
        return {"messages": found, "next": found[-1]["id"] if found else after}

    @app.post("/intents/fetch", tags=["intents"])
    async def fetch_intents(request: Request) -> dict[str, Any]:
        """The live intents matched to the signing vendor after its cursor."""
        message = await _signed(request, exchange, INTENTS_FETCH)
        limits["vendor"].take(message.sender)
        after = _after(message)
        found, cursor = await anyio.to_thread.run_sync(
            lambda: exchange.market.for_vendor(message.sender, after=after)
        )
        return {
            "intents": found,
            "next": cursor,
            "mailbox": exchange.pusher.mailbox_url,
        }

    @app.get("/pools/{name}", tags=["intents"])
    async def show_pool(name: str) -> dict[str, Any]:
        """A group of pooled intents: how many buyers and items, until when it takes more."""
        number = name.removeprefix("pool-")
        if not number.isdigit():
            raise ProtocolError(RefusalCode.MALFORMED, "a pool is named pool-N")
        try:
            found = await anyio.to_thread.run_sync(exchange.market.pool, int(number))
        except LookupError as exc:
            raise HTTPException(404, f"no pool {name}") from exc
        return {
            "pool_id": found.name,
            "category": found.category,
            "buyers": found.size,
            "quantity": found.quantity,
            "closes_at": found.closes_at,
        }

    @app.exception_handler(SignalsRefused)
    async def _refused(request: Request, exc: SignalsRefused) -> JSONResponse:
        return problem_response(exc.code, exc.detail, instance=request.url.path, status=exc.status)

    @app.get("/signals", tags=["signals"])
    async def signals_of(
        request: Request,
        category: Annotated[str | None, Query(max_length=200)] = None,
        period: Annotated[str | None, Query(max_length=10)] = None,
    ) -> dict[str, Any]:
        """Demand of one closed UTC day under a category prefix, differentially private."""
        limits["signals"].take(request.client.host if request.client else "")
        return await anyio.to_thread.run_sync(
            lambda: demand.release(category=category, period=period)
        )

    @app.get("/health", tags=["service"])
    async def health() -> dict[str, str]:
        """Whether the exchange is up."""
        return {"status": "ok"}

    return app


async def _body(request: Request, media_type: str, limit: int) -> str:
    """The request body as text, if it has the media type and fits."""
    given = request.headers.get("content-type", "").split(";")[0].strip()
    if given != media_type:
        raise ProtocolError(RefusalCode.MALFORMED, f"send {media_type}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ProtocolError(RefusalCode.OVERSIZE, f"request body is larger than {limit} bytes")
    try:
        return body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(RefusalCode.MALFORMED, "a compact JOSE object is ASCII") from exc


async def _signed(request: Request, exchange: Exchange, kind: str) -> Message:
    """The signed request in the body, verified; it must be of type ``kind``."""
    token = await _body(request, JWS_MEDIA_TYPE, MAX_FETCH_BYTES)
    message = await anyio.to_thread.run_sync(exchange.verifier.verify, token)
    if message.type != kind:
        raise ProtocolError(RefusalCode.UNKNOWN_TYPE, f"this route takes {kind}")
    return message


def _after(message: Message) -> int:
    body = message.body
    assert isinstance(body, Fetch)  # noqa: S101 - the type was checked
    return body.after


async def _expire(exchange: Exchange) -> None:
    while True:
        if await anyio.to_thread.run_sync(exchange.market.expire):
            exchange.bus.queued()  # vendors the expired intents were pushed to are told
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
