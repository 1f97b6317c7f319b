"""Customer-held loyalty between ``vrm up`` and two ``vrm serve vendor``, each in its own process.

The grocer issues a gold membership to the person's pairwise DID; the person's agent
keeps it and makes a code for the grocer's checkout; the grocer verifies it, the baker
refuses it, a changed code is refused; the till's command verifies a code with the
grocer's endpoint stopped; the person's preferences reach only the vendor chosen; a
revocation reaches the person.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.commandline import run_vrm
from tests.e2e.test_agent_service import RunningAgent, eventually, relate
from tests.e2e.test_vendor_endpoint import start_vendor

pytestmark = pytest.mark.e2e
GOLD = {"tier": "gold", "benefits": ["10% off fresh bread", "free delivery"], "program": "Club"}


def verify(api: httpx.Client, code: str) -> httpx.Response:
    return api.post("/api/memberships/verify", json={"presentation": code})


def present(agent: RunningAgent, number: int) -> str:
    reply = agent.api.post(f"/api/loyalty/{number}/presentation")
    assert reply.status_code == 200, reply.text
    code: str = reply.json()["presentation"]
    return code


def fields_of(api: httpx.Client, did: str) -> dict[str, Any]:
    held: dict[str, Any] = api.get(f"/api/customers/{did}").json()["fields"]
    return held


def test_a_membership_from_issue_to_checkout_and_preferences_to_one_vendor(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    """Gold at the grocer's checkout, refused at the baker's, offline at the till, revoked."""
    grocer_home = tmp_path / "grocer"
    grocer, grocer_api = start_vendor(grocer_home)
    baker, baker_api = start_vendor(tmp_path / "baker", "--name", "Baker")
    try:
        at_grocer = relate(running_agent, grocer.url)
        at_baker = relate(running_agent, baker.url)
        did = at_grocer["our_did"]

        issued = grocer_api.post(f"/api/customers/{did}/memberships", json=GOLD)
        assert issued.status_code == 202, issued.text
        [kept] = eventually(
            lambda: running_agent.get("/api/loyalty"), what="the membership in the person's agent"
        )
        assert (kept["vendor"], kept["tier"], kept["state"]) == ("Corner Grocer", "gold", "active")
        assert kept["credential"] == issued.json()["credential"]

        at_checkout, at_till = (
            present(running_agent, kept["id"]),
            present(running_agent, kept["id"]),
        )
        assert len(at_checkout) <= 1_500
        valid = verify(grocer_api, at_checkout)
        assert valid.status_code == 200, valid.text
        assert valid.json()["member"]["tier"] == "gold"
        assert valid.json()["member"]["customer"] == did
        elsewhere = verify(baker_api, at_checkout)
        assert (elsewhere.status_code, elsewhere.json()["reason"]) == (422, "another_vendor")
        cut = len("VRM1.") + 200
        tampered = at_till[:cut] + ("A" if at_till[cut] != "A" else "B") + at_till[cut + 1 :]
        assert verify(grocer_api, tampered).json()["reason"] == "tampered"

        shared = running_agent.api.put(
            "/api/loyalty/preferences",
            json={
                "loyalty": "Money off at the till, no points",
                "brands": "Fairphone",
                "vendors": [at_grocer["id"]],
            },
        )
        assert shared.status_code == 200, shared.text
        eventually(
            lambda: fields_of(grocer_api, did).get("preference.brands") == "Fairphone",
            what="the brands at the grocer",
        )
        assert (
            fields_of(grocer_api, did)["preference.loyalty"] == "Money off at the till, no points"
        )
        assert "preference.brands" not in fields_of(baker_api, at_baker["our_did"])

        grocer_api.close()
        grocer.stop()
        offline = run_vrm("vendor", "verify-membership", at_till, "--home", str(grocer_home))
        assert offline.returncode == 0, offline.stdout + offline.stderr
        assert offline.stdout.startswith("valid: gold — Club, member since ")
        seen = run_vrm("vendor", "verify-membership", at_checkout, "--home", str(grocer_home))
        assert (seen.returncode, seen.stdout.split(" — ")[0]) == (1, "refused: replayed")

        grocer, grocer_api = start_vendor(grocer_home)
        ended = grocer_api.post(f"/api/memberships/{issued.json()['id']}/revoke")
        assert ended.status_code == 200, ended.text
        eventually(
            lambda: running_agent.get(f"/api/loyalty/{kept['id']}")["state"] == "revoked",
            what="the revocation in the person's agent",
        )
        refused = running_agent.api.post(f"/api/loyalty/{kept['id']}/presentation")
        assert refused.status_code == 409
        kinds = [entry["kind"] for entry in running_agent.get("/api/audit")]
        assert kinds.count("membership.presented") == 2
        assert kinds.count("membership.received") == 1
        assert kinds.count("membership.revoked") == 1
    finally:
        grocer_api.close()
        baker_api.close()
        grocer.stop()
        baker.stop()
