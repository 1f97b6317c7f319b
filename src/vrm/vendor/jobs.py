"""The endpoint's durable queue: answers to people, and changes for each CRM adapter.

A job is written in the same transaction as the change that causes it, so a
crash keeps both or neither. Jobs of one queue for one customer run in the order
they were written (a CRM sees a customer created before it is updated); jobs of
different customers and queues run concurrently. Each job is retried with backoff
until it succeeds or reaches its maximum age.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vrm.transport.backoff import Backoff
from vrm.vendor.schema import jobs

MESSAGE_QUEUE = "message"
"""Signed messages to people: the payload holds the inbox and the token (a JWE if encrypted)."""
ERASURE_QUEUE = "erasure"
"""Confirmations of erasure, sent once every adapter has deleted the customer."""
ADAPTER_PREFIX = "adapter:"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DEFAULT_MAX_AGE = 3 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Job:
    """One job due to run."""

    id: int
    queue: str
    customer: str
    event_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What one attempt came to."""

    job_id: int
    done: bool
    retryable: bool = True
    error: str | None = None
    retry_after: float | None = None
    wait: float | None = None
    """Not attempted yet: due again after this many seconds, no attempt counted."""


def adapter_queue(name: str) -> str:
    """The queue of one adapter."""
    return ADAPTER_PREFIX + name


def event_id(customer: str, message_id: str, suffix: str = "") -> str:
    """A job's event id: stable for a (customer, message) pair, unique across customers.

    Message ids are unique only per sender, and webhook ids may not contain dots, so
    the id is a digest (``evt_`` and 32 hex digits).
    """
    digest = hashlib.sha256(f"{customer}\n{message_id}\n{suffix}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def add_jobs(
    connection: Connection,
    rows: Iterable[tuple[str, str, str, dict[str, Any]]],
    *,
    now: float,
    max_age: float = DEFAULT_MAX_AGE,
) -> None:
    """Queue ``(queue, customer, event_id, payload)`` jobs; one already queued is skipped."""
    values = [
        {
            "queue": queue,
            "customer": customer,
            "event_id": event_id,
            "payload": json.dumps(payload),
            "state": PENDING,
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
            "give_up_at": now + max_age,
        }
        for queue, customer, event_id, payload in rows
    ]
    if not values:
        return
    dialect = connection.dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(jobs).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(jobs).on_conflict_do_nothing()
    else:  # pragma: no cover - the endpoint runs on SQLite or PostgreSQL
        statement = insert(jobs)
    connection.execute(statement, values)


def due_jobs(connection: Connection, *, now: float, limit: int = 1000) -> list[Job]:
    """The oldest pending job of each (queue, customer), if its time has come."""
    heads = (
        select(func.min(jobs.c.id).label("id"))
        .where(jobs.c.state == PENDING)
        .group_by(jobs.c.queue, jobs.c.customer)
        .subquery()
    )
    rows = connection.execute(
        select(
            jobs.c.id,
            jobs.c.queue,
            jobs.c.customer,
            jobs.c.event_id,
            jobs.c.payload,
            jobs.c.attempts,
        )
        .join(heads, heads.c.id == jobs.c.id)
        .where(jobs.c.next_attempt_at <= now)
        .order_by(jobs.c.id)
        .limit(limit)
    ).all()
    return [
        Job(row.id, row.queue, row.customer, row.event_id, json.loads(row.payload), row.attempts)
        for row in rows
    ]


def record_outcomes(
    connection: Connection, outcomes: Iterable[JobOutcome], *, backoff: Backoff, now: float
) -> None:
    """Write what a round of attempts came to."""
    for outcome in outcomes:
        if outcome.wait is not None:
            connection.execute(
                update(jobs)
                .where(jobs.c.id == outcome.job_id)
                .values(next_attempt_at=now + outcome.wait, last_error=outcome.error)
            )
            continue
        if outcome.done:
            connection.execute(
                update(jobs)
                .where(jobs.c.id == outcome.job_id)
                .values(
                    state=DELIVERED, delivered_at=now, attempts=jobs.c.attempts + 1, last_error=None
                )
            )
            continue
        held = connection.execute(
            select(jobs.c.attempts, jobs.c.give_up_at).where(jobs.c.id == outcome.job_id)
        ).one_or_none()
        if held is None:
            continue  # deleted meanwhile: the customer's record was erased
        attempts, give_up_at = held
        attempts += 1
        next_at = now + backoff.delay(attempts, outcome.retry_after)
        state = PENDING if outcome.retryable and next_at <= give_up_at else FAILED
        connection.execute(
            update(jobs)
            .where(jobs.c.id == outcome.job_id, jobs.c.state == PENDING)
            .values(
                state=state, attempts=attempts, next_attempt_at=next_at, last_error=outcome.error
            )
        )


def next_due_at(connection: Connection) -> float | None:
    """When the earliest pending job is next due."""
    value = connection.execute(
        select(func.min(jobs.c.next_attempt_at)).where(jobs.c.state == PENDING)
    ).scalar()
    return None if value is None else float(value)


def job_log(
    connection: Connection,
    *,
    queue_prefix: str | tuple[str, ...] = ADAPTER_PREFIX,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Jobs, newest first, of the queues starting with ``queue_prefix`` (or one of them)."""
    prefixes = (queue_prefix,) if isinstance(queue_prefix, str) else queue_prefix
    rows = connection.execute(
        select(jobs)
        .where(or_(*(jobs.c.queue.startswith(prefix) for prefix in prefixes)))
        .order_by(jobs.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "queue": row.queue,
            "customer": row.customer,
            "event_id": row.event_id,
            "kind": json.loads(row.payload).get("kind"),
            "state": row.state,
            "attempts": row.attempts,
            "created_at": row.created_at,
            "delivered_at": row.delivered_at,
            "next_attempt_at": row.next_attempt_at if row.state == PENDING else None,
            "error": row.last_error,
        }
        for row in rows
    ]


def retry_job(connection: Connection, job_id: int, *, now: float, max_age: float) -> bool:
    """Queue a failed job again, due now; False when there is no failed job ``job_id``."""
    result = connection.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == FAILED)
        .values(state=PENDING, attempts=0, next_attempt_at=now, give_up_at=now + max_age)
    )
    return bool(result.rowcount)
