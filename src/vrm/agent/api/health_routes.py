"""The JSON API for the person's health records (under ``/api/health``, bearer token).

FHIR Bundles imported (all of a Bundle or nothing: an invalid one is answered 422
with problem+json naming what is wrong and where), the records listed, shown and
exported as a Bundle of type ``collection``, and presented to doctors under
time-limited grants (:class:`vrm.agent.health.desk.HealthDesk`), withdrawn, listed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from vrm.agent.api.routes import Agent
from vrm.agent.health.desk import MAX_PURPOSE, HealthDesk

router = APIRouter(prefix="/api/health")

MAX_BUNDLE_BYTES = 20 * 1024 * 1024
"""The largest Bundle taken: years of one person's records, not a hospital's."""
FHIR_JSON = "application/fhir+json"


@router.post(
    "/bundles",
    tags=["health"],
    status_code=201,
    openapi_extra={
        "requestBody": {"required": True, "content": {FHIR_JSON: {}, "application/json": {}}}
    },
)
async def import_bundle(
    request: Request,
    agent: Agent,
    source: Annotated[str, Query(min_length=1, max_length=200)] = "api",
) -> dict[str, Any]:
    """Import a FHIR Bundle (R5 or R4B, the request body): every resource, or none.

    ``source`` labels where it came from. A resource imported before (same type and
    id) is replaced. Answers with the counts by resource type.
    """
    body = await request.body()
    if len(body) > MAX_BUNDLE_BYTES:
        raise ValueError(f"a Bundle of more than {MAX_BUNDLE_BYTES} bytes is not taken")
    result = await run_in_threadpool(agent.import_health_bundle, body, source)
    return result.as_json()


@router.get("", tags=["health"])
def list_records(
    agent: Agent, kind: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Every health record (or one kind: ``Condition``, ``allergy`` …), with its summary."""
    return [record.as_json(with_resource=False) for record in agent.health_resources(kind)]


@router.get(
    "/export",
    tags=["health"],
    response_class=Response,
    responses={200: {"content": {FHIR_JSON: {}}}},
)
def export_bundle(agent: Agent, id: Annotated[list[int] | None, Query()] = None) -> Response:
    """The chosen records (``?id=1&id=4``; all without) as a Bundle ``collection``; audited."""
    document = agent.export_health_bundle(id or None, to="api")
    return Response(
        document,
        media_type=FHIR_JSON,
        headers={"Content-Disposition": 'attachment; filename="health-records.json"'},
    )


class PresentationRequest(BaseModel):
    """Records to present to a doctor: to whom, for what, and for how long (or until when)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    records: list[int] = Field(min_length=1, max_length=500)
    """The numbers of the health records (``GET /api/health``)."""
    vendor: str = Field(min_length=1, max_length=2048)
    """The doctor: the relationship's number, its name or its URL."""
    purpose: str = Field(min_length=1, max_length=MAX_PURPOSE)
    for_: str | None = Field(default=None, alias="for", max_length=32)
    """How long the grant runs: ``7d``, ``12h``, ``30m``, ``2w``."""
    until: str | None = Field(default=None, max_length=64)
    """Or when it ends: ``2026-03-08`` (to the end of that day) or ``2026-03-08T17:00``."""


@router.post("/presentations", tags=["health"], status_code=201)
def present(asked: PresentationRequest, agent: Agent) -> dict[str, Any]:
    """Present records to a doctor under a time-limited grant (encrypted to it; audited).

    ``409`` when the relationship is not active or the records cannot go in one
    message, ``422`` when the grant's end does not fit (at least the agent's
    ``health_grant_minimum``, at most a year).
    """
    presented = HealthDesk(agent).present(
        asked.records,
        asked.vendor,
        purpose=asked.purpose,
        duration=asked.for_,
        until=asked.until,
    )
    return presented.as_json()


@router.get("/presentations", tags=["health"])
def presentations(agent: Agent) -> list[dict[str, Any]]:
    """Every presentation, newest first: state, and whether the doctor confirmed deleting."""
    return [presented.as_json() for presented in HealthDesk(agent).presentations()]


@router.get("/presentations/{number}", tags=["health"])
def presentation(number: int, agent: Agent) -> dict[str, Any]:
    """One presentation."""
    return HealthDesk(agent).presentation(number).as_json()


@router.post("/presentations/{number}/withdraw", tags=["health"])
def withdraw(number: int, agent: Agent) -> dict[str, Any]:
    """Withdraw an active presentation: the doctor is told to delete the records now."""
    return HealthDesk(agent).withdraw(number).as_json()


@router.get("/{number}", tags=["health"])
def show_record(number: int, agent: Agent) -> dict[str, Any]:
    """One health record: its summary, where it came from, and the resource as imported."""
    return agent.health_resource(number).as_json()
