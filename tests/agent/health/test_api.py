"""/api/health: a Bundle posted is imported (201) or refused (422 problem+json); read; exported."""

from __future__ import annotations

import json

import httpx
import pytest
from fhir.resources.bundle import Bundle

from tests.agent.health.bundles import resource, sample, text
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio
FHIR = {"content-type": "application/fhir+json"}


async def test_a_bundle_posted_is_imported_with_its_counts(
    app: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """201, counts by type, the source given; the records are held."""
    reply = await app.post(
        "/api/health/bundles", params={"source": "portal"}, content=text(sample()), headers=FHIR
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["counts"]["Condition"] == 2
    assert (body["imported"], body["source"], body["fhir_version"]) == (8, "portal", "R5")
    assert len(person.health_resources()) == 8


async def test_an_invalid_bundle_is_a_problem_naming_where_and_nothing_is_kept(
    app: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """422 application/problem+json with code invalid_bundle and the entry's path."""
    bundle = sample()
    resource(bundle, "obs-hba1c")["valueQuantity"]["value"] = "high"
    reply = await app.post("/api/health/bundles", content=text(bundle), headers=FHIR)
    assert reply.status_code == 422
    assert reply.headers["content-type"].startswith("application/problem+json")
    problem = reply.json()
    assert problem["code"] == "invalid_bundle"
    assert "entry 7 (Observation): valueQuantity.value: not a number" in problem["detail"]
    for spoiled in (b"\xff\xfe", b"not json"):
        reply = await app.post("/api/health/bundles", content=spoiled)
        assert reply.status_code == 422
    assert person.health_resources() == []


async def test_records_are_listed_by_kind_and_shown(app: httpx.AsyncClient) -> None:
    """The list gives summaries without the resources; one record gives the resource too."""
    await app.post("/api/health/bundles", content=text(sample()), headers=FHIR)
    listed = (await app.get("/api/health", params={"kind": "Condition"})).json()
    assert [r["summary"]["line"] for r in listed] == [
        "Type 2 diabetes mellitus — active, onset 2019-03-12",
        "Childhood asthma — resolved, onset 1988",
    ]
    assert "resource" not in listed[0]
    shown = (await app.get(f"/api/health/{listed[0]['id']}")).json()
    assert shown["resource"]["id"] == "cond-diabetes"
    missing = await app.get("/api/health/999")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_an_export_is_a_fhir_bundle_of_the_records_chosen(
    app: httpx.AsyncClient, person: PersonalAgent
) -> None:
    """application/fhir+json, a collection of the ids asked for; audited as to the API."""
    await app.post("/api/health/bundles", content=text(sample()), headers=FHIR)
    ids = [r.id for r in person.health_resources("Observation")]
    reply = await app.get("/api/health/export", params={"id": ids})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(reply.content)
    assert bundle.entry is not None
    assert [entry.resource.id for entry in bundle.entry] == ["obs-hba1c", "obs-weight"]
    everything = json.loads((await app.get("/api/health/export")).content)
    assert len(everything["entry"]) == 8
    [chosen, _] = [e.details for e in person.audit_entries() if e.kind == "health.exported"]
    assert chosen["to"] == "api"
    assert chosen["count"] == 2


async def test_health_needs_the_token(app: httpx.AsyncClient) -> None:
    """Without the bearer token: 401."""
    reply = await app.get("/api/health", headers={"authorization": ""})
    assert reply.status_code == 401
