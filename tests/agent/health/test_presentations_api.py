"""/api/health/presentations: records presented (201), listed, withdrawn; refusals as problems."""

from __future__ import annotations

import httpx
import pytest

from tests.agent.health.bundles import sample, text
from tests.agent.vendors import Clock, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent

pytestmark = pytest.mark.anyio
PRESENTATIONS = "/api/health/presentations"


@pytest.fixture
async def chosen(person: PersonalAgent, network: VendorNetwork, clock: Clock) -> list[int]:
    """The sample imported, a doctor related with; the numbers of two of its records."""
    person.import_health_bundle(text(sample()), "clinic.json")
    await connect(person, network, "Leith Practice", clock=clock)
    held = {record.resource["id"]: record.id for record in person.health_resources()}
    return [held["cond-diabetes"], held["imm-flu-2025"]]


async def test_records_are_presented_listed_and_withdrawn(
    app: httpx.AsyncClient, chosen: list[int]
) -> None:
    """201 with the presentation; the list has it; withdraw answers it withdrawn, then 409."""
    reply = await app.post(
        PRESENTATIONS,
        json={"records": chosen, "vendor": "Leith Practice", "purpose": "Referral", "for": "2w"},
    )
    assert reply.status_code == 201, reply.text
    presented = reply.json()
    assert (presented["vendor"], presented["state"], presented["purpose"]) == (
        "Leith Practice",
        "active",
        "Referral",
    )
    assert [record["id"] for record in presented["records"]] == chosen
    assert presented["deletion_confirmed"] is False
    listed = (await app.get(PRESENTATIONS)).json()
    assert [p["id"] for p in listed] == [presented["id"]]
    assert (await app.get(f"{PRESENTATIONS}/{presented['id']}")).json() == listed[0]

    withdrawn = await app.post(f"{PRESENTATIONS}/{presented['id']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.json()["state"] == "withdrawn"
    again = await app.post(f"{PRESENTATIONS}/{presented['id']}/withdraw")
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert (await app.post(f"{PRESENTATIONS}/99/withdraw")).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"for": "soon"}, 422, "invalid_request"),
        ({"for": None, "until": "2001-01-01"}, 422, "invalid_request"),
        ({"vendor": "Nobody"}, 404, "not_found"),
        ({"records": [999]}, 404, "not_found"),
        ({"records": []}, 422, None),
        ({"surprise": 1}, 422, None),
    ],
)
async def test_a_presentation_that_does_not_fit_is_a_problem_and_nothing_is_sent(
    app: httpx.AsyncClient,
    person: PersonalAgent,
    chosen: list[int],
    change: dict[str, object],
    status: int,
    code: str | None,
) -> None:
    """problem+json with the status and code; no presentation, nothing in the audit log."""
    asked = {"records": chosen, "vendor": "Leith Practice", "purpose": "Referral", "for": "7d"}
    reply = await app.post(PRESENTATIONS, json={**asked, **change})
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert reply.json()["code"] == code
    assert (await app.get(PRESENTATIONS)).json() == []
    assert not [e for e in person.audit_entries() if e.kind == "health.presented"]
