"""Where one profile change went: the vendors sent the new value, and how each delivery stands.

A change and the ``profile.update`` messages it causes are written in one
transaction, with one time (:mod:`vrm.agent.disclosure`). The deliveries of a
change are the ``profile.update`` messages written at that time that carry the
field at the changed version; several fields changed together (a vCard import)
travel in the same messages, and each field's change finds them. Vendors granted
the field whose relationship is on hold are listed with the reason they are not
sent anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from vrm.agent.errors import NotFound
from vrm.agent.grants.service import active_grants_of_field
from vrm.agent.outbox.store import DELIVERED, FAILED, DeliveryStatus, written_at
from vrm.agent.profile.service import FieldVersion, field_history
from vrm.agent.relationships.service import Relationship, get_relationships
from vrm.protocol import PROFILE_UPDATE
from vrm.vault import Sealer


@dataclass(frozen=True)
class VendorDelivery:
    """One vendor's copy of a change, and how its delivery stands."""

    vendor_id: int
    vendor: str
    delivery: DeliveryStatus

    @property
    def settled(self) -> bool:
        """True once delivered or failed: nothing more happens by itself."""
        return self.delivery.state in (DELIVERED, FAILED)


@dataclass(frozen=True)
class HeldVendor:
    """A vendor granted the field that is sent nothing while its relationship is on hold."""

    vendor_id: int
    vendor: str
    reason: str


@dataclass(frozen=True)
class Propagation:
    """One change of one field, the deliveries it queued, and the vendors on hold."""

    change: FieldVersion
    deliveries: list[VendorDelivery]
    held: list[HeldVendor]

    @property
    def settled(self) -> bool:
        """True when every delivery is delivered or failed (also when there are none)."""
        return all(delivery.settled for delivery in self.deliveries)


def propagation(
    connection: Connection, sealer: Sealer, *, path: str, version: int, today: dt.date
) -> Propagation:
    """Where version ``version`` of ``path`` went, vendor by vendor, sorted by name.

    Raises:
        InvalidField: ``path`` names no field.
        NotFound: the field has no such version.
    """
    history = field_history(connection, sealer, path=path)
    change = next((v for v in history if v.version == version), None)
    if change is None:
        raise NotFound(f"{path} has no version {version}")
    messages = written_at(connection, sealer, type=PROFILE_UPDATE, created_at=change.changed_at)
    sent = [
        (status.vendor_id, status)
        for status, body in messages
        if status.vendor_id is not None and _carries(body, path, version)
    ]
    granted = active_grants_of_field(connection, sealer, path, today=today)
    sent_to = {vendor_id for vendor_id, _ in sent}
    relationships = get_relationships(
        connection, sealer, [*sent_to, *(grant.vendor_id for grant in granted)]
    )
    deliveries = [
        VendorDelivery(vendor_id, _name(relationships, vendor_id), status)
        for vendor_id, status in sent
    ]
    held = []
    for grant in granted:
        relationship = relationships.get(grant.vendor_id)
        if relationship is None or grant.vendor_id in sent_to:
            continue
        reason = relationship.held_because
        if reason is not None:
            held.append(HeldVendor(relationship.id, relationship.vendor.name, reason))
    return Propagation(
        change=change,
        deliveries=sorted(deliveries, key=lambda d: (d.vendor.casefold(), d.vendor_id)),
        held=sorted(held, key=lambda h: (h.vendor.casefold(), h.vendor_id)),
    )


def _carries(body: dict[str, Any], path: str, version: int) -> bool:
    return any(
        field.get("path") == path and field.get("version") == version
        for field in body.get("fields") or []
        if isinstance(field, dict)
    )


def _name(relationships: dict[int, Relationship], vendor_id: int) -> str:
    relationship = relationships.get(vendor_id)
    return relationship.vendor.name if relationship is not None else f"vendor {vendor_id}"
