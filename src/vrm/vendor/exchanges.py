"""The vendor's side of intent exchanges: subscribing, fetching matches, posting offers.

When the endpoint starts it subscribes at each exchange of its settings: a signed
``exchange.subscribe`` posted to the inbox the exchange's discovery document
names, retried with backoff while the exchange cannot be reached — starting never
waits for it. An exchange told to push sends ``intent.match`` to the endpoint's
inbox (:mod:`vrm.vendor.intents` keeps them); from the others the endpoint fetches
its matches every ``pull_interval`` seconds with a signed ``intents.fetch``,
keeping the exchange's cursor in the database. An offer is posted to the intent's
mailbox at once, so the vendor learns straight away whether the exchange took it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine, delete, insert, select, update

from vrm.protocol import Identity, ProtocolError, RefusalCode, compose
from vrm.protocol.v1.intents import EXCHANGE_SUBSCRIBE, INTENTS_FETCH, ExchangeSubscribe, Fetch
from vrm.transport.backoff import Backoff
from vrm.transport.client import HttpReply, TransportError
from vrm.transport.delivery import DeliveryError, Sender, fetch_discovery
from vrm.transport.inbox import JWS_MEDIA_TYPE
from vrm.vendor.config import ExchangeSettings
from vrm.vendor.errors import ExchangeRefused, IntentClosed
from vrm.vendor.intents import Intents, keep_intent
from vrm.vendor.offers import OfferRequest
from vrm.vendor.schema import exchanges

log = logging.getLogger(__name__)

FETCH_PATH = "/intents/fetch"
MAILBOX_PATH = "/mailbox"
MAX_PAGES = 100
"""Pages fetched in one round at most; the rest wait for the next round."""


class _Item(BaseModel):
    id: int
    intent: str
    pool: int = 1
    pool_id: str | None = None


class _Fetched(BaseModel):
    """An exchange's answer to ``intents.fetch``."""

    intents: list[_Item]
    next: int
    mailbox: str | None = None
    """Where offers go; an exchange that does not say is taken to keep it at ``/mailbox``."""


class Exchanges:
    """Subscribes at the exchanges of the settings, fetches from them, posts offers.

    Args:
        engine: the endpoint's database.
        identity: the vendor's identity (it signs subscriptions and fetches).
        intents: where matched intents are kept and offers prepared.
        sender: the endpoint's outgoing HTTP, under its address policy.
        settings: the ``[[exchanges]]`` of the settings.
        name: the vendor's name, as its subscriptions give it.
        inbox_url: where exchanges push (``<public_url>/inbox``).
        backoff: waits between attempts to subscribe.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        identity: Identity,
        intents: Intents,
        sender: Sender,
        settings: list[ExchangeSettings],
        name: str,
        inbox_url: str | None,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.identity = identity
        self.intents = intents
        self.sender = sender
        self.settings = settings
        self.name = name
        self.inbox_url = inbox_url
        self.backoff = backoff or Backoff(cap=600.0)
        self.clock = clock

    async def run(self) -> None:
        """Subscribe at every exchange, then fetch from those that do not push; until cancelled."""
        await anyio.to_thread.run_sync(self._forget_others)
        async with anyio.create_task_group() as group:
            for exchange in self.settings:
                group.start_soon(self._follow, exchange)

    async def subscribe(self, exchange: ExchangeSettings) -> None:
        """Discover the exchange and send it this endpoint's subscription (one attempt).

        Raises:
            DeliveryError: it could not be reached, or refused the subscription.
        """
        document = await fetch_discovery(self.sender.transport, exchange.url)
        await anyio.to_thread.run_sync(self._reached, exchange, document.did, document.inbox)
        body = ExchangeSubscribe(
            name=self.name,
            inbox=self.inbox_url if exchange.push else None,
            subscriptions=[exchange.subscription()],
        )
        _, token = compose(self.identity, type=EXCHANGE_SUBSCRIBE, to=document.did, body=body)
        await self.sender.deliver(document.inbox, token)
        await anyio.to_thread.run_sync(self._subscribed, exchange.url)
        log.info("subscribed at %s", exchange.url)

    async def pull(self, exchange: ExchangeSettings) -> int:
        """Fetch the intents matched since the cursor and keep them; return how many are new.

        Raises:
            DeliveryError: the exchange could not be reached or refused the fetch.
        """
        did, cursor = await anyio.to_thread.run_sync(self._cursor, exchange.url)
        if did is None:
            raise DeliveryError(f"not subscribed at {exchange.url} yet", retryable=True)
        new = 0
        for _ in range(MAX_PAGES):
            _, token = compose(self.identity, type=INTENTS_FETCH, to=did, body=Fetch(after=cursor))
            page = await self._fetch(exchange.url + FETCH_PATH, token)
            new += await anyio.to_thread.run_sync(self._keep_page, exchange.url, did, page)
            if not page.intents or page.next <= cursor:
                break
            cursor = page.next
        return new

    async def offer(self, intent_id: int, request: OfferRequest) -> dict[str, Any]:
        """Sign the offer, encrypt it to the intent's pseudonym, post it to the intent's mailbox.

        Raises:
            UnknownIntent, InvalidRequest: as :meth:`Intents.prepare_offer`.
            IntentClosed: the intent was withdrawn or expired (here, or at the exchange).
            ExchangeRefused: the exchange could not be reached or did not take the offer.
        """
        prepared = await anyio.to_thread.run_sync(self.intents.prepare_offer, intent_id, request)
        try:
            await self.sender.deliver(prepared.mailbox, prepared.encrypted, encrypted=True)
        except DeliveryError as exc:
            if exc.code == RefusalCode.WRONG_RECIPIENT:  # the exchange has no live intent for it
                state = await anyio.to_thread.run_sync(self.intents.closed_at_exchange, intent_id)
                raise IntentClosed(f"intent {intent_id} is {state} at the exchange: {exc}") from exc
            raise ExchangeRefused(f"the exchange did not take the offer: {exc}") from exc
        return await anyio.to_thread.run_sync(self.intents.record_offer, prepared)

    def status(self) -> list[dict[str, Any]]:
        """Each exchange of the settings: whether it is subscribed, its cursor, its last error."""
        with self.engine.begin() as connection:
            rows = {row.url: row for row in connection.execute(select(exchanges))}
        shown = []
        for exchange in self.settings:
            row = rows.get(exchange.url)
            shown.append(
                {
                    "url": exchange.url,
                    "did": row.did if row else None,
                    "push": exchange.push,
                    "categories": exchange.categories,
                    "regions": exchange.regions,
                    "subscribed_at": row.subscribed_at if row else None,
                    "cursor": row.cursor if row and not exchange.push else None,
                    "last_error": row.last_error if row else None,
                }
            )
        return shown

    # the loop of one exchange

    async def _follow(self, exchange: ExchangeSettings) -> None:
        attempts = 0
        while True:
            try:
                await self.subscribe(exchange)
                break
            except Exception as exc:  # any failure is retried, never fatal
                attempts += 1
                await self._failed(exchange, "subscribe", exc)
                retry_after = exc.retry_after if isinstance(exc, DeliveryError) else None
                await anyio.sleep(self.backoff.delay(attempts, retry_after))
        while not exchange.push:
            wait = exchange.pull_interval
            try:
                await self.pull(exchange)
            except Exception as exc:  # likewise
                await self._failed(exchange, "fetch", exc)
                if isinstance(exc, DeliveryError) and exc.retry_after:
                    wait = max(wait, exc.retry_after)
            await anyio.sleep(wait)

    async def _failed(self, exchange: ExchangeSettings, what: str, exc: Exception) -> None:
        if isinstance(exc, DeliveryError | ProtocolError):
            log.warning("cannot %s at %s: %s", what, exchange.url, exc)
        else:
            log.exception("cannot %s at %s", what, exchange.url)
        error = f"{what}: {exc.__class__.__name__}: {exc}"
        await anyio.to_thread.run_sync(self._record_error, exchange, error)

    async def _fetch(self, url: str, token: str) -> _Fetched:
        try:
            reply = await self.sender.transport.request(
                "POST", url, content=token.encode("ascii"), content_type=JWS_MEDIA_TYPE
            )
        except TransportError as exc:
            raise DeliveryError(str(exc), retryable=exc.retryable) from exc
        if reply.status != 200:
            raise DeliveryError(
                f"{url} answered {reply.status}: {_detail(reply)}",
                retryable=reply.status >= 500 or reply.status in (408, 429),
                code=_code(reply),
                status=reply.status,
                retry_after=reply.retry_after,
            )
        try:
            return _Fetched.model_validate_json(reply.body)
        except ValidationError as exc:
            raise DeliveryError(f"{url} did not answer with intents", retryable=True) from exc

    # the exchanges table

    def _forget_others(self) -> None:
        """Forget exchanges no longer in the settings: their pushes are refused from now on."""
        with self.engine.begin() as connection:
            connection.execute(
                delete(exchanges).where(exchanges.c.url.not_in([e.url for e in self.settings]))
            )

    def _reached(self, exchange: ExchangeSettings, did: str, inbox: str) -> None:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(exchanges.c.did).where(exchanges.c.url == exchange.url)
            ).one_or_none()
            values: dict[str, Any] = {"did": did, "inbox": inbox, "push": exchange.push}
            if row is None:
                connection.execute(
                    insert(exchanges).values(
                        url=exchange.url, cursor=0, updated_at=self.clock(), **values
                    )
                )
                return
            if row.did != did:  # another key: another exchange, whose cursor starts afresh
                values["cursor"] = 0
            connection.execute(
                update(exchanges)
                .where(exchanges.c.url == exchange.url)
                .values(updated_at=self.clock(), **values)
            )

    def _subscribed(self, url: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(exchanges)
                .where(exchanges.c.url == url)
                .values(subscribed_at=self.clock(), last_error=None, updated_at=self.clock())
            )

    def _record_error(self, exchange: ExchangeSettings, error: str) -> None:
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(exchanges)
                .where(exchanges.c.url == exchange.url)
                .values(last_error=error[:2000], updated_at=self.clock())
            ).rowcount
            if not changed:
                connection.execute(
                    insert(exchanges).values(
                        url=exchange.url,
                        push=exchange.push,
                        cursor=0,
                        last_error=error[:2000],
                        updated_at=self.clock(),
                    )
                )

    def _cursor(self, url: str) -> tuple[str | None, int]:
        with self.engine.begin() as connection:
            row = connection.execute(
                select(exchanges.c.did, exchanges.c.cursor, exchanges.c.subscribed_at).where(
                    exchanges.c.url == url
                )
            ).one_or_none()
        if row is None or row.subscribed_at is None:
            return None, 0
        return row.did, row.cursor

    def _keep_page(self, url: str, did: str, page: _Fetched) -> int:
        """Keep a page of fetched intents and move the cursor past it, in one transaction."""
        new, now = 0, self.clock()
        with self.engine.begin() as connection:
            for item in page.intents:
                try:
                    new += keep_intent(
                        connection,
                        exchange=did,
                        mailbox=page.mailbox or url + MAILBOX_PATH,
                        token=item.intent,
                        pool=item.pool,
                        pool_id=item.pool_id,
                        now=now,
                    )
                except ProtocolError as exc:  # one bad intent does not hold up the rest
                    log.warning("skipped intent %s from %s: %s", item.id, url, exc.detail)
            connection.execute(
                update(exchanges)
                .where(exchanges.c.url == url)
                .values(cursor=page.next, last_error=None, updated_at=now)
            )
        return new


def _problem(reply: HttpReply) -> dict[str, Any]:
    if not reply.content_type.endswith("json"):
        return {}
    try:
        document = reply.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _detail(reply: HttpReply) -> str:
    detail = _problem(reply).get("detail")
    return str(detail) if detail else reply.body[:200].decode("utf-8", "replace")


def _code(reply: HttpReply) -> str | None:
    code = _problem(reply).get("code")
    return code if isinstance(code, str) else None
