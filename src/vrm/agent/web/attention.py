"""What the Home page shows: what needs the person's attention, and what changed.

Read from the agent's own services; no web framework here, so the same summary
can serve another view (the CLI, a JSON route) later.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from vrm.agent.audit import service as audit
from vrm.agent.audit.described import describe
from vrm.agent.data_rights.service import ERASE, REQUESTED
from vrm.agent.intents.desk import IntentDesk
from vrm.agent.intents.service import LIVE, RECEIVED
from vrm.agent.outbox.store import FAILED
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.records.reminders import Reminder
from vrm.agent.relationships.service import Relationship

CHANGES_SHOWN = 10


@dataclass(frozen=True)
class HeldGrants:
    """Fields granted to a vendor that are not being sent, and why."""

    vendor_id: int
    vendor: str
    fields: list[str]
    reason: str


@dataclass(frozen=True)
class FailedDelivery:
    """A message that will not be delivered unless the person retries it."""

    id: int
    to: str
    type: str
    created_at: float
    reason: str


@dataclass(frozen=True)
class OpenOffer:
    """An offer received for a live intent and not yet taken or declined."""

    id: int
    intent_id: int
    wanted: str
    seller: str
    name: str
    total: float
    currency: str
    received_at: float
    known_vendor: bool


@dataclass(frozen=True)
class PendingErasure:
    """An erasure request the vendor has not confirmed yet."""

    id: int
    vendor: str
    requested_at: float
    due_at: float
    overdue: bool


@dataclass(frozen=True)
class Change:
    """One entry of the audit log, in words."""

    seq: int
    at: float
    kind: str
    summary: str


@dataclass(frozen=True)
class Attention:
    """Everything the Home page lists."""

    held: list[HeldGrants]
    failed: list[FailedDelivery]
    offers: list[OpenOffer]
    erasures: list[PendingErasure]
    changes: list[Change]
    reminders: list[Reminder]
    """Warranties ending and subscriptions renewing in the coming weeks."""

    @property
    def nothing_to_do(self) -> bool:
        """True when nothing needs the person."""
        return not (self.held or self.failed or self.offers or self.erasures or self.reminders)


def attention(agent: PersonalAgent, desk: IntentDesk, *, changes: int = CHANGES_SHOWN) -> Attention:
    """What needs attention now, and the latest ``changes`` audit entries, newest first."""
    relationships = agent.vendors()
    names = {r.id: r.vendor.name for r in relationships}
    return Attention(
        held=_held(agent, relationships),
        failed=[
            FailedDelivery(
                id=d.id,
                to=names.get(d.vendor_id, "vendor") if d.vendor_id else "the exchange",
                type=d.type.removeprefix("vrm/1/"),
                created_at=d.created_at,
                reason=d.error
                or d.last_code
                or (f"answered {d.last_status}" if d.last_status else "no reason recorded"),
            )
            for d in agent.deliveries(state=FAILED, limit=50)
        ],
        offers=_open_offers(desk),
        erasures=[
            PendingErasure(
                id=r.id,
                vendor=names.get(r.vendor_id, "vendor"),
                requested_at=r.requested_at,
                due_at=r.due_at,
                overdue=r.overdue(agent.clock()),
            )
            for r in agent.data_requests()
            if r.kind == ERASE and r.state == REQUESTED
        ],
        changes=_changes(agent, names, changes),
        reminders=agent.reminders(),
    )


def _held(agent: PersonalAgent, relationships: list[Relationship]) -> list[HeldGrants]:
    """The active grants of the relationships that hold them back (only theirs are read)."""
    today = dt.datetime.fromtimestamp(agent.clock()).date()
    held = []
    for relationship in relationships:
        reason = relationship.held_because
        if reason is None:
            continue
        fields = [
            grant.path for _, grant in agent.grants(str(relationship.id)) if grant.active_on(today)
        ]
        if fields:
            held.append(HeldGrants(relationship.id, relationship.vendor.name, fields, reason))
    return held


def _open_offers(desk: IntentDesk) -> list[OpenOffer]:
    found = []
    for intent in desk.intents():
        if intent.state != LIVE:
            continue
        demand = intent.intent.demand
        for row in desk.compare(intent.id):
            if row.offer.state != RECEIVED:
                continue
            body = row.offer.body
            found.append(
                OpenOffer(
                    id=row.offer.id,
                    intent_id=intent.id,
                    wanted=demand.description or demand.category,
                    seller=body.seller.name,
                    name=body.offer.name,
                    total=row.total,
                    currency=body.offer.priceCurrency,
                    received_at=row.offer.received_at,
                    known_vendor=row.known_vendor is not None,
                )
            )
    return found


def _changes(agent: PersonalAgent, names: dict[int, str], count: int) -> list[Change]:
    with agent.engine.connect() as connection:
        latest = audit.latest(connection, agent.sealer, limit=count)
    return [Change(e.seq, e.at, e.kind, describe(e, names)) for e in latest]
