"""Health records presented to doctors: what went to whom, until when, and what became of it.

A presentation is kept with its records (which ones, of what kinds, in a line each
as they read then) and its purpose, sealed; its id, the vendor, the times and the
state stay in clear. The state is ``active`` until the person withdraws it
(``withdrawn``), its grant ends (``expired``) or the relationship ends (``ended``);
read at a given time, one past its end or over an ended relationship is shown so
even before housekeeping records it. The doctor's signed ``health.deleted`` is kept
sealed as it arrived, with when and why the doctor deleted the records. Each
function works in the caller's transaction; the audit entries are written here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import NotFound
from vrm.agent.health.store import HealthResource
from vrm.agent.relationships.service import Relationship, get_relationships
from vrm.protocol import HealthDeleted, Message, PartyState, ProtocolError, RefusalCode
from vrm.protocol.v1.health import rfc3339
from vrm.vault import Sealer

ACTIVE = "active"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"
ENDED = "ended"
STATES = (ACTIVE, WITHDRAWN, EXPIRED, ENDED)


@dataclass(frozen=True)
class PresentedRecord:
    """One record as it was presented: its number here, its type and what it said."""

    id: int
    resource_type: str
    kind: str
    line: str


@dataclass(frozen=True)
class Presentation:
    """Records presented to a doctor, and what became of them, as read at one time."""

    id: int
    presentation: str
    """The id it carries, the same in its withdrawal and the doctor's confirmation."""
    vendor_id: int
    vendor_name: str
    message_id: str
    records: tuple[PresentedRecord, ...]
    purpose: str
    created_at: float
    valid_until: float
    state: str
    """``active``, ``withdrawn``, ``expired`` or ``ended``, at the time it was read."""
    ended_at: float | None
    deleted_at: float | None
    """When the doctor deleted the records, by its signed word; None until it said so."""
    deleted_because: str | None
    confirmation: str | None
    """The doctor's signed ``health.deleted`` (compact JWS), as it arrived."""

    @property
    def deletion_confirmed(self) -> bool:
        """True once the doctor confirmed deleting the records."""
        return self.deleted_at is not None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "presentation": self.presentation,
            "vendor_id": self.vendor_id,
            "vendor": self.vendor_name,
            "message_id": self.message_id,
            "records": [record.__dict__ for record in self.records],
            "purpose": self.purpose,
            "created_at": self.created_at,
            "valid_until": rfc3339(self.valid_until),
            "state": self.state,
            "ended_at": self.ended_at,
            "deletion_confirmed": self.deletion_confirmed,
            "deleted_at": self.deleted_at,
            "deleted_because": self.deleted_because,
        }


def record(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    presentation: str,
    message_id: str,
    resources: Sequence[HealthResource],
    purpose: str,
    valid_until: float,
    now: float,
) -> int:
    """Keep a presentation just queued, and write its ``health.presented`` entry; its number."""
    presented = [
        {
            "id": resource.id,
            "resource_type": resource.resource_type,
            "kind": resource.summary.kind,
            "line": resource.summary.line(),
        }
        for resource in resources
    ]
    details = json.dumps({"records": presented, "purpose": purpose}, ensure_ascii=False)
    number = int(
        connection.execute(
            text(
                "INSERT INTO health_presentations (vendor_id, presentation, message_id,"
                " sealed_details, created_at, valid_until, state) VALUES (:vendor, :presentation,"
                " :message, :sealed, :now, :until, 'active') RETURNING id"
            ),
            {
                "vendor": relationship.id,
                "presentation": presentation,
                "message": message_id,
                "sealed": sealer.seal_text(details, _place(presentation)),
                "now": now,
                "until": valid_until,
            },
        ).scalar_one()
    )
    audit.append(
        connection,
        sealer,
        kind="health.presented",
        details={
            "vendor": relationship.id,
            "presentation": number,
            "ids": [resource.id for resource in resources],
            "types": [resource.resource_type for resource in resources],
            "until": rfc3339(valid_until),
            "purpose": purpose,
            "message": message_id,
        },
        now=now,
    )
    return number


def presentations(
    connection: Connection, sealer: Sealer, *, now: float, number: int | None = None
) -> list[Presentation]:
    """Every presentation, newest first (or only the one numbered ``number``), read at ``now``."""
    rows = connection.execute(
        text(
            "SELECT id, vendor_id, presentation, message_id, sealed_details, created_at,"
            " valid_until, state, ended_at, deleted_at, deleted_because, sealed_confirmation"
            " FROM health_presentations WHERE :id IS NULL OR id = :id ORDER BY id DESC"
        ),
        {"id": number},
    ).all()
    vendors = get_relationships(connection, sealer, {row.vendor_id for row in rows})
    return [_opened(sealer, row, vendors[row.vendor_id], now) for row in rows]


def get(connection: Connection, sealer: Sealer, number: int, *, now: float) -> Presentation:
    """The presentation with this number.

    Raises:
        NotFound: there is none.
    """
    found = presentations(connection, sealer, now=now, number=number)
    if not found:
        raise NotFound(f"no health presentation {number}")
    return found[0]


def close(
    connection: Connection,
    sealer: Sealer,
    presentation: Presentation,
    *,
    state: str,
    now: float,
    withdrawal: str | None = None,
) -> None:
    """Record that an active presentation ended (``withdrawn``, ``expired`` or ``ended``).

    ``withdrawal`` is the ``health.withdraw`` queued for it, if one was; it is audited
    as ``health.withdrawn``.
    """
    connection.execute(
        text(
            "UPDATE health_presentations SET state = :state, ended_at = :now,"
            " withdraw_message_id = :withdrawal WHERE id = :id AND state = 'active'"
        ),
        {"state": state, "now": now, "withdrawal": withdrawal, "id": presentation.id},
    )
    if withdrawal is not None:
        audit.append(
            connection,
            sealer,
            kind="health.withdrawn",
            details={
                "vendor": presentation.vendor_id,
                "presentation": presentation.id,
                "reason": "revoked" if state == WITHDRAWN else state,
                "message": withdrawal,
            },
            now=now,
        )


def take_deletion(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    message: Message,
    now: float,
) -> None:
    """Keep the doctor's signed confirmation that a presentation's records are deleted.

    The first confirmation is kept; another changes nothing. An active presentation
    the doctor deleted by itself (its grant ended, or the relationship did) ends so.
    The caller has checked that the sender is the relationship's vendor.

    Raises:
        ProtocolError: ``invalid_body`` when no presentation with that id was made to
            this vendor.
    """
    body = message.body
    assert isinstance(body, HealthDeleted)  # noqa: S101 - the caller dispatches by type
    row = connection.execute(
        text(
            "SELECT id, state, deleted_at FROM health_presentations"
            " WHERE presentation = :presentation AND vendor_id = :vendor"
        ),
        {"presentation": body.presentation, "vendor": relationship.id},
    ).one_or_none()
    if row is None:
        raise ProtocolError(
            RefusalCode.INVALID_BODY, f"no presentation {body.presentation} was made to you"
        )
    if row.deleted_at is not None:
        return
    ended = {"revoked": WITHDRAWN, "expired": EXPIRED}.get(body.reason, ENDED)
    connection.execute(
        text(
            "UPDATE health_presentations SET deleted_at = :deleted, deleted_because = :reason,"
            " sealed_confirmation = :sealed, state = CASE WHEN state = 'active' THEN :ended"
            " ELSE state END, ended_at = coalesce(ended_at, :now) WHERE id = :id"
        ),
        {
            "deleted": float(body.deleted_time),
            "reason": body.reason,
            "sealed": sealer.seal_text(message.compact, _place(body.presentation) + "/deleted"),
            "ended": ended,
            "now": now,
            "id": row.id,
        },
    )
    audit.append(
        connection,
        sealer,
        kind="health.deleted",
        details={
            "vendor": relationship.id,
            "presentation": row.id,
            "reason": body.reason,
            "message": message.id,
        },
        now=now,
    )


def due_to_end(connection: Connection, sealer: Sealer, *, now: float) -> list[Presentation]:
    """Active presentations whose grant has ended, or whose relationship ended, oldest first."""
    rows = connection.execute(
        text(
            "SELECT p.id FROM health_presentations p JOIN vendors v ON v.id = p.vendor_id"
            " WHERE p.state = 'active' AND (p.valid_until <= :now OR v.person_state = 'ended'"
            " OR v.vendor_state = 'ended') ORDER BY p.id"
        ),
        {"now": now},
    ).scalars()
    return [get(connection, sealer, number, now=now) for number in rows]


def _opened(sealer: Sealer, row: Any, relationship: Relationship, now: float) -> Presentation:
    details = json.loads(sealer.open_text(row.sealed_details, _place(row.presentation)))
    confirmation = (
        sealer.open_text(row.sealed_confirmation, _place(row.presentation) + "/deleted")
        if row.sealed_confirmation is not None
        else None
    )
    return Presentation(
        id=row.id,
        presentation=row.presentation,
        vendor_id=row.vendor_id,
        vendor_name=relationship.vendor.name,
        message_id=row.message_id,
        records=tuple(PresentedRecord(**presented) for presented in details["records"]),
        purpose=details["purpose"],
        created_at=row.created_at,
        valid_until=row.valid_until,
        state=_state_at(row.state, row.valid_until, relationship, now),
        ended_at=row.ended_at,
        deleted_at=row.deleted_at,
        deleted_because=row.deleted_because,
        confirmation=confirmation,
    )


def _state_at(stored: str, valid_until: float, relationship: Relationship, now: float) -> str:
    """The state as it stands at ``now``, before housekeeping has recorded an end."""
    if stored != ACTIVE:
        return stored
    if PartyState.ENDED in (relationship.person_state, relationship.vendor_state):
        return ENDED
    return EXPIRED if now >= valid_until else ACTIVE


def _place(presentation: str) -> str:
    return f"health_presentations/{presentation}"
