"""What the Vendors pages show: every relationship as its pair of r-buttons, and one vendor in full.

Read from the agent's own services; no web framework here. Each r-button is shown
with a mark, a state class for its look, and words, so a state never rests on
colour alone.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from vrm.agent.agreements.service import (
    ACTIVE,
    ALTERNATIVE,
    PROFFERED,
    REJECTED,
    AgreementRecord,
)
from vrm.agent.data_rights.comparison import SENT
from vrm.agent.data_rights.service import ERASE, DataRequestRecord
from vrm.agent.errors import AgentError, NotFound
from vrm.agent.grants.service import GrantRecord
from vrm.agent.outbox.store import DELIVERED, FAILED, PENDING, DeliveryStatus
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import UNKNOWN, Relationship
from vrm.protocol import PartyState, ProtocolError

DELIVERIES_SHOWN = 20
"""How many of a vendor's latest deliveries its page lists."""


@dataclass(frozen=True)
class Side:
    """One side's r-button as shown: the look (a CSS state), a mark, and the words."""

    look: str
    mark: str
    words: str


PERSON_SIDES: dict[str, Side] = {
    PartyState.WANTS: Side("on", "●", "want it"),
    PartyState.PAUSED: Side("paused", "‖", "paused"),
    PartyState.ENDED: Side("off", "■", "ended"),
}
VENDOR_SIDES: dict[str, Side] = {
    UNKNOWN: Side("pending", "…", "pending: no answer yet"),
    PartyState.ACCEPTED: Side("on", "●", "accepted"),
    PartyState.REFUSED: Side("off", "✕", "refused"),
    PartyState.ENDED: Side("off", "■", "ended"),
}


TERMS_SAID = {
    ACTIVE: "agreed",
    PROFFERED: "proffered, waiting for the vendor's answer",
    ALTERNATIVE: "the vendor answered with other terms: yours to accept or decline",
    REJECTED: "rejected",
}
"""The state of a vendor's terms, in words, as the list shows it."""


@dataclass(frozen=True)
class RButtons:
    """A relationship's two r-buttons, and what the person's button can do now."""

    vendor_id: int
    name: str
    person: Side
    vendor: Side
    can_pause: bool
    can_resume: bool
    can_end: bool
    joined: bool
    """Both sides are pressed: the person wants it and the vendor accepted."""
    held_because: str | None
    """Why granted data is not flowing; None while it flows."""


def r_buttons(relationship: Relationship) -> RButtons:
    """The pair of r-buttons of ``relationship``."""
    person = relationship.person_state
    return RButtons(
        vendor_id=relationship.id,
        name=relationship.vendor.name,
        person=PERSON_SIDES.get(person, Side("off", "?", person)),
        vendor=VENDOR_SIDES.get(
            relationship.vendor_state, Side("off", "?", relationship.vendor_state)
        ),
        can_pause=person == PartyState.WANTS,
        can_resume=person == PartyState.PAUSED,
        can_end=person != PartyState.ENDED,
        joined=person == PartyState.WANTS and relationship.vendor_state == PartyState.ACCEPTED,
        held_because=relationship.held_because,
    )


@dataclass(frozen=True)
class VendorRow:
    """One relationship in the list."""

    id: int
    name: str
    url: str
    buttons: RButtons
    deliveries: dict[str, int]
    """How many messages are pending, delivered and failed."""
    terms: str | None
    terms_said: str | None
    """How the terms stand, in words (agreed, proffered, …)."""
    waiting: bool
    """The vendor answered with other terms and waits for the person's answer."""
    overdue: bool
    """An export or erasure request went unanswered past its due date."""


def vendor_rows(agent: PersonalAgent) -> list[VendorRow]:
    """Every relationship, open ones first, each oldest first."""
    counts = agent.delivery_counts()
    terms = _terms_by_vendor(agent.agreements())
    overdue = {request.vendor_id for request in agent.overdue_requests()}
    relationships = sorted(
        agent.vendors(), key=lambda r: (r.person_state == PartyState.ENDED, r.id)
    )
    rows = []
    for relationship in relationships:
        done = counts.get(relationship.id, {})
        record = terms.get(relationship.id)
        rows.append(
            VendorRow(
                id=relationship.id,
                name=relationship.vendor.name,
                url=relationship.vendor.url,
                buttons=r_buttons(relationship),
                deliveries={state: done.get(state, 0) for state in (DELIVERED, PENDING, FAILED)},
                terms=None if record is None else record.terms.name,
                terms_said=None if record is None else TERMS_SAID.get(record.state, record.state),
                waiting=record is not None and record.state == ALTERNATIVE,
                overdue=relationship.id in overdue,
            )
        )
    return rows


def _terms_by_vendor(records: list[AgreementRecord]) -> dict[int, AgreementRecord]:
    """Per vendor, the agreement in force, else its newest proffer or alternative."""
    found: dict[int, AgreementRecord] = {}
    for record in records:
        current = found.get(record.vendor_id)
        if current is None or current.state != ACTIVE or record.state == ACTIVE:
            found[record.vendor_id] = record
    return found


@dataclass(frozen=True)
class GrantRow:
    """One field granted to the vendor, and whether it is sent."""

    path: str
    purpose: str
    since: float
    until: str | None
    state: str
    """``active`` (sent while it lasts), ``held``, ``revoked`` or ``expired``."""
    held_because: str | None
    revoked_at: float | None


@dataclass(frozen=True)
class DeliveryRow:
    """One message to the vendor, as the person sees it."""

    id: int
    type: str
    state: str
    attempts: int
    at: float
    why: str


@dataclass(frozen=True)
class RequestRow:
    """One export or erasure request and how it stands."""

    id: int
    kind: str
    asked: str
    state: str
    requested_at: float
    due_at: float
    answered_at: float | None
    overdue: bool


@dataclass(frozen=True)
class HeldRow:
    """One thing the vendor's export says it holds, next to the person's own value."""

    name: str
    value: str
    origin: str
    sent: bool
    yours: str | None


@dataclass(frozen=True)
class ExportView:
    """The vendor's latest signed export, item by item."""

    generated_time: float
    items: list[HeldRow]
    not_from_you: int
    history_entries: int
    systems: list[tuple[str, int]]
    truncated: bool


@dataclass(frozen=True)
class VendorView:
    """Everything the page of one vendor shows."""

    relationship: Relationship
    buttons: RButtons
    agreed: AgreementRecord | None
    proffered: list[AgreementRecord]
    alternatives: list[AgreementRecord]
    grants: list[GrantRow]
    past_grants: list[GrantRow]
    fields: list[str]
    """The profile's fields, for the grant form."""
    deliveries: list[DeliveryRow]
    requests: list[RequestRow]
    export: ExportView | None
    export_problem: str | None
    """Why an export that arrived cannot be shown (it no longer verifies)."""
    holds_data: bool
    """The vendor accepted at some point, so it may hold something to export or erase."""
    deletes_on_end: bool
    """The agreement in force asks the vendor to erase the record when the relationship ends."""
    today: str


def vendor_view(agent: PersonalAgent, vendor_id: int) -> VendorView:
    """The page of vendor ``vendor_id``.

    Raises:
        NotFound: there is no such vendor.
    """
    reference = str(vendor_id)
    relationship = agent.vendor(reference)
    now = agent.clock()
    today = dt.datetime.fromtimestamp(now).date()
    records = agent.agreements(reference)
    agreed = next((r for r in reversed(records) if r.state == ACTIVE), None)
    grants = [_grant_row(grant, relationship, today) for _, grant in agent.grants(reference)]
    profile = agent.profile()
    export, problem = _export(agent, reference, profile)
    return VendorView(
        relationship=relationship,
        buttons=r_buttons(relationship),
        agreed=agreed,
        proffered=[r for r in records if r.state == PROFFERED],
        alternatives=[r for r in records if r.state == ALTERNATIVE],
        grants=[row for row in grants if row.state in ("active", "held")],
        past_grants=[row for row in grants if row.state not in ("active", "held")],
        fields=sorted(profile),
        deliveries=[
            _delivery_row(d) for d in agent.deliveries(vendor=reference, limit=DELIVERIES_SHOWN)
        ],
        requests=[_request_row(r, now) for r in reversed(agent.data_requests(reference))],
        export=export,
        export_problem=problem,
        holds_data=relationship.vendor_state in (PartyState.ACCEPTED, PartyState.ENDED),
        deletes_on_end=agreed is not None and bool(agreed.terms.obligations().delete_on_end),
        today=today.isoformat(),
    )


def _grant_row(grant: GrantRecord, relationship: Relationship, today: dt.date) -> GrantRow:
    if grant.active_on(today):
        state = "active" if relationship.active else "held"
    else:
        state = "revoked" if grant.revoked_at is not None else "expired"
    return GrantRow(
        path=grant.path,
        purpose=grant.purpose,
        since=grant.created_at,
        until=grant.until,
        state=state,
        held_because=relationship.held_because if state == "held" else None,
        revoked_at=grant.revoked_at,
    )


def _delivery_row(delivery: DeliveryStatus) -> DeliveryRow:
    why = ""
    if delivery.state != DELIVERED:
        why = delivery.last_code or delivery.error or ""
        if not why and delivery.last_status:
            why = f"answered {delivery.last_status}"
    return DeliveryRow(
        id=delivery.id,
        type=delivery.type.removeprefix("vrm/1/"),
        state=delivery.state,
        attempts=delivery.attempts,
        at=delivery.delivered_at or delivery.next_attempt_at or delivery.created_at,
        why=why,
    )


def _request_row(request: DataRequestRecord, now: float) -> RequestRow:
    erase = request.kind == ERASE
    return RequestRow(
        id=request.id,
        kind=request.kind,
        asked="erasure" if erase else "a copy of your data",
        state=request.state,
        requested_at=request.requested_at,
        due_at=request.due_at,
        answered_at=request.answered_at,
        overdue=request.overdue(now),
    )


def _export(
    agent: PersonalAgent, reference: str, profile: dict[str, Any]
) -> tuple[ExportView | None, str | None]:
    """The latest export compared with what the person sent and holds; or why it cannot be."""
    try:
        _, exported, comparison = agent.vendor_export(reference)
    except NotFound:
        return None, None
    except (AgentError, ProtocolError) as exc:
        return None, f"The export that arrived no longer verifies ({exc}), so it is not shown."
    items = [
        HeldRow(
            name=item.name,
            value=_shown(item.value),
            origin=item.origin,
            sent=item.origin == SENT,
            yours=_shown(profile[item.name]) if item.name in profile else None,
        )
        for item in comparison.items
    ]
    return (
        ExportView(
            generated_time=exported.generated_time,
            items=items,
            not_from_you=len(comparison.not_from_person),
            history_entries=comparison.history_entries,
            systems=sorted(comparison.systems.items()),
            truncated=comparison.truncated,
        ),
        None,
    )


def _shown(value: Any) -> str:
    """A value as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
