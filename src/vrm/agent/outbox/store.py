"""The outbox table: signed messages waiting to be delivered, and what became of them.

A message is signed and stored in the same transaction as the change that caused
it (a profile change, a grant, a relationship request), so a crash either keeps
both or neither. The signed message names its recipient and carries personal
data, so it is kept sealed with its inbox URL; the clear columns say only its
type, its state and when to try again. A message asked to be encrypted (health
records presented to a doctor) is kept signed and encrypted to its recipient afresh
on each attempt, so a retry re-signs it like any other.

Messages to one vendor leave in the order they were written: only the oldest
pending message of each vendor is ever due, so a newer value never arrives before
an older one from the same queue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, text

from vrm.agent.errors import Conflict, NotFound
from vrm.agent.identities.service import load_identity
from vrm.protocol import (
    DEFAULT_MAX_LIFETIME,
    Identity,
    compose,
    encrypt_for,
    new_envelope,
    sign_message,
)
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.envelope import Envelope
from vrm.transport.backoff import Backoff
from vrm.vault import Sealer

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
STATES = (PENDING, DELIVERED, FAILED)

DEFAULT_MAX_AGE = 3 * 24 * 3600.0
"""How long a message is retried before it is marked failed (configurable)."""

_LIFETIME_MARGIN = 3600

_INSERT = text(
    "INSERT INTO outbox (vendor_id, message_id, type, sealed_message, state, attempts,"
    " created_at, next_attempt_at, give_up_at) VALUES (:vendor_id, :message_id, :type,"
    " :sealed, 'pending', 0, :now, :now, :give_up_at)"
)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message due for delivery: where it goes and the signed text (encrypted if asked)."""

    row_id: int
    message_id: str
    vendor_id: int | None
    type: str
    inbox: str
    token: str
    attempts: int
    encrypted: bool = False
    """``token`` is a compact JWE to the recipient (sign, then encrypt)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one delivery attempt came to."""

    row_id: int
    delivered: bool
    retryable: bool = True
    status: int | None = None
    code: str | None = None
    error: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class DeliveryStatus:
    """One message's delivery, as the person sees it."""

    id: int
    message_id: str
    vendor_id: int | None
    type: str
    state: str
    attempts: int
    created_at: float
    next_attempt_at: float | None
    delivered_at: float | None
    last_status: int | None
    last_code: str | None
    error: str | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "message_id": self.message_id,
            "vendor_id": self.vendor_id,
            "type": self.type,
            "state": self.state,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "next_attempt_at": self.next_attempt_at,
            "delivered_at": self.delivered_at,
            "last_status": self.last_status,
            "last_code": self.last_code,
            "error": self.error,
        }


def message_lifetime(max_age: float) -> int:
    """The signed lifetime of an outbox message: it stays valid as long as it is retried."""
    return min(DEFAULT_MAX_LIFETIME, int(max_age) + _LIFETIME_MARGIN)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to sign and queue: from whom, to whom, where, and what it says."""

    sender: Identity
    to: str
    inbox: str
    type: str
    body: BaseModel
    vendor_id: int | None
    thid: str | None = None
    encrypted: bool = False
    """Encrypt it to ``to`` when it is sent: only the recipient reads it, not its carriers."""


def enqueue(
    connection: Connection,
    sealer: Sealer,
    *,
    sender: Identity,
    to: str,
    inbox: str,
    type: str,
    body: BaseModel,
    vendor_id: int | None,
    thid: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
    encrypted: bool = False,
) -> str:
    """Sign a message and keep it for delivery (``encrypted``: to ``to``); return its id."""
    message = NewMessage(sender, to, inbox, type, body, vendor_id, thid, encrypted)
    return enqueue_all(connection, sealer, [message], max_age=max_age, now=now)[0]


def enqueue_all(
    connection: Connection,
    sealer: Sealer,
    messages: Sequence[NewMessage],
    *,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Sign messages and keep them for delivery, in order, in one insert; return their ids."""
    now = time.time() if now is None else now
    lifetime = message_lifetime(max_age)
    message_ids: list[str] = []
    rows: list[dict[str, Any]] = []
    for message in messages:
        envelope, token = compose(
            message.sender,
            type=message.type,
            to=message.to,
            body=message.body,
            thid=message.thid,
            lifetime=lifetime,
            now=now,
        )
        message_ids.append(envelope.id)
        rows.append(
            {
                "vendor_id": message.vendor_id,
                "message_id": envelope.id,
                "type": message.type,
                "sealed": _seal_message(
                    sealer,
                    envelope.id,
                    message.inbox,
                    token,
                    encrypt_to=message.to if message.encrypted else None,
                ),
                "now": now,
                "give_up_at": now + max_age,
            }
        )
    if rows:
        connection.execute(_INSERT, rows)
    return message_ids


def due(
    connection: Connection, sealer: Sealer, *, now: float, limit: int = 1000
) -> list[OutgoingMessage]:
    """The messages to send now: the oldest pending one of each queue, if its time has come."""
    rows = connection.execute(
        text(
            "SELECT o.id, o.message_id, o.vendor_id, o.type, o.sealed_message, o.attempts "
            "FROM outbox o JOIN (SELECT min(id) AS id FROM outbox WHERE state = 'pending' "
            "GROUP BY coalesce(vendor_id, -id)) head ON head.id = o.id "
            "WHERE o.next_attempt_at <= :now ORDER BY o.id LIMIT :limit"
        ),
        {"now": now, "limit": limit},
    ).all()
    messages = []
    for row_id, message_id, vendor_id, kind, sealed, attempts in rows:
        opened = _opened(sealer, message_id, sealed)
        token, encrypt_to = opened["token"], opened.get("encrypt_to")
        if encrypt_to:  # each attempt encrypts afresh; the signed message is what is kept
            token = encrypt_for(encrypt_to, token)
        messages.append(
            OutgoingMessage(
                row_id,
                message_id,
                vendor_id,
                kind,
                opened["inbox"],
                token,
                attempts,
                encrypted=bool(encrypt_to),
            )
        )
    return messages


def pending_due(connection: Connection, message_ids: Sequence[str], *, now: float) -> list[str]:
    """Those of ``message_ids`` still pending and due by ``now``."""
    if not message_ids:
        return []
    rows = connection.execute(
        text(
            "SELECT message_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= :now"
            " AND message_id IN (SELECT value FROM json_each(:ids))"
        ),
        {"now": now, "ids": json.dumps(list(message_ids))},
    ).all()
    return [message_id for (message_id,) in rows]


def cancel_pending(connection: Connection, message_id: str) -> bool:
    """Take a message not yet delivered out of the outbox; False when it was sent or failed."""
    removed = connection.execute(
        text("DELETE FROM outbox WHERE message_id = :id AND state = 'pending' RETURNING id"),
        {"id": message_id},
    ).all()
    return bool(removed)


def states_of(connection: Connection, message_ids: Sequence[str]) -> dict[str, str]:
    """The delivery state of each of ``message_ids``."""
    rows = connection.execute(
        text(
            "SELECT message_id, state FROM outbox"
            " WHERE message_id IN (SELECT value FROM json_each(:ids))"
        ),
        {"ids": json.dumps(list(message_ids))},
    ).all()
    return dict(rows)


def next_due_at(connection: Connection) -> float | None:
    """When the earliest pending message is next due, or None when nothing is pending."""
    value = connection.execute(
        text("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'")
    ).scalar()
    return None if value is None else float(value)


def record(
    connection: Connection,
    sealer: Sealer,
    outcomes: Iterable[Outcome],
    *,
    backoff: Backoff,
    now: float,
) -> None:
    """Write what came of a round of attempts, in one transaction."""
    delivered: list[dict[str, Any]] = []
    retried: list[dict[str, Any]] = []
    for outcome in outcomes:
        if outcome.delivered:
            delivered.append({"id": outcome.row_id, "now": now, "status": outcome.status})
            continue
        attempts, give_up_at, message_id = connection.execute(
            text("SELECT attempts, give_up_at, message_id FROM outbox WHERE id = :id"),
            {"id": outcome.row_id},
        ).one()
        attempts += 1
        next_at = now + backoff.delay(attempts, outcome.retry_after)
        state = PENDING if outcome.retryable and next_at <= give_up_at else FAILED
        retried.append(
            {
                "id": outcome.row_id,
                "state": state,
                "attempts": attempts,
                "next_at": next_at,
                "status": outcome.status,
                "code": outcome.code,
                "error": sealer.seal_text(outcome.error or "", _error_place(message_id)),
            }
        )
    if delivered:
        connection.execute(
            text(
                "UPDATE outbox SET state = 'delivered', delivered_at = :now,"
                " attempts = attempts + 1, last_status = :status, last_code = NULL,"
                " sealed_error = NULL WHERE id = :id"
            ),
            delivered,
        )
    if retried:
        connection.execute(
            text(
                "UPDATE outbox SET state = :state, attempts = :attempts,"
                " next_attempt_at = :next_at, last_status = :status, last_code = :code,"
                " sealed_error = :error WHERE id = :id AND state = 'pending'"
            ),
            retried,
        )


def deliveries(
    connection: Connection,
    sealer: Sealer,
    *,
    state: str | None = None,
    vendor_id: int | None = None,
    limit: int = 200,
) -> list[DeliveryStatus]:
    """Deliveries, newest first, optionally of one state or one vendor."""
    rows = connection.execute(
        text(
            "SELECT id, message_id, vendor_id, type, state, attempts, created_at,"
            " next_attempt_at, delivered_at, last_status, last_code, sealed_error FROM outbox"
            " WHERE (:state IS NULL OR state = :state)"
            " AND (:vendor_id IS NULL OR vendor_id = :vendor_id)"
            " ORDER BY id DESC LIMIT :limit"
        ),
        {"state": state, "vendor_id": vendor_id, "limit": limit},
    ).all()
    return [_status(sealer, row) for row in rows]


def delivery(connection: Connection, sealer: Sealer, row_id: int) -> DeliveryStatus:
    """One delivery by its number."""
    row = connection.execute(
        text(
            "SELECT id, message_id, vendor_id, type, state, attempts, created_at,"
            " next_attempt_at, delivered_at, last_status, last_code, sealed_error FROM outbox"
            " WHERE id = :id"
        ),
        {"id": row_id},
    ).one_or_none()
    if row is None:
        raise NotFound(f"no delivery {row_id}")
    return _status(sealer, row)


def retry(
    connection: Connection,
    sealer: Sealer,
    row_id: int,
    *,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> DeliveryStatus:
    """Put a failed delivery back in its queue, due now, signed again with a fresh lifetime.

    The message keeps its id, so a vendor that did receive it answers ``replay`` and
    the retry counts as delivered; it never applies the message twice.
    """
    now = time.time() if now is None else now
    current = delivery(connection, sealer, row_id)
    if current.state != FAILED:
        raise Conflict(f"delivery {row_id} is {current.state}; only failed ones are retried")
    sealed = connection.execute(
        text("SELECT sealed_message FROM outbox WHERE id = :id"), {"id": row_id}
    ).scalar_one()
    opened = _opened(sealer, current.message_id, sealed)
    resigned = _resign(connection, sealer, opened["token"], max_age=max_age, now=now)
    connection.execute(
        text(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = :now,"
            " give_up_at = :give_up_at, sealed_message = :sealed, sealed_error = NULL,"
            " last_code = NULL, last_status = NULL WHERE id = :id"
        ),
        {
            "id": row_id,
            "now": now,
            "give_up_at": now + max_age,
            "sealed": _seal_message(
                sealer,
                current.message_id,
                opened["inbox"],
                resigned,
                encrypt_to=opened.get("encrypt_to"),
            ),
        },
    )
    return delivery(connection, sealer, row_id)


def mark_reported(
    connection: Connection,
    sealer: Sealer,
    *,
    vendor_id: int,
    message_id: str | None,
    code: str,
    detail: str,
) -> bool:
    """Record a vendor's problem report about one of its messages; False if none matches.

    The delivery is marked failed with the vendor's code: it arrived, but the
    vendor could not use it.
    """
    if message_id is None:
        return False
    updated = connection.execute(
        text(
            "UPDATE outbox SET state = 'failed', last_code = :code, sealed_error = :error"
            " WHERE message_id = :message_id AND vendor_id = :vendor_id RETURNING id"
        ),
        {
            "code": code[:64],
            "error": sealer.seal_text(f"the vendor reported: {detail}", _error_place(message_id)),
            "message_id": message_id,
            "vendor_id": vendor_id,
        },
    ).scalar()
    return updated is not None


def written_at(
    connection: Connection, sealer: Sealer, *, type: str, created_at: float
) -> list[tuple[DeliveryStatus, dict[str, Any]]]:
    """The deliveries of messages of one type written at one instant, each with its body.

    An action writes every message it causes with the same time, in its own
    transaction: these are the messages of that action (and of any other that ran
    at the very same instant, which the caller tells apart by their bodies).
    """
    rows = connection.execute(
        text(
            "SELECT id, message_id, vendor_id, type, state, attempts, created_at,"
            " next_attempt_at, delivered_at, last_status, last_code, sealed_error,"
            " sealed_message FROM outbox WHERE created_at = :at AND type = :type ORDER BY id"
        ),
        {"at": created_at, "type": type},
    ).all()
    found = []
    for row in rows:
        status = _status(sealer, row[:12])
        _inbox, token = _open_message(sealer, status.message_id, row[12])
        payload = json.loads(b64url_decode(token.split(".")[1]))
        found.append((status, payload.get("body") or {}))
    return found


def counts_by_vendor(connection: Connection) -> dict[int, dict[str, int]]:
    """How many messages each vendor has in each state."""
    counts: dict[int, dict[str, int]] = {}
    for vendor_id, state, count in connection.execute(
        text(
            "SELECT vendor_id, state, count(*) FROM outbox WHERE vendor_id IS NOT NULL"
            " GROUP BY vendor_id, state"
        )
    ):
        counts.setdefault(vendor_id, {})[state] = count
    return counts


def _resign(
    connection: Connection, sealer: Sealer, token: str, *, max_age: float, now: float
) -> str:
    old = Envelope.model_validate_json(b64url_decode(token.split(".")[1]))
    identity = load_identity(connection, sealer, did=old.from_)
    if identity is None:
        raise NotFound(f"the identity {old.from_} that sent this message is gone")
    renewed = new_envelope(
        type=old.type,
        sender=old.from_,
        to=old.to,
        body=old.body,
        thid=old.thid,
        lifetime=message_lifetime(max_age),
        now=now,
        message_id=old.id,
    )
    return sign_message(renewed, identity)


def _status(sealer: Sealer, row: Any) -> DeliveryStatus:
    (row_id, message_id, vendor_id, kind, state, attempts, created_at, next_at) = row[:8]
    delivered_at, last_status, last_code, sealed_error = row[8:]
    error = sealer.open_text(sealed_error, _error_place(message_id)) if sealed_error else None
    return DeliveryStatus(
        id=row_id,
        message_id=message_id,
        vendor_id=vendor_id,
        type=kind,
        state=state,
        attempts=attempts,
        created_at=created_at,
        next_attempt_at=next_at if state == PENDING else None,
        delivered_at=delivered_at,
        last_status=last_status,
        last_code=last_code,
        error=error or None,
    )


def _seal_message(
    sealer: Sealer, message_id: str, inbox: str, token: str, *, encrypt_to: str | None = None
) -> bytes:
    kept = {"inbox": inbox, "token": token}
    if encrypt_to is not None:
        kept["encrypt_to"] = encrypt_to
    return sealer.seal_text(json.dumps(kept), f"outbox/message/{message_id}")


def _opened(sealer: Sealer, message_id: str, sealed: bytes) -> dict[str, str]:
    """The kept message: its inbox, the signed token, and whom to encrypt it to, if anyone."""
    opened: dict[str, str] = json.loads(sealer.open_text(sealed, f"outbox/message/{message_id}"))
    return opened


def _open_message(sealer: Sealer, message_id: str, sealed: bytes) -> tuple[str, str]:
    opened = _opened(sealer, message_id, sealed)
    return opened["inbox"], opened["token"]


def _error_place(message_id: str) -> str:
    return f"outbox/error/{message_id}"


def sent_bodies(
    connection: Connection, sealer: Sealer, *, vendor_id: int, type: str
) -> list[dict[str, Any]]:
    """The bodies of the messages of one type written for a vendor, oldest first.

    What the person sent (or is sending): the agent signed these itself.
    """
    rows = connection.execute(
        text(
            "SELECT message_id, sealed_message FROM outbox WHERE vendor_id = :vendor"
            " AND type = :type ORDER BY id"
        ),
        {"vendor": vendor_id, "type": type},
    ).all()
    bodies = []
    for message_id, sealed in rows:
        _inbox, token = _open_message(sealer, message_id, sealed)
        payload = json.loads(b64url_decode(token.split(".")[1]))
        bodies.append(payload.get("body") or {})
    return bodies
