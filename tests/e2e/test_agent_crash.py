"""Nothing lost: the agent killed with SIGKILL in the middle of a fan-out."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.test_agent_service import PASSPHRASE, eventually, prepare_home, serve
from tests.processes import fleet_customers, start_fleet
from vrm.agent.home import AgentHome
from vrm.agent.setup import unlocked
from vrm.demo.prearranged import prearranged_relationship
from vrm.protocol import Discovery, relationship_types

pytestmark = pytest.mark.e2e
VENDORS = 30
CHANGES = 8


def relate_directly(home: Path, fleet_url: str) -> list[str]:
    """Relationships with every vendor of the fleet, accepted, address granted; our DIDs."""
    vendors = httpx.get(f"{fleet_url}/fleet").json()
    ours = []
    with unlocked(AgentHome(home), PASSPHRASE) as agent, agent.engine.begin() as connection:
        for vendor in vendors:
            found = Discovery(
                did=vendor["did"],
                name=f"vendor {vendor['index']}",
                inbox=vendor["inbox"],
                message_types=list(relationship_types()),
            )
            relationship = prearranged_relationship(
                connection,
                agent.sealer,
                discovery=found,
                url=vendor["inbox"],
                reply_to="http://127.0.0.1:9/inbox",
                grant=["address.home"],
                purpose="deliveries",
            )
            ours.append(relationship.our_did)
    return ours


def address(n: int) -> dict[str, str]:
    return {"streetAddress": f"{n} Change Lane", "addressLocality": "Leith"}


def test_sigkill_mid_fan_out_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    # Each vendor takes 0.1 s per message, so the fan-out lasts about a second.
    fleet = start_fleet(VENDORS, base="crash", delay=0.1)
    home = tmp_path / "agent"
    token = prepare_home(home)
    ours = relate_directly(home, fleet.url)
    agent = serve(home, token)
    try:
        for n in range(1, CHANGES + 1):
            put = agent.api.put("/api/profile/address.home", json={"value": address(n)})
            assert put.status_code == 200, put.text
        total = VENDORS * (1 + CHANGES)  # the relationship request, then every change

        def applied() -> int:
            return sum(row["applied"] for row in httpx.get(f"{fleet.url}/fleet/summary").json())

        eventually(lambda: applied() >= VENDORS * 2, what="the fan-out to get going")
        agent.service.kill()
        agent.api.close()
        at_kill = applied()
        assert at_kill < total, "the fan-out finished before the kill; nothing was tested"

        agent = serve(home, token)
        eventually(
            lambda: not agent.get("/api/deliveries", state="pending"),
            timeout=30,
            what="the restarted agent to deliver the rest",
        )
        assert agent.get("/api/deliveries", state="failed") == []
        summary = httpx.get(f"{fleet.url}/fleet/summary").json()
        assert sum(row["applied_twice"] for row in summary) == 0
        assert [row["applied"] for row in summary] == [1 + CHANGES] * VENDORS
        for index, our_did in enumerate(ours):
            held = fleet_customers(fleet, index)[our_did]
            assert held["fields"] == {"address.home": address(CHANGES)}
            assert held["versions"] == {"address.home": CHANGES}
    finally:
        agent.api.close()
        agent.service.stop()
        fleet.stop()
