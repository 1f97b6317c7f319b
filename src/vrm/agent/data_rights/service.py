"""Data rights: asking a vendor for a copy of everything, or for erasure; the answers.

A request is a ``data.request`` in the outbox plus a row here with the date an
answer is due. The vendor's signed ``data.export`` or ``data.erased`` is kept
sealed as it arrived (a compact JWS), so it can be shown and verified later. A
request with no answer by its due date is flagged for the person's attention.
Ending a relationship under terms with ``delete_on_end`` counts as an erasure
request: the ending notice is the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict
from vrm.agent.outbox.store import DEFAULT_MAX_AGE
from vrm.agent.relationships.service import UNKNOWN, Relationship, send_to_vendor
from vrm.protocol import (
    DATA_REQUEST,
    DataErased,
    DataExport,
    DataRequest,
    Message,
    PartyState,
    ProtocolError,
    RefusalCode,
)
from vrm.vault import Sealer

EXPORT, ERASE = "export", "erase"
REQUESTED, ANSWERED = "requested", "answered"
DEFAULT_ANSWER_DAYS = 30
"""How long a vendor has to answer before the request is flagged (one month, as GDPR
article 12(3) gives a controller)."""


@dataclass(frozen=True)
class DataRequestRecord:
    """One export or erasure request and, once it came, the vendor's signed answer."""

    id: int
    vendor_id: int
    kind: str
    message_id: str
    state: str
    requested_at: float
    due_at: float
    answered_at: float | None
    answer: str | None
    """The vendor's signed message, as it arrived (compact JWS)."""

    def overdue(self, now: float) -> bool:
        """True when no answer came by the due date."""
        return self.state == REQUESTED and now > self.due_at

    def as_json(self, now: float) -> dict[str, Any]:
        """A JSON-ready dict (without the answer itself)."""
        return {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "kind": self.kind,
            "message_id": self.message_id,
            "state": self.state,
            "overdue": self.overdue(now),
            "requested_at": self.requested_at,
            "due_at": self.due_at,
            "answered_at": self.answered_at,
        }


def request_data(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    kind: str,
    reason: str | None = None,
    answer_within: float,
    max_age: float = DEFAULT_MAX_AGE,
    now: float,
) -> DataRequestRecord:
    """Ask the vendor for a copy of everything it holds (``export``) or for erasure.

    Raises:
        Conflict: the vendor never accepted the relationship, so holds nothing.
    """
    if relationship.vendor_state in (UNKNOWN, PartyState.REFUSED):
        raise Conflict(
            f"vendor {relationship.id} never accepted the relationship: it holds nothing of yours"
        )
    message_id = send_to_vendor(
        connection,
        sealer,
        relationship,
        type=DATA_REQUEST,
        body=DataRequest(kind=kind, reason=reason),  # type: ignore[arg-type]
        max_age=max_age,
        now=now,
    )
    return expect_answer(
        connection,
        sealer,
        relationship=relationship,
        kind=kind,
        message_id=message_id,
        answer_within=answer_within,
        now=now,
    )


def expect_answer(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    kind: str,
    message_id: str,
    answer_within: float,
    now: float,
) -> DataRequestRecord:
    """Record that message ``message_id`` asks the vendor for ``kind``; it is due by then."""
    record_id = connection.execute(
        text(
            "INSERT INTO data_requests (vendor_id, kind, message_id, state, requested_at,"
            " due_at) VALUES (:vendor, :kind, :message, 'requested', :now, :due) RETURNING id"
        ),
        {
            "vendor": relationship.id,
            "kind": kind,
            "message": message_id,
            "now": now,
            "due": now + answer_within,
        },
    ).scalar_one()
    audit.append(
        connection,
        sealer,
        kind=f"data.{kind}_requested",
        details={"vendor": relationship.id, "request": record_id, "message": message_id},
        now=now,
    )
    return _get(connection, sealer, record_id)


def take_answer(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    message: Message,
    now: float,
) -> DataRequestRecord:
    """Keep the vendor's signed export or erasure confirmation with its request.

    Raises:
        ProtocolError: ``invalid_body`` when it answers no request of ours of that kind.
    """
    body = message.body
    assert isinstance(body, DataExport | DataErased)  # noqa: S101 - the caller dispatches
    kind = EXPORT if isinstance(body, DataExport) else ERASE
    row = connection.execute(
        text(
            "SELECT id FROM data_requests WHERE vendor_id = :vendor AND message_id = :message"
            " AND kind = :kind"
        ),
        {"vendor": relationship.id, "message": body.request, "kind": kind},
    ).scalar()
    if row is None and kind == ERASE:
        row = _vendor_erasure(connection, relationship, message.id, now)  # the vendor's own move
    if row is None:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, f"this answers no {kind} request of this person"
        )
    connection.execute(
        text(
            "UPDATE data_requests SET state = 'answered', answered_at = :now,"
            " sealed_answer = :sealed WHERE id = :id"
        ),
        {"now": now, "sealed": sealer.seal_text(message.compact, _place(row)), "id": row},
    )
    details: dict[str, Any] = {"vendor": relationship.id, "request": row, "message": message.id}
    if isinstance(body, DataExport):
        details.update(fields=len(body.fields), vendor_data=len(body.vendor_data))
        kind_name = "data.exported"
    else:
        details["systems"] = {system.system: system.state for system in body.systems}
        kind_name = "data.erased"
    audit.append(connection, sealer, kind=kind_name, details=details, now=now)
    return _get(connection, sealer, row)


def _vendor_erasure(
    connection: Connection, relationship: Relationship, message_id: str, now: float
) -> int:
    """A row for an erasure the vendor made without being asked (it confirms it all the same)."""
    message = f"vendor:{relationship.id}:{message_id}"
    kept = connection.execute(
        text("SELECT id FROM data_requests WHERE message_id = :message AND vendor_id = :vendor"),
        {"message": message, "vendor": relationship.id},
    ).scalar()
    if kept is not None:
        return int(kept)  # the same confirmation again
    return int(
        connection.execute(
            text(
                "INSERT INTO data_requests (vendor_id, kind, message_id, state, requested_at,"
                " due_at) VALUES (:vendor, 'erase', :message, 'requested', :now, :now)"
                " RETURNING id"
            ),
            {"vendor": relationship.id, "message": message, "now": now},
        ).scalar_one()
    )


def data_requests(
    connection: Connection, sealer: Sealer, *, vendor_id: int | None = None
) -> list[DataRequestRecord]:
    """Every request (of one vendor, or all), oldest first."""
    if vendor_id is None:
        return _select(connection, sealer, "", {})
    return _select(connection, sealer, "WHERE vendor_id = :vendor", {"vendor": vendor_id})


def overdue_requests(connection: Connection, sealer: Sealer, now: float) -> list[DataRequestRecord]:
    """Requests past their due date with no answer: what the person should know about."""
    return _select(connection, sealer, "WHERE state = 'requested' AND due_at < :now", {"now": now})


def latest_export(
    connection: Connection, sealer: Sealer, vendor_id: int
) -> DataRequestRecord | None:
    """The export that arrived last from a vendor."""
    found = _select(
        connection,
        sealer,
        "WHERE vendor_id = :vendor AND kind = 'export' AND state = 'answered'",
        {"vendor": vendor_id},
    )
    return max(found, key=lambda record: (record.answered_at or 0, record.id), default=None)


def _get(connection: Connection, sealer: Sealer, record_id: int) -> DataRequestRecord:
    return _select(connection, sealer, "WHERE id = :id", {"id": record_id})[0]


_SELECT = (
    "SELECT id, vendor_id, kind, message_id, state, requested_at, due_at, answered_at,"
    " sealed_answer FROM data_requests "
)


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[DataRequestRecord]:
    rows = connection.execute(text(_SELECT + where + " ORDER BY id"), parameters).all()
    return [
        DataRequestRecord(
            id=row.id,
            vendor_id=row.vendor_id,
            kind=row.kind,
            message_id=row.message_id,
            state=row.state,
            requested_at=row.requested_at,
            due_at=row.due_at,
            answered_at=row.answered_at,
            answer=None
            if row.sealed_answer is None
            else sealer.open_text(row.sealed_answer, _place(row.id)),
        )
        for row in rows
    ]


def _place(record_id: int) -> str:
    return f"data_requests/{record_id}"
