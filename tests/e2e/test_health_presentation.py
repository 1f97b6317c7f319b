"""Health records presented to a doctor between ``vrm up`` and ``vrm serve vendor``.

The person imports a Bundle and presents two of its records to a doctor's endpoint for
a few seconds: the doctor's API shows exactly those two, then, once the grant ends and
with no word from the person, none — and the person's agent shows the doctor's signed
confirmation. A second presentation, withdrawn by the person, is deleted at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.agent.health.bundles import sample, text
from tests.e2e.test_agent_service import (
    PASSPHRASE,
    RunningAgent,
    eventually,
    prepare_home,
    relate,
    serve,
)
from tests.e2e.test_vendor_endpoint import start_vendor
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import unlocked

pytestmark = pytest.mark.e2e
FHIR = {"content-type": "application/fhir+json"}


@pytest.fixture
def running_agent(tmp_path: Path) -> Iterator[RunningAgent]:
    """``vrm up`` for an agent whose grants may be as short as a second (to see one end)."""
    token = prepare_home(tmp_path / "agent")
    with unlocked(AgentHome(tmp_path / "agent"), PASSPHRASE) as opened:
        PersonalAgent(opened.engine, opened.sealer).set_config("health_grant_minimum", "1")
    running = serve(tmp_path / "agent", token)
    yield running
    running.api.close()
    running.service.stop()


def held_by_doctor(api: httpx.Client, did: str) -> list[dict[str, Any]]:
    reply = api.get(f"/api/customers/{did}/health")
    assert reply.status_code == 200, reply.text
    held: list[dict[str, Any]] = reply.json()
    return held


def confirmed_deletion(agent: RunningAgent, number: int) -> dict[str, Any] | None:
    """The presentation once the doctor's confirmation of deletion is in; None until then."""
    presented: dict[str, Any] = agent.get(f"/api/health/presentations/{number}")
    return presented if presented["deletion_confirmed"] else None


def presented_ids(held: list[dict[str, Any]]) -> list[list[str]]:
    """The FHIR ids of each presentation's resources."""
    return [[entry["resource"]["id"] for entry in p["bundle"]["entry"]] for p in held]


def test_a_grant_that_ends_makes_the_doctor_delete_and_a_withdrawal_too(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    """Exactly the two records held, then none once the grant ends; a withdrawn one at once;
    the agent shows each deletion confirmed, and logs one health.presented per presentation."""
    doctor, api = start_vendor(tmp_path / "practice", "--name", "Leith Practice")
    try:
        relationship = relate(running_agent, doctor.url)
        did = relationship["our_did"]
        imported = running_agent.api.post(
            "/api/health/bundles", content=text(sample()), headers=FHIR
        )
        assert imported.status_code == 201, imported.text
        listed = running_agent.get("/api/health")
        diabetes = next(r["id"] for r in listed if r["summary"]["what"].startswith("Type 2"))
        allergy = next(r["id"] for r in listed if r["summary"]["kind"] == "allergy")
        two = [diabetes, allergy]

        first = running_agent.api.post(
            "/api/health/presentations",
            json={
                "records": two,
                "vendor": "Leith Practice",
                "purpose": "First visit",
                "for": "3s",
            },
        )
        assert first.status_code == 201, first.text
        shown = eventually(lambda: held_by_doctor(api, did), what="the doctor holding the records")
        assert presented_ids(shown) == [["cond-diabetes", "allergy-penicillin"]]
        assert shown[0]["purpose"] == "First visit"

        # No withdrawal: the doctor's endpoint deletes them when the grant ends, and says so.
        number = first.json()["id"]
        confirmed = eventually(
            lambda: confirmed_deletion(running_agent, number),
            what="the doctor's confirmation that the records are deleted",
        )
        assert held_by_doctor(api, did) == []
        assert (confirmed["state"], confirmed["deleted_because"]) == ("expired", "expired")

        second = running_agent.api.post(
            "/api/health/presentations",
            json={
                "records": two[:1],
                "vendor": "Leith Practice",
                "purpose": "Referral",
                "for": "1h",
            },
        )
        assert second.status_code == 201, second.text
        eventually(lambda: held_by_doctor(api, did), what="the second presentation held")
        withdrawn = running_agent.api.post(
            f"/api/health/presentations/{second.json()['id']}/withdraw"
        )
        assert withdrawn.status_code == 200, withdrawn.text
        withdrawn_number = second.json()["id"]
        eventually(
            lambda: (
                not held_by_doctor(api, did) and confirmed_deletion(running_agent, withdrawn_number)
            ),
            what="the withdrawn records deleted, and the deletion confirmed",
        )
        assert confirmed_deletion(running_agent, withdrawn_number)["deleted_because"] == "revoked"
        kinds = [entry["kind"] for entry in running_agent.get("/api/audit")]
        assert kinds.count("health.presented") == 2
        assert kinds.count("health.deleted") == 2
    finally:
        api.close()
        doctor.stop()
