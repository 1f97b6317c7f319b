"""The JSON API for the person's health records (under ``/api/health``, bearer token).

FHIR Bundles imported (all of a Bundle or nothing: an invalid one is answered 422
with problem+json naming what is wrong and where), the records listed, shown and
exported as a Bundle of type ``collection``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from vrm.agent.api.routes import Agent

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


@router.get("/{number}", tags=["health"])
def show_record(number: int, agent: Agent) -> dict[str, Any]:
    """One health record: its summary, where it came from, and the resource as imported."""
    return agent.health_resource(number).as_json()
