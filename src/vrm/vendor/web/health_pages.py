"""The doctor's view: the health records a customer presents now, in words, with the time left.

Only presentations whose grant still runs are shown (:meth:`HealthPresentations.held`);
one withdrawn, ended or past its end is gone from the endpoint, and from this page.
Each record is read as a person reads it (:func:`vrm.health.summary.summarise`), by
kind, with the FHIR JSON behind it for the doctor's own systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from vrm.health.summary import Summary, summarise
from vrm.vendor.endpoint import VendorEndpoint
from vrm.vendor.health import Presentation
from vrm.vendor.web.reading import short_did
from vrm.web.sessions import Session
from vrm.web.site import Site

CUSTOMERS = "/console/customers"
KINDS = {
    "patient": "Patient",
    "condition": "Conditions",
    "allergy": "Allergies",
    "medication": "Medicines",
    "prescription": "Medicines",
    "immunisation": "Immunisations",
    "observation": "Observations",
}


@dataclass(frozen=True)
class ShownRecord:
    """One presented record: what it says in words, and the resource behind it."""

    summary: Summary
    resource: dict[str, Any]


@dataclass(frozen=True)
class ShownPresentation:
    """A presentation as the page shows it: grouped records and the time left in words."""

    presentation: Presentation
    groups: list[tuple[str, list[ShownRecord]]]
    time_left: str


def health_routes(*, site: Site, endpoint: VendorEndpoint) -> APIRouter:
    """GET a customer's presented health records."""
    router = APIRouter(include_in_schema=False)

    @router.get(CUSTOMERS + "/{did}/health")
    def presented_page(did: str, session: Session = Depends(site.signed_in)) -> Response:  # noqa: B008
        held = endpoint.health.held(did)
        now = endpoint.health.clock()
        return site.pages.render(
            "health.html",
            session=session,
            current="customers",
            did=did,
            short=short_did(did),
            presentations=[shown(presentation, now) for presentation in held],
        )

    return router


def shown(presentation: Presentation, now: float) -> ShownPresentation:
    """The presentation's records by kind, in the order kinds are read, and the time left."""
    groups: dict[str, list[ShownRecord]] = {}
    for resource in presentation.resources:
        summary = summarise(resource)
        title = KINDS.get(summary.kind, "Other records")
        groups.setdefault(title, []).append(ShownRecord(summary, resource))
    order = [*dict.fromkeys(KINDS.values()), "Other records"]
    ordered = [(title, groups[title]) for title in order if title in groups]
    return ShownPresentation(presentation, ordered, time_left(presentation.seconds_left(now)))


def time_left(seconds: float) -> str:
    """``3 days 4 hours left``, ``2 hours 5 minutes left``, ``under a minute left``."""
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    said = [f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in parts if count]
    return (" ".join(said) or "under a minute") + " left"
