"""The person's data rights at the vendor: a copy of everything held, and erasure.

An export is everything the record holds on the person — both relationship states,
the current fields with their grants, the history, the vendor's own data about
them, where their data went (the adapters' deliveries, field names only), the
agreements signed, the offers they took and the receipts sent them — sent signed
and encrypted to the person's pairwise DID.

Erasure deletes the fields, history, vendor data and receipts, the health records the
person presents (each deletion confirmed with a ``health.deleted``), the memberships issued
(their credentials' ids stay on the list a checkout refuses), and every adapter job
of the customer (their payloads hold personal data), and leaves a tombstone: the customer
row in state ``erased``, so later messages from that DID are refused. Each adapter
is sent ``customer.deleted``; the person is sent ``data.erased`` once every adapter
has deleted (or given up). Agreements are kept: they hold no personal data and are
the vendor's record of consent. Specification: docs/protocol.md 7.7.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from vrm.protocol import (
    DATA_ERASED,
    DATA_EXPORT,
    DataErased,
    DataExport,
    DataRequest,
    ErasedSystem,
    ExportedChange,
    ExportedDelivery,
    ExportedField,
    ExportedOffer,
    ExportedRelationship,
    Identity,
    Message,
    ProtocolError,
    RefusalCode,
    new_envelope,
    sign_message,
)
from vrm.vendor import health, memberships
from vrm.vendor.adapters.base import ChangeKind, CustomerChange
from vrm.vendor.agreements import signed_agreements
from vrm.vendor.errors import InvalidRequest
from vrm.vendor.jobs import (
    ADAPTER_PREFIX,
    ERASURE_QUEUE,
    PENDING,
    Job,
    adapter_queue,
    add_jobs,
    event_id,
)
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.schema import (
    customers,
    field_history,
    fields,
    jobs,
    matched_intents,
    offers,
    receipts,
    reviews,
    vendor_data,
)

ERASED = "erased"
EXPORT_BYTES = 160 * 1024
"""The most body JSON (UTF-8) an export carries.

Signed (base64url adds a third) it stays under the 256 KiB an inbox takes
(docs/protocol.md 7.7.2); older history, deliveries and receipts are left out beyond it.
"""
MOST_ITEMS = 4096
"""The most history entries, and deliveries, an export lists (the message type's limit)."""
MOST_AGREEMENTS = 64
MOST_OFFERS = 256
MOST_RECEIPTS = 256
MOST_VENDOR_KEYS = 256
CONFIRMATION_RECHECK = 0.25
"""Seconds before an erasure confirmation looks again at deletes still due now."""


# messages from people


def take_data_request(
    connection: Connection,
    customer: Any,
    message: Message,
    body: DataRequest,
    *,
    outgoing: Outgoing,
    adapters: list[str],
) -> None:
    """Answer a person's ``data.request``: queue the export, or erase.

    Raises:
        ProtocolError: ``wrong_recipient`` from a stranger, or for an export of an
            erased record (a repeated erasure request is confirmed again).
    """
    if customer is None:
        raise ProtocolError(
            RefusalCode.WRONG_RECIPIENT, "this vendor has no relationship with the sender"
        )
    if customer.state == ERASED:
        if body.kind == "erase":
            confirm_again(connection, customer, request_id=message.id, outgoing=outgoing)
            return
        raise ProtocolError(RefusalCode.WRONG_RECIPIENT, "this record was erased")
    if body.kind == "export":
        send_export(connection, customer, request_id=message.id, outgoing=outgoing)
    else:
        erase(connection, customer, request_id=message.id, adapters=adapters, outgoing=outgoing)


# export


def send_export(
    connection: Connection, customer: Any, *, request_id: str, outgoing: Outgoing
) -> None:
    """Queue ``data.export`` for the person: signed by the vendor, encrypted to them."""
    body = export(connection, customer, request_id=request_id, now=outgoing.clock())
    outgoing.queue(
        connection,
        to=customer.did,
        inbox=customer.reply_to,
        type=DATA_EXPORT,
        body=body,
        thid=request_id,
        encrypted=True,
    )


MOST_FIELDS = 1024
"""The most fields one export carries (the message's limit); ``truncated`` says when cut."""
MOST_VENDOR_DATA = 256


def export(connection: Connection, customer: Any, *, request_id: str, now: float) -> DataExport:
    """Everything held on the customer; history, deliveries, receipts cut to the newest to fit."""
    did = customer.did
    history = _exported_history(connection, did)
    deliveries = _exported_deliveries(connection, did)
    sent = _exported_receipts(connection, did)
    held = _exported_fields(connection, did)
    own = vendor_data_of(connection, did)
    whole = DataExport(
        request=request_id,
        generated_time=int(now),
        relationship=ExportedRelationship(
            state=customer.state,
            person_state=customer.person_state,
            created_time=int(customer.created_at),
        ),
        fields=held[:MOST_FIELDS],
        history=history[-MOST_ITEMS:],
        vendor_data=dict(list(own.items())[:MOST_VENDOR_DATA]),
        deliveries=deliveries[-MOST_ITEMS:],
        agreements=signed_agreements(connection, did)[-MOST_AGREEMENTS:],
        offers=_exported_offers(connection, did)[-MOST_OFFERS:],
        receipts=sent[-MOST_RECEIPTS:],
    )
    cut = (
        max(len(history), len(deliveries)) > MOST_ITEMS
        or len(held) > MOST_FIELDS
        or len(own) > MOST_VENDOR_DATA
        or len(sent) > MOST_RECEIPTS
    )
    return fitted(whole, truncated=cut)


def fitted(whole: DataExport, *, truncated: bool = False) -> DataExport:
    """``whole`` with the older half of its history, deliveries or receipts dropped to fit.

    Each round halves the list that takes the most room.
    """
    cut: dict[str, list[Any]] = {
        "history": list(whole.history),
        "deliveries": list(whole.deliveries),
        "receipts": list(whole.receipts),
    }
    while True:
        candidate = whole.model_copy(update={**cut, "truncated": truncated})
        size = len(candidate.model_dump_json().encode())
        if size <= EXPORT_BYTES or not any(cut.values()):
            return candidate
        truncated = True
        largest = max(cut, key=lambda name: _room(cut[name]))
        cut[largest] = cut[largest][(len(cut[largest]) + 1) // 2 :]


def _room(entries: list[Any]) -> int:
    """Roughly the bytes a list of export entries takes."""
    return sum(len(e) if isinstance(e, str) else len(e.model_dump_json()) for e in entries)


def _exported_offers(connection: Connection, did: str) -> list[ExportedOffer]:
    """The offers the person took as this customer, oldest first."""
    rows = connection.execute(
        select(offers.c.message_id, offers.c.body, offers.c.answered_at, matched_intents.c.category)
        .join(matched_intents, matched_intents.c.id == offers.c.intent)
        .where(offers.c.customer == did)
        .order_by(offers.c.id)
    ).all()
    exported = []
    for row in rows:
        terms = json.loads(row.body)["offer"]
        exported.append(
            ExportedOffer(
                offer=row.message_id,
                category=row.category,
                name=terms["name"],
                price=terms["price"],
                priceCurrency=terms["priceCurrency"],
                accepted_time=int(row.answered_at or 0),
            )
        )
    return exported


def _exported_receipts(connection: Connection, did: str) -> list[str]:
    """The receipts sent to the person as the vendor signed them, oldest first."""
    rows = connection.execute(
        select(receipts.c.token).where(receipts.c.customer == did).order_by(receipts.c.id)
    )
    return list(rows.scalars())


def _exported_fields(connection: Connection, did: str) -> list[ExportedField]:
    rows = connection.execute(
        select(fields)
        .where(fields.c.customer == did, fields.c.value.is_not(None))
        .order_by(fields.c.path)
    ).all()
    return [
        ExportedField(
            path=row.path,
            version=row.version,
            value=json.loads(row.value),
            purpose=row.purpose,
            until=row.until,
            changed_time=row.changed_time,
            received_time=int(row.updated_at),
        )
        for row in rows
    ]


def _exported_history(connection: Connection, did: str) -> list[ExportedChange]:
    rows = connection.execute(
        select(field_history)
        .where(field_history.c.customer == did)
        .order_by(field_history.c.id.desc())
        .limit(MOST_ITEMS + 1)  # one more tells that there were more
    ).all()
    return [
        ExportedChange(
            path=row.path,
            version=row.version,
            value=None if row.value is None else json.loads(row.value),
            event=row.event,
            message_id=row.message_id,
            received_time=int(row.received_at),
        )
        for row in reversed(rows)
    ]


def _exported_deliveries(connection: Connection, did: str) -> list[ExportedDelivery]:
    rows = connection.execute(
        select(jobs)
        .where(jobs.c.customer == did, jobs.c.queue.startswith(ADAPTER_PREFIX))
        .order_by(jobs.c.id.desc())
        .limit(MOST_ITEMS + 1)
    ).all()
    delivered = []
    for row in reversed(rows):
        change = json.loads(row.payload)
        delivered.append(
            ExportedDelivery(
                system=row.queue.removeprefix(ADAPTER_PREFIX),
                event_id=row.event_id,
                kind=change["kind"],
                fields=sorted(change.get("fields") or {}),  # names only: the values are above
                state=row.state,
                created_time=int(row.created_at),
                delivered_time=None if row.delivered_at is None else int(row.delivered_at),
            )
        )
    return delivered


# erasure


def erase(
    connection: Connection,
    customer: Any,
    *,
    request_id: str,
    adapters: list[str],
    outgoing: Outgoing,
) -> None:
    """Erase the customer's record, tell every adapter, and queue the person's confirmation.

    ``request_id`` is the message asking for it (a ``data.request``, or the
    ``relationship.state`` ending the relationship under ``delete_on_end`` terms).
    """
    did, now = customer.did, outgoing.clock()
    health.erase(connection, customer, outgoing=outgoing)
    memberships.forget_customer(connection, did, now=now)
    for table in (fields, field_history, vendor_data, receipts, reviews):
        connection.execute(delete(table).where(table.c.customer == did))
    connection.execute(
        delete(jobs).where(jobs.c.customer == did, jobs.c.queue.startswith(ADAPTER_PREFIX))
    )
    connection.execute(
        update(customers).where(customers.c.did == did).values(state=ERASED, updated_at=now)
    )
    # An offer the person took stays a sale, no longer tied to the person.
    connection.execute(update(offers).where(offers.c.customer == did).values(customer=None))
    deleted = CustomerChange(event_id(did, request_id, "deleted"), ChangeKind.DELETED, did, now)
    confirmation = {
        "inbox": customer.reply_to,
        "request": request_id,
        "erased_time": int(now),
        "deleted_event": deleted.event_id,
        "systems": adapters,
    }
    add_jobs(
        connection,
        [
            *((adapter_queue(name), did, deleted.event_id, deleted.as_json()) for name in adapters),
            (ERASURE_QUEUE, did, event_id(did, request_id, "erased"), confirmation),
        ],
        now=now,
        max_age=outgoing.max_age,
    )


def confirm_again(
    connection: Connection, customer: Any, *, request_id: str, outgoing: Outgoing
) -> None:
    """Queue the erasure's confirmation again, answering ``request_id`` (asked again)."""
    previous = connection.execute(
        select(jobs.c.payload)
        .where(jobs.c.customer == customer.did, jobs.c.queue == ERASURE_QUEUE)
        .order_by(jobs.c.id.desc())
        .limit(1)
    ).scalar_one()
    confirmation = {**json.loads(previous), "inbox": customer.reply_to, "request": request_id}
    add_jobs(
        connection,
        [(ERASURE_QUEUE, customer.did, event_id(customer.did, request_id, "erased"), confirmation)],
        now=outgoing.clock(),
        max_age=outgoing.max_age,
    )


@dataclass(frozen=True)
class Confirmation:
    """An erasure's confirmation: the signed message, or how long to wait for the adapters."""

    token: str | None
    wait: float = 0.0


def erasure_confirmation(
    connection: Connection, job: Job, *, identity: Identity, now: float
) -> Confirmation:
    """The signed ``data.erased`` of an erasure job, once no adapter still has to delete.

    Its id is the job's event id on every attempt: a confirmation received already
    is a replay to the person, which counts as delivered.
    """
    due = connection.execute(
        select(func.min(jobs.c.next_attempt_at)).where(
            jobs.c.customer == job.customer,
            jobs.c.queue.startswith(ADAPTER_PREFIX),
            jobs.c.state == PENDING,
        )
    ).scalar()
    if due is not None:
        return Confirmation(None, wait=max(CONFIRMATION_RECHECK, float(due) - now))
    payload = job.payload
    body = DataErased(
        request=payload["request"],
        erased_time=payload["erased_time"],
        systems=[
            _system(connection, job.customer, name, payload["deleted_event"])
            for name in payload["systems"]
        ],
    )
    envelope = new_envelope(
        type=DATA_ERASED,
        sender=identity.did,
        to=job.customer,
        body=body,
        thid=payload["request"],
        now=now,
        message_id=job.event_id,
    )
    return Confirmation(sign_message(envelope, identity))


def _system(connection: Connection, did: str, name: str, deleted_event: str) -> ErasedSystem:
    """What the adapter ``name`` came to with the customer's deletion."""
    row = connection.execute(
        select(jobs.c.state, jobs.c.last_error).where(
            jobs.c.customer == did,
            jobs.c.queue == adapter_queue(name),
            jobs.c.event_id == deleted_event,
        )
    ).one_or_none()
    if row is not None and row.state == "delivered":
        return ErasedSystem(system=name, state="deleted")
    detail = "no deletion was queued" if row is None else (row.last_error or "failed")
    return ErasedSystem(system=name, state="failed", detail=detail[:1024])


# the vendor's own data about a customer


def vendor_data_of(connection: Connection, did: str) -> dict[str, Any]:
    """The vendor's own data about the customer, by key."""
    rows = connection.execute(
        select(vendor_data.c.key, vendor_data.c.value)
        .where(vendor_data.c.customer == did)
        .order_by(vendor_data.c.key)
    ).all()
    return {row.key: json.loads(row.value) for row in rows}


def set_vendor_data(
    connection: Connection, did: str, changes: dict[str, Any], *, now: float
) -> dict[str, Any]:
    """Set the keys of ``changes`` (None removes one); the customer's vendor data after.

    Raises:
        InvalidRequest: a key is empty or longer than 128 characters, or the data
            would hold more than 256 keys.
    """
    bad = [key for key in changes if not 1 <= len(key) <= 128]
    if bad:
        raise InvalidRequest(f"keys are 1 to 128 characters: {', '.join(map(repr, bad))}")
    of_customer = vendor_data.c.customer == did
    connection.execute(delete(vendor_data).where(of_customer, vendor_data.c.key.in_(changes)))
    kept = {key: value for key, value in changes.items() if value is not None}
    if kept:
        connection.execute(
            insert(vendor_data),
            [
                {"customer": did, "key": key, "value": json.dumps(value), "updated_at": now}
                for key, value in kept.items()
            ],
        )
    held = vendor_data_of(connection, did)
    if len(held) > MOST_VENDOR_KEYS:
        raise InvalidRequest(f"a customer's vendor data holds at most {MOST_VENDOR_KEYS} keys")
    return held


def new_request_id() -> str:
    """An id for an export the vendor asks for itself (no person's request to answer)."""
    return str(uuid.uuid4())
