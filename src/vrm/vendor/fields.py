"""A customer's fields and their history: each update applied by field version.

The endpoint keeps, per field, the value of the highest version received; an
older or repeated version changes nothing. Revoking or ending removes the values
and keeps a ``revoke`` entry in the history. Every function works in the
caller's transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from vrm.protocol import Message, ProfileUpdate
from vrm.vendor.adapters.base import ChangeKind, CustomerChange
from vrm.vendor.jobs import event_id
from vrm.vendor.schema import field_history, fields

# The statements every update runs, built once: building a statement and its cache key
# on every call cost more than executing it (docs/performance.md, vendor fan-out).
_HELD = select(fields.c.path, fields.c.version).where(fields.c.customer == bindparam("customer"))
_SET_FIELD = update(fields).where(  # the SET clause: the columns named in the parameters
    fields.c.customer == bindparam("at_customer"), fields.c.path == bindparam("at_path")
)
_ADD_FIELD = insert(fields)
_ADD_HISTORY = insert(field_history)


def apply_update(
    connection: Connection, message: Message, body: ProfileUpdate, *, now: float
) -> CustomerChange | None:
    """Apply the versions newer than those held; the change for the CRMs (None: nothing new)."""
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
            connection.execute(_SET_FIELD, {"at_customer": sender, "at_path": value.path, **row})
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
    if not changed:
        return None
    return CustomerChange(
        event_id(message.sender, message.id),
        ChangeKind.UPDATED,
        message.sender,
        now,
        changed,
        versions,
        body.grant.purpose,
    )


def remove(
    connection: Connection, message: Message, paths: list[str] | None, *, now: float
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


def current(connection: Connection, did: str) -> list[Any]:
    """The customer's field rows (cleared ones too: their version is kept)."""
    return list(connection.execute(select(fields).where(fields.c.customer == did)).all())


def history_of(connection: Connection, did: str) -> list[dict[str, Any]]:
    """Every field version received from a customer, and every revocation, oldest first."""
    rows = connection.execute(
        select(field_history).where(field_history.c.customer == did).order_by(field_history.c.id)
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
