"""Group intents: compatible intents pooled, so that many buyers bargain as one.

An intent published with ``pool`` joins the open pool of its kind — same
category, same place (country, or region), same currency — whose price range
overlaps its own and whose item properties do not contradict it; a pool is open
for :data:`POOL_WINDOW` after its first member. Otherwise it opens a new pool.
Vendors see each member's intent as usual, with the pool's id and size, and can
offer every member the same price tiers; each member still answers alone, under
its own pseudonym: the pool holds no link between them but the pool id.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from vrm.exchange.schema import pools
from vrm.protocol.v1.intents import Demand

POOL_WINDOW = 48 * 3600.0
"""How long after its first member a pool takes new ones."""


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool as vendors see it."""

    id: int
    size: int
    quantity: int
    category: str
    closes_at: float

    @property
    def name(self) -> str:
        """``pool-7``: the id vendors see."""
        return f"pool-{self.id}"


def pool_key(demand: Demand) -> str:
    """What every member of a pool shares: category, place and currency."""
    place = demand.areaServed.addressRegion or demand.areaServed.country
    return f"{demand.category}|{place}|{demand.priceSpecification.priceCurrency}"


def join_pool(connection: Connection, demand: Demand, *, now: float) -> Pool:
    """Put an intent with ``demand`` in a compatible open pool, or open a new one."""
    wanted = {p.name: p.value for p in demand.itemOffered.additionalProperty}
    low, high = demand.priceSpecification.minPrice, demand.priceSpecification.maxPrice
    candidates = connection.execute(
        select(pools)
        .where(
            pools.c.key == pool_key(demand),
            pools.c.closes_at > now,
            pools.c.min_price <= high,
            pools.c.max_price >= low,
        )
        .order_by(pools.c.id)
        .with_for_update()  # processes joining at once take turns (PostgreSQL)
    ).all()
    for row in candidates:
        held = json.loads(row.properties)
        if all(held.get(name, value) == value for name, value in wanted.items()):
            connection.execute(
                update(pools)
                .where(pools.c.id == row.id)
                .values(
                    size=row.size + 1,
                    quantity=row.quantity + demand.eligibleQuantity.value,
                    min_price=max(row.min_price, low),
                    max_price=min(row.max_price, high),
                    properties=json.dumps({**held, **wanted}, sort_keys=True),
                )
            )
            return pool(connection, row.id)
    pool_id = connection.execute(
        insert(pools)
        .values(
            key=pool_key(demand),
            category=demand.category,
            min_price=low,
            max_price=high,
            properties=json.dumps(wanted, sort_keys=True),
            size=1,
            quantity=demand.eligibleQuantity.value,
            created_at=now,
            closes_at=now + POOL_WINDOW,
        )
        .returning(pools.c.id)
    ).scalar_one()
    return pool(connection, pool_id)


def leave_pool(connection: Connection, pool_id: int, quantity: int) -> None:
    """A member withdrew or expired: the pool counts one buyer fewer."""
    connection.execute(
        update(pools)
        .where(pools.c.id == pool_id)
        .values(size=pools.c.size - 1, quantity=pools.c.quantity - quantity)
    )


def pool(connection: Connection, pool_id: int) -> Pool:
    """The pool with this number.

    Raises:
        LookupError: there is none.
    """
    row = connection.execute(select(pools).where(pools.c.id == pool_id)).one_or_none()
    if row is None:
        raise LookupError(f"no pool {pool_id}")
    return Pool(row.id, row.size, row.quantity, row.category, row.closes_at)
