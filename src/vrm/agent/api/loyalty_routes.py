"""The JSON API of the person's loyalty (under ``/api/loyalty``, bearer token).

Memberships vendors issued, each with the credential as signed; a fresh
presentation of one for its vendor's checkout (the text a QR code carries, valid
two minutes, audited); the loyalty and brand preferences and the vendors they are
shared with (:class:`vrm.agent.loyalty.desk.LoyaltyDesk`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import Field

from vrm.agent.api.routes import Agent, Request_
from vrm.agent.loyalty.desk import LoyaltyDesk
from vrm.agent.loyalty.preferences import BRANDS, LOYALTY, LoyaltyPreferences
from vrm.agent.loyalty.qr import qr_svg

router = APIRouter(prefix="/api/loyalty")
Preference = Annotated[str, Field(max_length=500)]


class PreferencesIn(Request_):
    """The preferences (empty: cleared) and the vendors, by number, that may see them."""

    loyalty: Preference = ""
    brands: Preference = ""
    vendors: Annotated[list[int], Field(default_factory=list, max_length=1000)]


@router.get("", tags=["loyalty"])
def list_memberships(agent: Agent) -> list[dict[str, Any]]:
    """Every membership, the latest received first, with its state and credential."""
    return [record.as_json() for record in LoyaltyDesk(agent).memberships()]


@router.get("/preferences", tags=["loyalty"])
def preferences(agent: Agent) -> dict[str, Any]:
    """The loyalty and brand preferences, and each vendor that may or may not see them."""
    return _preferences_json(LoyaltyDesk(agent).preferences())


@router.put("/preferences", tags=["loyalty"])
def share_preferences(body: PreferencesIn, agent: Agent) -> dict[str, Any]:
    """Set the preferences and share them with these vendors alone (grants made and revoked)."""
    shared = LoyaltyDesk(agent).share_preferences(
        {LOYALTY: body.loyalty, BRANDS: body.brands}, body.vendors, changed_by="api"
    )
    return _preferences_json(shared)


@router.get("/{number}", tags=["loyalty"])
def show_membership(number: int, agent: Agent) -> dict[str, Any]:
    """One membership."""
    return LoyaltyDesk(agent).membership(number).as_json()


@router.post("/{number}/presentation", tags=["loyalty"])
def present(number: int, agent: Agent, qr: bool = False) -> Any:
    """A fresh code to show at the vendor's checkout: the text a QR code carries; audited.

    Valid two minutes; ``?qr=true`` answers the QR code itself (SVG). ``409`` when the
    vendor revoked the membership or it has expired.
    """
    shown = LoyaltyDesk(agent).present(number, to="api")
    if qr:
        return Response(qr_svg(shown.text), media_type="image/svg+xml")
    return shown.as_json()


def _preferences_json(found: LoyaltyPreferences) -> dict[str, Any]:
    return {
        "loyalty": found.values[LOYALTY],
        "brands": found.values[BRANDS],
        "vendors": [
            {
                "id": choice.relationship.id,
                "name": choice.relationship.vendor.name,
                "shared": choice.shared,
                "fields": list(choice.fields),
            }
            for choice in found.vendors
        ],
    }
