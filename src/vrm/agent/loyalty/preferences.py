"""Loyalty and brand preferences: two profile fields, and the vendors granted them.

No mechanism of their own: ``preference.loyalty`` (what the person wants from a
loyalty programme) and ``preference.brands`` (the brands they favour) are profile
fields, kept sealed with their history, and a vendor sees them only under a grant
— so the vendors chosen get them by the usual ``profile.update``, every change
after, and a ``profile.revoke`` when no longer chosen; nobody else gets them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from vrm.agent.grants.service import GrantRecord
from vrm.agent.relationships.service import Relationship
from vrm.protocol import PartyState

LOYALTY = "preference.loyalty"
BRANDS = "preference.brands"
FIELDS = (LOYALTY, BRANDS)
PURPOSE = "loyalty and brand preferences"
"""The purpose of the grants made from the Loyalty page."""


@dataclass(frozen=True)
class VendorChoice:
    """A vendor the person may share their preferences with, and whether they do."""

    relationship: Relationship
    fields: tuple[str, ...]
    """The preference fields this vendor holds an active grant of."""

    @property
    def shared(self) -> bool:
        """True when the vendor is granted any of the preferences."""
        return bool(self.fields)


@dataclass(frozen=True)
class LoyaltyPreferences:
    """The two preferences' values and, per vendor, whether it may see them."""

    values: dict[str, str | None]
    vendors: list[VendorChoice]

    def shared_with(self) -> list[Relationship]:
        """The vendors granted the preferences."""
        return [choice.relationship for choice in self.vendors if choice.shared]


def preferences_of(
    profile: Mapping[str, object],
    relationships: Iterable[Relationship],
    grants: Iterable[tuple[Relationship, GrantRecord]],
    *,
    today: dt.date,
) -> LoyaltyPreferences:
    """The preferences from the profile, and a choice per relationship the person has not ended."""
    active: dict[int, set[str]] = {}
    for relationship, grant in grants:
        if grant.path in FIELDS and grant.active_on(today):
            active.setdefault(relationship.id, set()).add(grant.path)
    values = {path: _text(profile.get(path)) for path in FIELDS}
    choices = [
        VendorChoice(r, tuple(sorted(active.get(r.id, ()))))
        for r in relationships
        if r.person_state != PartyState.ENDED
    ]
    return LoyaltyPreferences(values, choices)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
