"""The vendor's record of each customer, changed only by verified messages and the vendor.

Each function is one transaction: the record changes, the answer to the person
and the events for every CRM adapter are written together. Updates are applied
by field version: the same message twice, or an older update arriving after a
newer one, changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from vrm.protocol import (
    DEFAULT_MAX_LIFETIME,
    PERSON_STATES,
    RELATIONSHIP_STATE,
    Identity,
    Message,
    PartyState,
    ProfileRevoke,
    ProfileUpdate,
    ProtocolError,
    RefusalCode,
    RelationshipRequest,
    RelationshipState,
    compose,
)
from vrm.vendor.adapters.base import ChangeKind, CustomerChange
from vrm.vendor.jobs import DEFAULT_MAX_AGE, MESSAGE_QUEUE, adapter_queue, add_jobs
from vrm.vendor.schema import customers, field_history, fields

PENDING = "pending"

# The statements every message runs, built once: building a statement and its cache key
# on every call cost more than executing it (docs/performance.md, vendor fan-out).
_CUSTOMER = select(customers).where(customers.c.did == bindparam("did"))
_HELD = select(fields.c.path, fields.c.version).where(fields.c.customer == bindparam("customer"))
_SET_FIELD = update(fields).where(  # the SET clause: the columns named in the parameters
    fields.c.customer == bindparam("at_customer"), fields.c.path == bindparam("at_path")
)
_ADD_FIELD = insert(fields)
_ADD_HISTORY = insert(field_history)


class PolicyMode(StrEnum):
    """How relationship requests are answered."""

    ACCEPT_ALL = "accept_all"
    ALLOW_LIST = "allow_list"
    """Accept the DIDs listed; hold the others for the vendor to approve or refuse."""
    MANUAL = "manual"
    """Hold every request for the vendor to approve or refuse."""


@dataclass(frozen=True)
class Policy:
    """The relationship policy."""

    mode: PolicyMode = PolicyMode.ACCEPT_ALL
    allowed: frozenset[str] = field(default_factory=frozenset)

    def decide(self, did: str) -> str:
        """``accepted`` or ``pending`` for a new request from ``did``."""
        if self.mode == PolicyMode.ACCEPT_ALL:
            return PartyState.ACCEPTED.value
        if self.mode == PolicyMode.ALLOW_LIST and did in self.allowed:
            return PartyState.ACCEPTED.value
        return PENDING


_RECORDED = (RelationshipRequest, RelationshipState, ProfileUpdate, ProfileRevoke)


class UnknownCustomer(LookupError):
    """No customer has this DID."""


class NotPending(ValueError):
    """The relationship was already decided."""


class Records:
    """The customer records of one vendor endpoint.

    Args:
        engine: the endpoint's database.
        identity: the vendor's identity (it signs the answers).
        policy: how relationship requests are answered.
        adapters: the names of the CRM adapters every change is queued for.
        max_age: how long answers and CRM deliveries are retried.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        identity: Identity,
        policy: Policy,
        adapters: list[str],
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.identity = identity
        self.policy = policy
        self.adapters = adapters
        self.max_age = max_age
        self.clock = clock

    # messages from people

    def receive(self, message: Message) -> bool:
        """Apply one verified message to the records; True if it queued jobs.

        Jobs are the answer to a relationship request and the events for the CRM
        adapters; the endpoint wakes its worker only when there are some.
        """
        body = message.body
        if not isinstance(
            body, RelationshipRequest | RelationshipState | ProfileUpdate | ProfileRevoke
        ):
            return False  # a ping or a problem report: nothing to record
        with self.engine.begin() as connection:
            if isinstance(body, RelationshipRequest):
                return self._request(connection, message, body)
            customer = self._customer_row(connection, message.sender)
            if customer is None or customer.state != PartyState.ACCEPTED:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT,
                    "this vendor has no accepted relationship with the sender",
                )
            if customer.person_state == PartyState.ENDED:
                raise ProtocolError(
                    RefusalCode.WRONG_RECIPIENT, "the sender ended this relationship"
                )
            if isinstance(body, RelationshipState):
                return self._person_state(connection, message, body)
            if isinstance(body, ProfileUpdate):
                return self._update(connection, message, body)
            return self._revoke(connection, message, body)

    def _request(self, connection: Connection, message: Message, body: RelationshipRequest) -> bool:
        now = self.clock()
        existing = self._customer_row(connection, message.sender)
        if existing is not None:
            # Asked again (the answer was lost?): answer again with the current decision.
            connection.execute(
                update(customers)
                .where(customers.c.did == message.sender)
                .values(reply_to=body.reply_to, updated_at=now)
            )
            if existing.state != PENDING:
                self._answer(connection, message.sender, body.reply_to, existing.state, message.id)
                return True
            return False
        decision = self.policy.decide(message.sender)
        connection.execute(
            insert(customers).values(
                did=message.sender,
                state=decision,
                person_state=PartyState.WANTS.value,
                reply_to=body.reply_to,
                request_id=message.id,
                created_at=now,
                updated_at=now,
            )
        )
        if decision == PartyState.ACCEPTED:
            self._accepted(connection, message.sender, body.reply_to, message.id)
            return True
        return False

    def _accepted(self, connection: Connection, did: str, reply_to: str, request_id: str) -> None:
        self._answer(connection, did, reply_to, PartyState.ACCEPTED.value, request_id)
        self._changed(
            connection,
            CustomerChange(
                event_id(did, request_id, "created"), ChangeKind.CREATED, did, self.clock()
            ),
        )

    def _person_state(
        self, connection: Connection, message: Message, body: RelationshipState
    ) -> bool:
        if body.state not in PERSON_STATES:
            raise ProtocolError(
                RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
            )
        now = self.clock()
        connection.execute(
            update(customers)
            .where(customers.c.did == message.sender)
            .values(person_state=body.state.value, updated_at=now)
        )
        if body.state == PartyState.ENDED:
            # Ending withdraws every grant: the values go, the history stays.
            removed = self._remove_fields(connection, message, None)
            return self._changed(
                connection,
                CustomerChange(
                    event_id(message.sender, message.id),
                    ChangeKind.ENDED,
                    message.sender,
                    now,
                    dict.fromkeys(removed),
                ),
            )
        return False

    def _update(self, connection: Connection, message: Message, body: ProfileUpdate) -> bool:
        now = self.clock()
        sender = message.sender
        held = {row.path: row.version for row in connection.execute(_HELD, {"customer": sender})}
        changed: dict[str, Any] = {}
        versions: dict[str, int] = {}
        for value in body.fields:
            if held.get(value.path, 0) >= value.version:
                continue  # the same or a newer version is already here
            stored = None if value.value is None else json.dumps(value.value)
            row = {
                "version": value.version,
                "value": stored,
                "purpose": body.grant.purpose,
                "until": body.grant.until,
                "changed_time": value.changed_time,
                "updated_at": now,
            }
            if value.path in held:
                connection.execute(
                    _SET_FIELD, {"at_customer": sender, "at_path": value.path, **row}
                )
            else:
                connection.execute(_ADD_FIELD, {"customer": sender, "path": value.path, **row})
            connection.execute(
                _ADD_HISTORY,
                {
                    "customer": sender,
                    "path": value.path,
                    "version": value.version,
                    "value": stored,
                    "event": "update",
                    "message_id": message.id,
                    "received_at": now,
                },
            )
            changed[value.path] = value.value
            versions[value.path] = value.version
        if changed:
            change = CustomerChange(
                event_id(message.sender, message.id),
                ChangeKind.UPDATED,
                message.sender,
                now,
                changed,
                versions,
                body.grant.purpose,
            )
            return self._changed(connection, change)
        return False

    def _revoke(self, connection: Connection, message: Message, body: ProfileRevoke) -> bool:
        revoked = self._remove_fields(connection, message, list(dict.fromkeys(body.fields)))
        if revoked:
            change = CustomerChange(
                event_id(message.sender, message.id),
                ChangeKind.REVOKED,
                message.sender,
                self.clock(),
                dict.fromkeys(revoked),
            )
            return self._changed(connection, change)
        return False

    def _remove_fields(
        self, connection: Connection, message: Message, paths: list[str] | None
    ) -> list[str]:
        """Delete fields (every one when ``paths`` is None), keeping a ``revoke`` in history.

        The version goes with the value: a field granted again later starts afresh.
        """
        query = select(fields.c.path, fields.c.version).where(fields.c.customer == message.sender)
        if paths is not None:
            query = query.where(fields.c.path.in_(paths))
        held = connection.execute(query.order_by(fields.c.path)).all()
        if not held:
            return []
        now = self.clock()
        connection.execute(
            fields.delete().where(
                fields.c.customer == message.sender,
                fields.c.path.in_([row.path for row in held]),
            )
        )
        connection.execute(
            insert(field_history),
            [
                {
                    "customer": message.sender,
                    "path": row.path,
                    "version": row.version,
                    "value": None,
                    "event": "revoke",
                    "message_id": message.id,
                    "received_at": now,
                }
                for row in held
            ],
        )
        return [row.path for row in held]

    # the vendor's decisions

    def approve(self, did: str) -> None:
        """Accept a pending relationship; the person is told and the CRMs get the customer."""
        self._decide(did, PartyState.ACCEPTED)

    def refuse(self, did: str) -> None:
        """Refuse a pending relationship; the person is told."""
        self._decide(did, PartyState.REFUSED)

    def end(self, did: str) -> None:
        """End an accepted relationship from the vendor's side; the person is told."""
        with self.engine.begin() as connection:
            customer = self._customer_row(connection, did)
            if customer is None:
                raise UnknownCustomer(f"no customer {did}")
            if customer.state != PartyState.ACCEPTED:
                raise NotPending(f"the relationship with {did} is {customer.state}, not accepted")
            connection.execute(
                update(customers)
                .where(customers.c.did == did)
                .values(state=PartyState.ENDED.value, updated_at=self.clock())
            )
            self._answer(
                connection, did, customer.reply_to, PartyState.ENDED.value, customer.request_id
            )

    def accept_newly_allowed(self) -> list[str]:
        """Accept pending requests the policy now allows (an allow list edited since)."""
        with self.engine.begin() as connection:
            waiting = connection.execute(
                select(customers.c.did).where(customers.c.state == PENDING)
            ).scalars()
            allowed = [did for did in waiting if self.policy.decide(did) != PENDING]
        for did in allowed:
            self.approve(did)
        return allowed

    def _decide(self, did: str, decision: PartyState) -> None:
        with self.engine.begin() as connection:
            customer = self._customer_row(connection, did)
            if customer is None:
                raise UnknownCustomer(f"no customer {did}")
            if customer.state != PENDING:
                raise NotPending(f"the relationship with {did} is already {customer.state}")
            connection.execute(
                update(customers)
                .where(customers.c.did == did)
                .values(state=decision.value, updated_at=self.clock())
            )
            if decision == PartyState.ACCEPTED:
                self._accepted(connection, did, customer.reply_to, customer.request_id)
            else:
                self._answer(
                    connection, did, customer.reply_to, decision.value, customer.request_id
                )

    # reading

    def customers(self, *, state: str | None = None) -> list[dict[str, Any]]:
        """Customers with their current fields (optionally of one relationship state)."""
        with self.engine.begin() as connection:
            query = select(customers).order_by(customers.c.created_at)
            if state is not None:
                query = query.where(customers.c.state == state)
            rows = connection.execute(query).all()
            held: dict[str, dict[str, Any]] = {}
            for row in connection.execute(select(fields).where(fields.c.value.is_not(None))):
                held.setdefault(row.customer, {})[row.path] = json.loads(row.value)
        return [_customer_json(row, held.get(row.did, {})) for row in rows]

    def customer(self, did: str) -> dict[str, Any]:
        """One customer: states, current fields with their versions and grant terms."""
        with self.engine.begin() as connection:
            row = self._customer_row(connection, did)
            if row is None:
                raise UnknownCustomer(f"no customer {did}")
            current = connection.execute(select(fields).where(fields.c.customer == did)).all()
        document = _customer_json(
            row, {f.path: json.loads(f.value) for f in current if f.value is not None}
        )
        document["terms"] = {
            f.path: {"version": f.version, "purpose": f.purpose, "until": f.until}
            for f in current
            if f.value is not None
        }
        return document

    def history(self, did: str) -> list[dict[str, Any]]:
        """Every field version received from a customer, and every revocation, oldest first."""
        with self.engine.begin() as connection:
            if self._customer_row(connection, did) is None:
                raise UnknownCustomer(f"no customer {did}")
            rows = connection.execute(
                select(field_history)
                .where(field_history.c.customer == did)
                .order_by(field_history.c.id)
            ).all()
        return [
            {
                "field": row.path,
                "version": row.version,
                "value": None if row.value is None else json.loads(row.value),
                "event": row.event,
                "message_id": row.message_id,
                "received_at": row.received_at,
            }
            for row in rows
        ]

    # helpers

    def _customer_row(self, connection: Connection, did: str) -> Any:
        return connection.execute(_CUSTOMER, {"did": did}).one_or_none()

    def _answer(
        self, connection: Connection, did: str, reply_to: str, state: str, request_id: str
    ) -> None:
        envelope, token = compose(
            self.identity,
            type=RELATIONSHIP_STATE,
            to=did,
            body=RelationshipState(state=PartyState(state)),
            thid=request_id,
            lifetime=min(DEFAULT_MAX_LIFETIME, int(self.max_age) + 3600),
            now=self.clock(),
        )
        payload = {"inbox": reply_to, "token": token}
        add_jobs(
            connection,
            [(MESSAGE_QUEUE, did, envelope.id, payload)],
            now=self.clock(),
            max_age=self.max_age,
        )

    def _changed(self, connection: Connection, change: CustomerChange) -> bool:
        """Queue the change for every adapter; False when there is none."""
        if not self.adapters:
            return False
        document = change.as_json()
        add_jobs(
            connection,
            [
                (adapter_queue(name), change.customer, change.event_id, document)
                for name in self.adapters
            ],
            now=self.clock(),
            max_age=self.max_age,
        )
        return True


def event_id(customer: str, message_id: str, suffix: str = "") -> str:
    """A CRM event's id: stable for a (customer, message) pair, unique across customers.

    Message ids are unique only per sender, and webhook ids may not contain dots, so
    the id is a digest (``evt_`` and 32 hex digits).
    """
    digest = hashlib.sha256(f"{customer}\n{message_id}\n{suffix}".encode()).hexdigest()
    return f"evt_{digest[:32]}"


def _customer_json(row: Any, current: dict[str, Any]) -> dict[str, Any]:
    return {
        "did": row.did,
        "state": row.state,
        "person_state": row.person_state,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "fields": dict(sorted(current.items())),
    }
