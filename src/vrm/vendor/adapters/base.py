"""What a CRM adapter is: something that takes each change the endpoint accepted.

The endpoint keeps every change for every adapter in a durable queue and calls
:meth:`Adapter.deliver` until it succeeds (backoff between attempts, per-customer
order kept), so an adapter only has to do one delivery and say whether a failure
is worth retrying. ``change.event_id`` is stable across retries: a CRM that saw
it already should treat it as done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ChangeKind(StrEnum):
    """What happened to a customer's record."""

    CREATED = "customer.created"
    """A relationship was accepted: a new customer (fields may follow)."""
    UPDATED = "customer.updated"
    """Fields changed: ``fields`` holds their new values (None: the person cleared it)."""
    REVOKED = "customer.revoked"
    """The person withdrew fields: ``fields`` names them (values None); delete them."""
    ENDED = "customer.ended"
    """The person ended the relationship: stop using the customer's data."""
    DELETED = "customer.deleted"
    """The customer's record was erased: delete the customer and all held about them.

    Sent when the person asks for erasure, when they end a relationship whose
    agreement says ``delete_on_end``, and when the vendor erases the record; the
    person is told once every adapter has delivered (or given up on) this change.
    """


@dataclass(frozen=True)
class CustomerChange:
    """One accepted change, as every adapter receives it."""

    event_id: str
    kind: ChangeKind
    customer: str
    """The person's pairwise DID with this vendor: the customer's stable key."""
    occurred_at: float
    fields: dict[str, Any] = field(default_factory=dict)
    """Field path (``address.home``, ``email.primary``…) → value, for the fields concerned."""
    versions: dict[str, int] = field(default_factory=dict)
    """Field path → the version the value is at (grows by one per change)."""
    purpose: str | None = None
    """What the person granted the fields for."""

    def as_json(self) -> dict[str, Any]:
        """The change as a JSON object (the webhook payload's ``data``)."""
        return {
            "event_id": self.event_id,
            "kind": self.kind.value,
            "customer": self.customer,
            "occurred_at": self.occurred_at,
            "fields": self.fields,
            "versions": self.versions,
            "purpose": self.purpose,
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> CustomerChange:
        """The change :meth:`as_json` wrote."""
        return cls(
            event_id=document["event_id"],
            kind=ChangeKind(document["kind"]),
            customer=document["customer"],
            occurred_at=document["occurred_at"],
            fields=dict(document.get("fields") or {}),
            versions=dict(document.get("versions") or {}),
            purpose=document.get("purpose"),
        )


class AdapterError(Exception):
    """A delivery to the CRM failed; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Adapter(Protocol):
    """Forwards accepted changes into one CRM."""

    name: str
    """Unique within an endpoint; names the adapter's queue and its delivery log."""

    async def deliver(self, change: CustomerChange) -> None:
        """Deliver one change; raise :class:`AdapterError` when it did not get through."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
