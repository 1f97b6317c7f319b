"""Health records people present to this endpoint as their doctor, kept until the grant ends.

A customer whose relationship the vendor accepted, under an agreement in force,
presents chosen records (``health.presentation``, docs/protocol.md 7.10): a FHIR
Bundle, validated here in the FHIR version it names, kept with its purpose until
``valid_until``. It is deleted

- when the person withdraws it (``health.withdraw``);
- when its grant ends, by the endpoint itself: its :class:`HealthSweeper` wakes at the
  next end and deletes what ended, and a presentation past its end is never read
  back even before that;
- when the relationship ends (either side) or the customer's record is erased
  (:func:`delete_all` and :func:`erase`, called in the transaction that ends or erases).

After each deletion a signed ``health.deleted`` goes back to the person, encrypted
to them, through the outgoing queue. Only a tombstone stays — when, why, how many
resources; erasure deletes that too — so a presentation withdrawn before it arrived
is never kept. Each message is one transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from vrm.health.fhir import InvalidBundle, validate_in
from vrm.protocol import (
    HEALTH_DELETED,
    HealthDeleted,
    HealthPresentation,
    HealthWithdraw,
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
)
from vrm.protocol.v1.health import DeletionReason, check_grant, rfc3339
from vrm.vendor import agreements
from vrm.vendor.errors import UnknownCustomer
from vrm.vendor.health_sweeper import HealthSweeper
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.schema import customers, health_presentations

log = logging.getLogger(__name__)

_ERASED = "erased"  # a customer's state: vrm.vendor.data_rights.ERASED (which calls erase)
SWEEP_POLL_SECONDS = 300.0
"""The longest the sweeper sleeps; it wakes sooner for a grant ending sooner."""

_CUSTOMER = (
    select(customers, agreements.in_force(customers.c.did).label("agreed"))
    .where(customers.c.did == bindparam("did"))
    .with_for_update(of=customers)
)
_HELD = health_presentations.c.deleted_at.is_(None)


@dataclass(frozen=True)
class Presentation:
    """Records a customer presents, held until ``valid_until``."""

    id: int
    customer: str
    presentation: str
    """The person's id of it."""
    message_id: str
    purpose: str
    fhir_version: str
    bundle: dict[str, Any]
    """The FHIR Bundle (type ``collection``) as presented."""
    valid_until: float
    received_at: float

    @property
    def resources(self) -> list[dict[str, Any]]:
        """The FHIR resources presented, in the Bundle's order."""
        return [entry["resource"] for entry in self.bundle["entry"]]

    def seconds_left(self, now: float) -> float:
        """How long the grant still runs."""
        return max(0.0, self.valid_until - now)

    def as_json(self, now: float) -> dict[str, Any]:
        """A JSON-ready dict: the Bundle, the purpose, until when and the seconds left."""
        return {
            "presentation": self.presentation,
            "message_id": self.message_id,
            "purpose": self.purpose,
            "fhir_version": self.fhir_version,
            "valid_until": rfc3339(self.valid_until),
            "seconds_left": int(self.seconds_left(now)),
            "received_at": self.received_at,
            "bundle": self.bundle,
        }


class HealthPresentations:
    """The presentations of every customer: taken, read while their grant runs, deleted.

    Args:
        engine: the endpoint's database.
        outgoing: signs and queues the ``health.deleted`` confirmations; its clock is
            the time grants are judged by.
        on_queued: called (on the event loop) when a sweep queued confirmations — the
            job worker's ``wake``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        outgoing: Outgoing,
        on_queued: Callable[[], None] | None = None,
        poll_interval: float = SWEEP_POLL_SECONDS,
    ) -> None:
        self.engine = engine
        self.outgoing = outgoing
        self.sweeper = HealthSweeper(self, on_queued=on_queued, poll_interval=poll_interval)

    @property
    def clock(self) -> Callable[[], float]:
        """The time now, in Unix seconds."""
        return self.outgoing.clock

    async def handle(self, message: Message) -> bool:
        """:meth:`receive` off the event loop, then the sweeper told of a new grant's end."""
        queued = await anyio.to_thread.run_sync(self.receive, message)
        self.sweeper.wake()
        return queued

    def receive(self, message: Message) -> bool:
        """Take a presentation or a withdrawal; True when a confirmation was queued.

        Raises:
            ProtocolError: ``wrong_recipient`` when the sender has no accepted relationship
                it has not ended (a withdrawal needs only to come from a customer);
                ``no_agreement`` without an agreement in force; ``invalid_body`` when
                the grant's end does not fit or the Bundle is not valid FHIR.
        """
        body = message.body
        with self.engine.begin() as connection:
            customer = connection.execute(_CUSTOMER, {"did": message.sender}).one_or_none()
            if isinstance(body, HealthPresentation):
                _check_open(customer)
                agreements.require_agreement(customer)
                self._present(connection, message, body)
                return False
            if isinstance(body, HealthWithdraw):
                if customer is None:
                    raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "the sender is no customer")
                return _withdraw(connection, customer, message, body, outgoing=self.outgoing)
        return False  # not a type of this module

    def held(self, did: str) -> list[Presentation]:
        """The presentations of a customer whose grant still runs, oldest first.

        Raises:
            UnknownCustomer: no customer has this DID.
        """
        with self.engine.begin() as connection:
            known = connection.execute(select(customers.c.did).where(customers.c.did == did))
            if known.first() is None:
                raise UnknownCustomer(f"no customer {did}")
            rows = connection.execute(
                select(health_presentations)
                .where(
                    health_presentations.c.customer == did,
                    _HELD,
                    health_presentations.c.valid_until > self.clock(),
                )
                .order_by(health_presentations.c.id)
            ).all()
        return [_presentation(row) for row in rows]

    def sweep(self) -> int:
        """Delete every presentation whose grant has ended; confirm each; how many there were."""
        with self.engine.begin() as connection:
            ended = connection.execute(
                select(health_presentations, customers.c.reply_to)
                .join(customers, customers.c.did == health_presentations.c.customer)
                .where(_HELD, health_presentations.c.valid_until <= self.clock())
                .order_by(health_presentations.c.id)
                .with_for_update(of=health_presentations)
            ).all()
            for row in ended:
                _delete(connection, row, row.reply_to, reason="expired", outgoing=self.outgoing)
        if ended:
            log.info("deleted %d health presentations whose grant ended", len(ended))
        return len(ended)

    def next_end(self) -> float | None:
        """When the next held grant ends, or None when none is held."""
        with self.engine.begin() as connection:
            value = connection.execute(
                select(func.min(health_presentations.c.valid_until)).where(_HELD)
            ).scalar()
        return None if value is None else float(value)

    def _present(self, connection: Connection, message: Message, body: HealthPresentation) -> None:
        ends = body.ends_at()
        try:
            check_grant(ends, created=message.envelope.created_time)
            bundle = body.bundle.model_dump(mode="json", exclude_none=True)
            validate_in(bundle, body.fhir_version)
        except (ValueError, InvalidBundle) as exc:
            raise ProtocolError(RefusalCode.INVALID_BODY, str(exc)) from exc
        # The same id again (or one withdrawn before it came) keeps what is there.
        connection.execute(
            _insert_once(connection),
            {
                "customer": message.sender,
                "presentation": body.presentation,
                "message_id": message.id,
                "fhir_version": body.fhir_version,
                "resources": len(body.bundle.entry),
                "purpose": body.purpose,
                "bundle": json.dumps(bundle, ensure_ascii=False),
                "valid_until": ends,
                "received_at": self.clock(),
            },
        )


def delete_all(
    connection: Connection, customer: Any, *, reason: DeletionReason, outgoing: Outgoing
) -> bool:
    """Delete every presentation a customer holds, confirming each; True if any was.

    In the caller's transaction: the one that ends the relationship (``ended``) or
    erases the record (``erased``).
    """
    rows = connection.execute(
        select(health_presentations)
        .where(health_presentations.c.customer == customer.did, _HELD)
        .order_by(health_presentations.c.id)
    ).all()
    for row in rows:
        _delete(connection, row, customer.reply_to, reason=reason, outgoing=outgoing)
    return bool(rows)


def erase(connection: Connection, customer: Any, *, outgoing: Outgoing) -> None:
    """Erasure: every presentation deleted and confirmed (``erased``), the tombstones too.

    In the caller's transaction, the one that erases the customer's record.
    """
    delete_all(connection, customer, reason="erased", outgoing=outgoing)
    connection.execute(
        delete(health_presentations).where(health_presentations.c.customer == customer.did)
    )


# helpers


def _withdraw(
    connection: Connection,
    customer: Any,
    message: Message,
    body: HealthWithdraw,
    *,
    outgoing: Outgoing,
) -> bool:
    """Delete the presentation now; one not come yet is recorded as deleted, never kept."""
    row = connection.execute(
        select(health_presentations)
        .where(
            health_presentations.c.customer == customer.did,
            health_presentations.c.presentation == body.presentation,
        )
        .with_for_update()
    ).one_or_none()
    if customer.state == _ERASED or (row is not None and row.deleted_at is not None):
        return False  # deleted already, and confirmed then
    if row is None:
        now = outgoing.clock()
        row = connection.execute(
            insert(health_presentations)
            .values(
                customer=customer.did,
                presentation=body.presentation,
                message_id=message.id,
                fhir_version="",
                resources=0,
                valid_until=now,
                received_at=now,
            )
            .returning(*health_presentations.c)
        ).one()
    _delete(connection, row, customer.reply_to, reason=body.reason, outgoing=outgoing)
    return True


def _delete(
    connection: Connection,
    row: Any,
    reply_to: str,
    *,
    reason: DeletionReason,
    outgoing: Outgoing,
) -> None:
    """Forget what was presented, keep the tombstone, and queue the person's confirmation."""
    now = outgoing.clock()
    connection.execute(
        update(health_presentations)
        .where(health_presentations.c.id == row.id)
        .values(purpose=None, bundle=None, deleted_at=now, deleted_because=reason)
    )
    outgoing.queue(
        connection,
        to=row.customer,
        inbox=reply_to,
        type=HEALTH_DELETED,
        body=HealthDeleted(presentation=row.presentation, deleted_time=int(now), reason=reason),
        thid=row.message_id,
        encrypted=True,
    )


def _insert_once(connection: Connection) -> Any:
    """An insert that keeps the row a presentation's id already has (held or deleted)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(health_presentations).on_conflict_do_nothing(
        index_elements=[health_presentations.c.customer, health_presentations.c.presentation]
    )


def _check_open(customer: Any) -> None:
    if customer is None or customer.state != PartyState.ACCEPTED:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT,
            "health records are taken only over a relationship this vendor accepted",
        )
    if customer.person_state == PartyState.ENDED:
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "the sender ended this relationship")


def _presentation(row: Any) -> Presentation:
    return Presentation(
        id=row.id,
        customer=row.customer,
        presentation=row.presentation,
        message_id=row.message_id,
        purpose=row.purpose,
        fhir_version=row.fhir_version,
        bundle=json.loads(row.bundle),
        valid_until=row.valid_until,
        received_at=row.received_at,
    )
