"""The exchange's market: vendors' subscriptions, people's intents, and offers in transit.

Each function is one transaction. Publishing an intent stores it, marked when it
matched vendors with an inbox; :meth:`Market.fan_out` then writes one delivery per
such vendor, pushed by the :class:`vrm.exchange.worker.MatchWorker` (or by the
pushers of several processes). Vendors that fetch select what covers them then. An
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
from vrm.exchange.schema import (
    deliveries,
    intents,
    mailbox,
    subscription_version,
    subscriptions,
    vendors,
)
from vrm.protocol import Message, ProtocolError, RefusalCode, recipient_of
from vrm.protocol.v1.intents import ExchangeSubscribe, Intent, IntentWithdraw

LIVE, WITHDRAWN, EXPIRED = "live", "withdrawn", "expired"
PENDING, DELIVERED, FAILED, PULL = "pending", "delivered", "failed", "pull"
MATCH = "match"
"""A delivery of an intent matched to the vendor (the other kind: WITHDRAWN)."""
MAX_INTENT_LIFETIME = 90 * 24 * 3600
"""The furthest ahead an intent may expire."""
_ONE_INTENT_EACH = "this pseudonym already published an intent: use a new one per intent"
MAX_PUSH_AGE = 24 * 3600.0
"""How long a push to a vendor is retried."""
MAX_MAILBOX = 200
"""Offers kept per pseudonym at most (the oldest go first)."""


# The statements every intent runs, built once (building them cost more than running them).
_EXISTING_OF = select(intents.c.id, intents.c.pseudonym, intents.c.message_id).where(
    intents.c.pseudonym.in_(bindparam("pseudonyms", expanding=True))
)
_ADD_INTENTS = insert(intents).returning(intents.c.pseudonym, intents.c.id)
"""Many rows in few statements: the ids come back by pseudonym (unique), in any order."""
_ADD_DELIVERY = insert(deliveries)
_LIVE_UNTIL = select(intents.c.expires_at).where(
    intents.c.pseudonym == bindparam("recipient"), intents.c.state == LIVE
)
_BEYOND_MAILBOX = delete(mailbox).where(
    mailbox.c.id.in_(
        select(mailbox.c.id)
        .where(mailbox.c.recipient == bindparam("recipient"))
        .order_by(mailbox.c.id.desc())
        .offset(MAX_MAILBOX - 1)
        .scalar_subquery()
    )
)
"""The oldest offers of a full mailbox, making room for one more."""
_KEEP_OFFER = insert(mailbox).returning(mailbox.c.id)
_VERSION = select(subscription_version.c.version).where(subscription_version.c.id == 1)
_NEXT_VERSION = (
    update(subscription_version)
    .where(subscription_version.c.id == 1)
    .values(version=subscription_version.c.version + 1)
)
_WANTED_COLUMNS = (
    intents.c.id,
    intents.c.category,
    intents.c.country,
    intents.c.region,
    intents.c.min_price,
    intents.c.max_price,
    intents.c.currency,
)


@dataclass(frozen=True, slots=True)
class Published:
    """An intent taken: its number and the vendors it was matched to."""

    intent: int
    vendors: list[str]
    new: bool
    pushed: bool = False
    """Some of the vendors have an inbox: there are pushes to make."""


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
        max_age: float = MAX_PUSH_AGE,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.max_age = max_age
        self.index = SubscriptionIndex()
        self.pushed_to: set[str] = set()
        """Vendors with an inbox: the intents matched to them are pushed."""
        self.subscribed_at: dict[str, float] = {}
        self.version = -1
        """The subscriptions' version the index holds."""
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
            connection.execute(_NEXT_VERSION)
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
            self._load(connection)

    def _current(self, connection: Connection) -> None:
        """Reload the index if another process changed the subscriptions since."""
        if connection.execute(_VERSION).scalar_one() != self.version:
            self._load(connection)

    def _load(self, connection: Connection) -> None:
        version = connection.execute(_VERSION).scalar_one()
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
        self.version = version

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

        An intent refused (see :meth:`publish`) gets its error; the others are taken. The
        batch costs three statements whatever its size: a look-up of its pseudonyms, one
        insert of the intents and one of their deliveries (pooled intents add their pool's).
        """
        now = self.clock()
        outcomes: list[Published | ProtocolError | None] = [None] * len(messages)
        with self.engine.begin() as connection:
            self._current(connection)
            known = {
                row.pseudonym: (row.id, row.message_id)
                for row in connection.execute(
                    _EXISTING_OF, {"pseudonyms": list({m.sender for m in messages})}
                )
            }
            taken: dict[str, tuple[int, str]] = {}  # pseudonym → (position in batch, message id)
            fresh: list[tuple[int, list[str], dict[str, Any]]] = []
            for position, message in enumerate(messages):
                earlier = known.get(message.sender) or taken.get(message.sender)
                try:
                    if earlier is not None:
                        if earlier[1] != message.id:
                            raise ProtocolError(RefusalCode.INVALID_BODY, _ONE_INTENT_EACH)
                        if message.sender in known:
                            outcomes[position] = Published(earlier[0], [], new=False)
                        continue  # a repeat of one earlier in this batch: settled below
                    matched, row = self._row(connection, message, now)
                except ProtocolError as exc:
                    outcomes[position] = exc
                    continue
                taken[message.sender] = (position, message.id)
                fresh.append((position, matched, row))
            if fresh:
                added = connection.execute(_ADD_INTENTS, [row for *_, row in fresh])
                ids: dict[str, int] = {pseudonym: number for pseudonym, number in added}
                for position, matched, row in fresh:
                    outcomes[position] = Published(
                        ids[row["pseudonym"]], matched, new=True, pushed=row["push_pending"]
                    )
        # A repeat of an intent taken earlier in this same batch.
        for position, outcome in enumerate(outcomes):
            if outcome is None:
                first = outcomes[taken[messages[position].sender][0]]
                assert isinstance(first, Published)  # noqa: S101 - set above
                outcomes[position] = Published(first.intent, [], new=False)
        return [outcome for outcome in outcomes if outcome is not None]

    def _row(
        self, connection: Connection, message: Message, now: float
    ) -> tuple[list[str], dict[str, Any]]:
        """The vendors an intent matches, and its row; its pool joined if it asks.

        Raises:
            ProtocolError: ``invalid_body`` when it has expired or expires too far ahead.
        """
        body = message.body
        assert isinstance(body, Intent)  # noqa: S101 - the caller dispatches
        demand = body.demand
        if demand.validThrough <= now:
            raise ProtocolError(RefusalCode.INVALID_BODY, "the intent has already expired")
        if demand.validThrough > now + MAX_INTENT_LIFETIME:
            raise ProtocolError(RefusalCode.INVALID_BODY, "an intent lives 90 days at most")
        price, place = demand.priceSpecification, demand.areaServed
        wanted = WantedSummary(
            category=demand.category,
            country=place.country,
            region=place.addressRegion,
            min_price=price.minPrice,
            max_price=price.maxPrice,
            currency=price.priceCurrency,
        )
        pooled = join_pool(connection, demand, now=now) if body.pool else None
        matched = self.index.match(wanted)
        return matched, {
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
            "push_pending": not self.pushed_to.isdisjoint(matched),
        }

    def fan_out(self, connection: Connection, *, limit: int = 200) -> int:
        """Write the deliveries of intents taken since the last call; return how many intents.

        Taking an intent writes its row alone, marked when it matched a vendor with an
        inbox, whatever the number of vendors: answering the person waits for nothing
        more. Here, off that path, it is matched again (the same index, unless a vendor
        subscribed or left meanwhile: then the vendors of now) and one delivery per
        vendor is written, and the mark cleared, in one transaction; a crash in between
        leaves the intent to the next call. On PostgreSQL the marked rows are locked and
        locked rows skipped, so processes sharing the store split the work.
        """
        claim = (
            select(*_WANTED_COLUMNS)
            .where(intents.c.push_pending)
            .order_by(intents.c.id)
            .limit(limit)
        )
        if connection.dialect.name == "postgresql":
            claim = claim.with_for_update(skip_locked=True)
        rows = connection.execute(claim).all()
        if not rows:
            return 0
        self._current(connection)
        now, pushed = self.clock(), self.pushed_to
        queued = [
            {
                "intent": row.id,
                "vendor": vendor,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "give_up_at": now + self.max_age,
            }
            for row in rows
            for vendor in self.index.match(_wanted_of(row))
            if vendor in pushed
        ]
        if queued:
            connection.execute(_ADD_DELIVERY, queued)
        connection.execute(
            update(intents)
            .where(intents.c.id.in_([row.id for row in rows]))
            .values(push_pending=False)
        )
        return len(rows)

    def withdraw(self, message: Message) -> bool:
        """Withdraw an intent at its pseudonym's request; False if it was not live.

        Raises:
            ProtocolError: ``wrong_recipient`` when the sender is not the intent's pseudonym.
        """
        body = message.body
        assert isinstance(body, IntentWithdraw)  # noqa: S101 - the caller dispatches
        with self.engine.begin() as connection:
            row = connection.execute(
                select(intents.c.id, intents.c.state, intents.c.pseudonym)
                .where(intents.c.message_id == body.intent, intents.c.pseudonym == message.sender)
                .with_for_update()  # one process closes it; another then finds it closed
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
                select(intents.c.id, intents.c.pseudonym)
                .where(intents.c.state == LIVE, intents.c.expires_at <= self.clock())
                .with_for_update(skip_locked=True)  # processes expiring at once split them
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
        with self.engine.begin() as connection:
            expires = connection.execute(_LIVE_UNTIL, {"recipient": recipient}).scalar()
            if expires is None:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT, "no live intent is addressed by that key"
                )
            connection.execute(_BEYOND_MAILBOX, {"recipient": recipient})
            kept = connection.execute(
                _KEEP_OFFER,
                {
                    "recipient": recipient,
                    "message": encrypted,
                    "created_at": self.clock(),
                    "expires_at": expires,
                },
            )
            return int(kept.scalar_one())

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
            wanted = _wanted_of(row)
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


def _wanted_of(row: Any) -> WantedSummary:
    """What matching needs, from an intent's row."""
    return WantedSummary(
        row.category, row.country, row.region, row.min_price, row.max_price, row.currency
    )


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
    connection.execute(
        update(intents)
        .where(intents.c.id.in_(ids))
        .values(state=state, token="", push_pending=False)
    )
    connection.execute(delete(mailbox).where(mailbox.c.recipient.in_(pseudonyms)))
