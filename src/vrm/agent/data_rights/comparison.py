"""What a vendor's export shows: its data on the person next to what the person sent.

"Mine too": the person sees every field the vendor holds and where it came from —
sent by the person at that version, different from what the person sent, or never
sent by the person at all — and everything the vendor recorded on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vrm.protocol import DataExport

SENT = "sent by you"
DIFFERENT = "differs from what you sent"
NOT_FROM_YOU = "not sent by you"
ADDED_BY_VENDOR = "added by the vendor"


@dataclass(frozen=True)
class HeldItem:
    """One thing the vendor holds, and where it came from."""

    name: str
    value: Any
    origin: str
    version: int | None = None


@dataclass(frozen=True)
class ExportComparison:
    """The vendor's export, item by item, against what the person sent it."""

    items: list[HeldItem]
    history_entries: int
    systems: dict[str, int] = field(default_factory=dict)
    """Where the person's data went inside the vendor: system → changes passed on."""
    truncated: bool = False

    @property
    def not_from_person(self) -> list[HeldItem]:
        """What the vendor holds that the person never sent."""
        return [item for item in self.items if item.origin != SENT]

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "items": [item.__dict__ for item in self.items],
            "not_from_you": len(self.not_from_person),
            "history_entries": self.history_entries,
            "systems": self.systems,
            "truncated": self.truncated,
        }


def compare(export: DataExport, sent_updates: list[dict[str, Any]]) -> ExportComparison:
    """Compare ``export`` with the ``profile.update`` bodies the person sent the vendor."""
    sent: dict[tuple[str, int], Any] = {}
    for body in sent_updates:
        for value in body.get("fields", []):
            sent[(value["path"], value["version"])] = value.get("value")
    items = []
    for held in export.fields:
        key = (held.path, held.version)
        origin = NOT_FROM_YOU if key not in sent else SENT if sent[key] == held.value else DIFFERENT
        items.append(HeldItem(held.path, held.value, origin, held.version))
    items += [
        HeldItem(name, value, ADDED_BY_VENDOR) for name, value in sorted(export.vendor_data.items())
    ]
    systems: dict[str, int] = {}
    for delivery in export.deliveries:
        systems[delivery.system] = systems.get(delivery.system, 0) + 1
    return ExportComparison(items, len(export.history), systems, export.truncated)
