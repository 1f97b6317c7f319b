"""The exchange's market: vendors' subscriptions, people's intents, and offers in transit.

Each function is one transaction. Publishing an intent stores it and, in the same
transaction, one delivery per matching vendor: pushed to the vendor's inbox by
the :class:`vrm.exchange.worker.MatchWorker`, or kept for the vendor to fetch. An
offer is a JWE addressed to an intent's pseudonym: the exchange keeps it in the
pseudonym's mailbox without being able to read it. Withdrawal and expiry remove
the intent, its deliveries and its mailbox.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, or_, select, update

from vrm.exchange.matching import SubscriptionIndex, SubscriptionRule, WantedSummary
from vrm.exchange.pools import Pool, join_pool, leave_pool, pool
from vrm.exchange.schema import deliveries, intents, mailbox, subscriptions, vendors
from vrm.protocol import Message, ProtocolError, RefusalCode, recipient_of
from vrm.protocol.v1.intents import ExchangeSubscribe, Intent, IntentWithdraw

LIVE, WITHDRAWN, EXPIRED = "live", "withdrawn", "expired"
PENDING, DELIVERED, FAILED, PULL = "pending", "delivered", "failed", "pull"
MATCH = "match"
"""A delivery of an intent matched to the vendor (the other kind: WITHDRAWN)."""
MAX_INTENT_LIFETIME = 90 * 24 * 3600
"""The furthest ahead an intent may expire."""
MAX_MAILBOX = 200
"""Offers kept per pseudonym at most (the oldest go first)."""


# The statements every intent runs, built once (building them cost more than running them).
_EXISTING = select(intents.c.id, intents.c.message_id).where(
    intents.c.pseudonym == bindparam("pseudonym")
)
_ADD_INTENT = insert(intents).returning(intents.c.id)
_ADD_DELIVERY = insert(deliveries)


@dataclass(frozen=True, slots=True)
class Published:
    """An intent taken: its number and the vendors it was matched to."""

    intent: int
    vendors: list[str]
    new: bool


class Market:
    """The exchange's store and its matching.

    Args:
        engine: the exchange's database.
        clock: the current epoch time (injectable for tests).
        max_age: how long a push to a vendor is retried.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], float] = time.time,
        max_age: float = 24 * 3600.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_age = max_age
        self.index = SubscriptionIndex()
        self.pushed_to: set[str] = set()
        """Vendors with an inbox: the intents matched to them are pushed."""
        self.subscribed_at: dict[str, float] = {}
        self.reload_subscriptions()

    # vendors

    def subscribe(self, message: Message) -> int:
        """Replace the sending vendor's subscriptions; return how many it now has."""
        body = message.body
        assert isinstance(body, ExchangeSubscribe)  # noqa: S101 - the caller dispatches
        vendor, now = message.sender, self.clock()
        with self.engine.begin() as connection:
            # A vendor subscribing again (as an endpoint does at each start) keeps the time
            # it first subscribed: the intents matched to it since are still its own.
            since = connection.execute(
                select(vendors.c.updated_at).where(vendors.c.did == vendor)
            ).scalar()
            connection.execute(delete(subscriptions).where(subscriptions.c.vendor == vendor))
            connection.execute(delete(vendors).where(vendors.c.did == vendor))
            if body.subscriptions:
                connection.execute(
                    insert(vendors).values(
                        did=vendor,
                        name=body.name,
                        inbox=body.inbox,
                        updated_at=now if since is None else since,
                    )
                )
                connection.execute(
                    insert(subscriptions),
                    [
                        {
                            "vendor": vendor,
                            "category": rule.categories_one,
                            "regions": json.dumps(sorted(rule.regions)),
                            "min_price": rule.minPrice,
                            "max_price": rule.maxPrice,
                            "currency": rule.priceCurrency,
                        }
                        for rule in _each_category(body)
                    ],
                )
        self.reload_subscriptions()
        return len(body.subscriptions)

    def reload_subscriptions(self) -> None:
        """Rebuild the in-memory index from the store."""
        with self.engine.begin() as connection:
            rows = connection.execute(select(subscriptions)).all()
            known = connection.execute(
                select(vendors.c.did, vendors.c.inbox, vendors.c.updated_at)
            ).all()
        self.pushed_to = {row.did for row in known if row.inbox}
        self.subscribed_at = {row.did: row.updated_at for row in known}
        self.index = SubscriptionIndex(
            SubscriptionRule(
                vendor=row.vendor,
                category=row.category,
                regions=frozenset(json.loads(row.regions)),
                min_price=row.min_price,
                max_price=row.max_price,
                currency=row.currency,
            )
            for row in rows
        )

    # people

    def publish(self, message: Message) -> Published:
        """Take an intent from its pseudonym, match it, and queue a delivery per vendor.

        Raises:
            ProtocolError: ``invalid_body`` when it has expired, expires too far
                ahead, or its pseudonym already published another intent.
        """
        [outcome] = self.publish_many([message])
        if isinstance(outcome, ProtocolError):
            raise outcome
        return outcome

    def publish_many(self, messages: list[Message]) -> list[Published | ProtocolError]:
        """Take several intents in one transaction (group commit); one outcome each, in order.

        An intent refused (see :meth:`publish`) gets its error; the others are taken.
        """
        now = self.clock()
        outcomes: list[Published | ProtocolError] = []
        with self.engine.begin() as connection:
            for message in messages:
                try:
                    outcomes.append(self._publish(connection, message, now))
                except ProtocolError as exc:
                    outcomes.append(exc)
        return outcomes

    def _publish(self, connection: Connection, message: Message, now: float) -> Published:
        body = message.body
        assert isinstance(body, Intent)  # noqa: S101 - the caller dispatches
        demand = body.demand
        if demand.validThrough <= now:
            raise ProtocolError(RefusalCode.INVALID_BODY, "the intent has already expired")
        if demand.validThrough > now + MAX_INTENT_LIFETIME:
            raise ProtocolError(RefusalCode.INVALID_BODY, "an intent lives 90 days at most")
        existing = connection.execute(_EXISTING, {"pseudonym": message.sender}).one_or_none()
        if existing is not None:
            if existing.message_id != message.id:
                raise ProtocolError(
                    RefusalCode.INVALID_BODY,
                    "this pseudonym already published an intent: use a new one per intent",
                )
            return Published(existing.id, [], new=False)
        wanted = WantedSummary(
            category=demand.category,
            country=demand.areaServed.country,
            region=demand.areaServed.addressRegion,
            min_price=demand.priceSpecification.minPrice,
            max_price=demand.priceSpecification.maxPrice,
            currency=demand.priceSpecification.priceCurrency,
        )
        pooled = join_pool(connection, demand, now=now) if body.pool else None
        intent_id = connection.execute(
            _ADD_INTENT,
            {
                "pseudonym": message.sender,
                "message_id": message.id,
                "category": wanted.category,
                "country": wanted.country,
                "region": wanted.region,
                "min_price": wanted.min_price,
                "max_price": wanted.max_price,
                "currency": wanted.currency,
                "pool": body.pool,
                "pool_id": None if pooled is None else pooled.id,
                "quantity": demand.eligibleQuantity.value,
                "token": message.compact,
                "state": LIVE,
                "created_at": now,
                "expires_at": float(demand.validThrough),
            },
        ).scalar_one()
        matched = self.index.match(wanted)
        self._queue(connection, intent_id, matched, now)
        return Published(intent_id, matched, new=True)

    def withdraw(self, message: Message) -> bool:
        """Withdraw an intent at its pseudonym's request; False if it was not live.

        Raises:
            ProtocolError: ``wrong_recipient`` when the sender is not the intent's pseudonym.
        """
        body = message.body
        assert isinstance(body, IntentWithdraw)  # noqa: S101 - the caller dispatches
        with self.engine.begin() as connection:
            row = connection.execute(
                select(intents.c.id, intents.c.state, intents.c.pseudonym).where(
                    intents.c.message_id == body.intent, intents.c.pseudonym == message.sender
                )
            ).one_or_none()
            if row is None:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT, "no intent of this pseudonym has that id"
                )
            if row.state != LIVE:
                return False
            _close(connection, [row.id], [row.pseudonym], WITHDRAWN)
        return True

    def expire(self) -> int:
        """Close every intent past its expiry; return how many."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(intents.c.id, intents.c.pseudonym).where(
                    intents.c.state == LIVE, intents.c.expires_at <= self.clock()
                )
            ).all()
            if rows:
                _close(connection, [r.id for r in rows], [r.pseudonym for r in rows], EXPIRED)
        return len(rows)

    # offers

    def post_offer(self, encrypted: str) -> int:
        """Keep an offer (a JWE) for the live intent whose pseudonym it is addressed to.

        Raises:
            ProtocolError: ``wrong_recipient`` when no live intent has that pseudonym.
        """
        recipient = recipient_of(encrypted)
        now = self.clock()
        with self.engine.begin() as connection:
            expires = connection.execute(
                select(intents.c.expires_at).where(
                    intents.c.pseudonym == recipient, intents.c.state == LIVE
                )
            ).scalar()
            if expires is None:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT, "no live intent is addressed by that key"
                )
            held = connection.execute(
                select(mailbox.c.id)
                .where(mailbox.c.recipient == recipient)
                .order_by(mailbox.c.id.desc())
                .offset(MAX_MAILBOX - 1)
            ).scalars()
            stale = list(held)
            if stale:
                connection.execute(delete(mailbox).where(mailbox.c.id.in_(stale)))
            return int(
                connection.execute(
                    insert(mailbox)
                    .values(
                        recipient=recipient, message=encrypted, created_at=now, expires_at=expires
                    )
                    .returning(mailbox.c.id)
                ).scalar_one()
            )

    def mailbox(self, pseudonym: str, *, after: int = 0) -> list[dict[str, Any]]:
        """The offers for ``pseudonym`` after the cursor ``after``, oldest first."""
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(mailbox.c.id, mailbox.c.message)
                .where(mailbox.c.recipient == pseudonym, mailbox.c.id > after)
                .order_by(mailbox.c.id)
                .limit(MAX_MAILBOX)
            ).all()
        return [{"id": row.id, "message": row.message} for row in rows]

    def for_vendor(
        self, vendor: str, *, after: int = 0, limit: int = 500
    ) -> tuple[list[dict[str, Any]], int]:
        """The live intents matched to ``vendor`` after the cursor ``after``, and the next cursor.

        An intent is matched to a vendor that fetches when its subscriptions, as they
        were when the intent was published, cover it: the intents published since it
        subscribed, selected by category here and checked rule by rule. Nothing is
        written per vendor, however many intents each one matches.
        """
        rules = self.index.rules_of(vendor)
        if not rules:
            return [], after
        categories = sorted({rule.category for rule in rules})
        covered = or_(
            *(or_(intents.c.category == c, intents.c.category.like(c + "/%")) for c in categories)
        )
        with self.engine.begin() as connection:
            rows = connection.execute(
                select(intents)
                .where(
                    intents.c.id > after,
                    intents.c.state == LIVE,
                    intents.c.created_at >= self.subscribed_at.get(vendor, 0.0),
                    covered,
                )
                .order_by(intents.c.id)
                .limit(limit)
            ).all()
        found = []
        for row in rows:
            wanted = WantedSummary(
                row.category, row.country, row.region, row.min_price, row.max_price, row.currency
            )
            if any(rule.covers(wanted) and _within(row.category, rule.category) for rule in rules):
                found.append({"id": row.id, "intent": row.token})
        return found, (rows[-1].id if rows else after)

    def pool(self, pool_id: int) -> Pool:
        """A pool: how many buyers, how many items, in what category, open until when.

        Raises:
            LookupError: there is no such pool.
        """
        with self.engine.begin() as connection:
            return pool(connection, pool_id)

    # helpers

    def _queue(
        self, connection: Connection, intent_id: int, matched: list[str], now: float
    ) -> None:
        if not matched:
            return
        pushed = [vendor for vendor in matched if vendor in self.pushed_to]
        if not pushed:
            return  # vendors that fetch select what covers them (for_vendor)
        connection.execute(
            _ADD_DELIVERY,
            [
                {
                    "intent": intent_id,
                    "vendor": vendor,
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "give_up_at": now + self.max_age,
                }
                for vendor in pushed
            ],
        )


@dataclass(frozen=True, slots=True)
class _Rule:
    categories_one: str
    regions: list[str]
    minPrice: float | None
    maxPrice: float | None
    priceCurrency: str | None


def _each_category(body: ExchangeSubscribe) -> list[_Rule]:
    """One row per (subscription, category)."""
    return [
        _Rule(category, sub.regions, sub.minPrice, sub.maxPrice, sub.priceCurrency)
        for sub in body.subscriptions
        for category in dict.fromkeys(sub.categories)
    ]


def _within(category: str, prefix: str) -> bool:
    """True when ``category`` is ``prefix`` or below it, on whole segments."""
    return category == prefix or category.startswith(prefix + "/")


def _close(connection: Connection, ids: list[int], pseudonyms: list[str], state: str) -> None:
    """Close intents everywhere.

    Their state, the deliveries not yet made (a vendor that was pushed one is told it
    is withdrawn), their mailboxes, and their place in a pool.
    """
    pooled = connection.execute(
        select(intents.c.pool_id, intents.c.quantity).where(
            intents.c.id.in_(ids), intents.c.pool_id.is_not(None)
        )
    ).all()
    for pool_id, quantity in pooled:
        leave_pool(connection, pool_id, quantity)
    # Vendors the intent was pushed to are told it is gone; pushes not made are dropped.
    told = connection.execute(
        select(deliveries.c.intent, deliveries.c.vendor).where(
            deliveries.c.intent.in_(ids),
            deliveries.c.kind == MATCH,
            deliveries.c.state == DELIVERED,
        )
    ).all()
    connection.execute(delete(deliveries).where(deliveries.c.intent.in_(ids)))
    if told:
        now = time.time()
        connection.execute(
            insert(deliveries),
            [
                {
                    "intent": intent_id,
                    "vendor": vendor,
                    "kind": WITHDRAWN,
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "give_up_at": now + 24 * 3600.0,
                }
                for intent_id, vendor in told
            ],
        )
    # The signed intent goes: only what demand signals count is left.
    connection.execute(update(intents).where(intents.c.id.in_(ids)).values(state=state, token=""))
    connection.execute(delete(mailbox).where(mailbox.c.recipient.in_(pseudonyms)))
