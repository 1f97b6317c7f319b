"""``vrm up`` as a person runs it: API, inbox and worker against vendors in other processes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.processes import ServiceProcess, fleet_customers, start_agent, start_fleet
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.vault import FAST_INSECURE_KDF

pytestmark = pytest.mark.e2e
PASSPHRASE = "correct horse"
HOME_ADDRESS = {"streetAddress": "1 Elm Row", "addressLocality": "Leith", "postalCode": "EH6"}
NEW_ADDRESS = {"streetAddress": "9 Quay St", "addressLocality": "Leith", "postalCode": "EH6 7"}
T = TypeVar("T")


def eventually(check: Callable[[], T | None], *, timeout: float = 15, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.05)


@dataclass
class RunningAgent:
    """An agent served by ``vrm up``, with an API client holding its token."""

    home: Path
    service: ServiceProcess
    api: httpx.Client

    def get(self, path: str, **params: Any) -> Any:
        reply = self.api.get(path, params=params)
        assert reply.status_code == 200, reply.text
        return reply.json()


def prepare_home(home: Path) -> str:
    """A new agent that may call loopback vendors; returns its API token."""
    opened = init_agent(AgentHome(home), PASSPHRASE, kdf=FAST_INSECURE_KDF)
    with unlocked(AgentHome(home), PASSPHRASE) as agent:
        PersonalAgent(agent.engine, agent.sealer).set_config("allow_loopback", "true")
    return opened.api_token


def serve(home: Path, token: str) -> RunningAgent:
    service = start_agent(home, PASSPHRASE)
    client = httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    return RunningAgent(home, service, client)


@pytest.fixture(scope="module")
def grocer() -> Iterator[ServiceProcess]:
    fleet = start_fleet(1, base="grocer")
    yield fleet
    fleet.stop()


def relate(agent: RunningAgent, url: str) -> dict[str, Any]:
    """Add a vendor through the API; wait for it to accept, and to sign the person's terms."""
    reply = agent.api.post("/api/vendors", json={"url": url})
    assert reply.status_code == 201, reply.text
    vendor_id = reply.json()["id"]
    return eventually(
        lambda: (v := agent.get(f"/api/vendors/{vendor_id}"))["active"] and v,
        what="the vendor's acceptance of the relationship and the terms",
    )


def test_the_api_needs_the_token(running_agent: RunningAgent) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        reply = httpx.get(f"{running_agent.service.url}/api/profile", headers=headers)
        assert reply.status_code == 401
        assert reply.headers["content-type"] == "application/problem+json"
        assert reply.headers["www-authenticate"] == "Bearer"
        assert reply.json()["code"] == "unauthorised"
    assert httpx.get(f"{running_agent.service.url}/health").json() == {"status": "ok"}


def test_openapi_documents_every_operation_and_the_inbox(running_agent: RunningAgent) -> None:
    paths = httpx.get(f"{running_agent.service.url}/openapi.json").json()["paths"]
    for path in (
        "/api/profile",
        "/api/profile/{path}",
        "/api/vendors",
        "/api/vendors/{vendor}/pause",
        "/api/grants",
        "/api/grants/revoke",
        "/api/deliveries",
        "/api/deliveries/{delivery_id}/retry",
        "/api/audit",
        "/api/audit/verify",
        "/inbox",
    ):
        assert path in paths


def test_relate_grant_change_and_every_step_is_audited(
    running_agent: RunningAgent, grocer: ServiceProcess
) -> None:
    agent = running_agent
    agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
    vendor = relate(agent, grocer.url)
    assert vendor["person_state"] == "wants"
    held = fleet_customers(grocer)[vendor["our_did"]]
    assert held["state"] == "accepted"
    assert held["fields"] == {}

    granted = agent.api.post(
        "/api/grants",
        json={"vendor": str(vendor["id"]), "fields": ["address.home"], "purpose": "deliveries"},
    )
    assert granted.status_code == 201, granted.text
    eventually(
        lambda: (
            fleet_customers(grocer)[vendor["our_did"]]["fields"].get("address.home") == HOME_ADDRESS
        ),
        what="the granted address at the vendor",
    )

    agent.api.put("/api/profile/address.home", json={"value": NEW_ADDRESS}).raise_for_status()
    eventually(
        lambda: fleet_customers(grocer)[vendor["our_did"]]["fields"]["address.home"] == NEW_ADDRESS,
        what="the changed address at the vendor",
    )
    assert fleet_customers(grocer)[vendor["our_did"]]["versions"]["address.home"] == 2
    deliveries = agent.get("/api/deliveries")
    assert {d["state"] for d in deliveries} == {"delivered"}
    assert [d["type"] for d in reversed(deliveries)] == [
        "vrm/1/relationship.request",
        "vrm/1/profile.update",
        "vrm/1/profile.update",
    ]
    kinds = [entry["kind"] for entry in agent.get("/api/audit")]
    assert kinds.count("disclosure") == 2
    assert {"relationship.requested", "relationship.accepted", "grant.added"} <= set(kinds)
    disclosures = [e["details"] for e in agent.get("/api/audit") if e["kind"] == "disclosure"]
    assert disclosures[-1]["fields"] == ["address.home"]
    assert disclosures[-1]["message"] == deliveries[0]["message_id"]
    assert agent.get("/api/audit/verify")["intact"] is True

    agent.api.post(
        "/api/grants/revoke", json={"vendor": str(vendor["id"]), "fields": ["address.home"]}
    ).raise_for_status()
    eventually(
        lambda: "address.home" not in fleet_customers(grocer)[vendor["our_did"]]["fields"],
        what="the vendor dropping the revoked field",
    )


def test_pause_holds_changes_and_resume_sends_the_newest(
    running_agent: RunningAgent, grocer: ServiceProcess
) -> None:
    agent = running_agent
    agent.api.put("/api/profile/email.home", json={"value": "ann@example.org"}).raise_for_status()
    vendor = relate(agent, grocer.url)
    agent.api.post(
        "/api/grants",
        json={"vendor": str(vendor["id"]), "fields": ["email.home"], "purpose": "receipts"},
    ).raise_for_status()
    paused = agent.api.post(f"/api/vendors/{vendor['id']}/pause").json()
    assert paused["person_state"] == "paused"
    assert paused["active"] is False
    agent.api.put("/api/profile/email.home", json={"value": "ann@new.example"}).raise_for_status()
    eventually(
        lambda: fleet_customers(grocer)[vendor["our_did"]]["person_state"] == "paused",
        what="the vendor hearing of the pause",
    )
    assert fleet_customers(grocer)[vendor["our_did"]]["fields"]["email.home"] == "ann@example.org"

    agent.api.post(f"/api/vendors/{vendor['id']}/resume").raise_for_status()
    eventually(
        lambda: (
            fleet_customers(grocer)[vendor["our_did"]]["fields"]["email.home"] == "ann@new.example"
        ),
        what="the newest value after resuming",
    )


def test_a_refusing_vendor_gets_nothing(running_agent: RunningAgent) -> None:
    picky = start_fleet(1, base="picky", policy="refuse")
    try:
        agent = running_agent
        agent.api.put("/api/profile/phone.mobile", json={"value": "+44 7700 900123"})
        reply = agent.api.post("/api/vendors", json={"url": picky.url}).json()
        eventually(
            lambda: agent.get(f"/api/vendors/{reply['id']}")["vendor_state"] == "refused",
            what="the refusal",
        )
        agent.api.post(
            "/api/grants",
            json={"vendor": str(reply["id"]), "fields": ["phone.mobile"], "purpose": "calls"},
        ).raise_for_status()
        time.sleep(0.3)
        assert fleet_customers(picky)[reply["our_did"]]["fields"] == {}
        grants = agent.get("/api/grants", vendor=str(reply["id"]))
        assert grants[0]["active"] is True  # held, not sent: the vendor refused
    finally:
        picky.stop()


def test_vcard_round_trip_and_backup_through_the_api(running_agent: RunningAgent) -> None:
    agent = running_agent
    card = "\r\n".join(
        ["BEGIN:VCARD", "VERSION:4.0", "FN:Ann Lee", "EMAIL;TYPE=home:ann@example.org", "END:VCARD"]
    )
    imported = agent.api.post("/api/profile.vcf", content=card.encode())
    assert imported.status_code == 200, imported.text
    assert "email.home" in imported.json()["imported"]
    assert agent.get("/api/profile")["email.home"] == "ann@example.org"
    exported = agent.api.get("/api/profile.vcf")
    assert exported.headers["content-type"].startswith("text/vcard")
    assert "ann@example.org" in exported.text
    assert "profile.export" in [entry["kind"] for entry in agent.get("/api/audit")]

    copy = agent.api.get("/api/backup")
    assert copy.status_code == 200
    assert copy.content.startswith(b"SQLite format 3\x00")
    assert b"ann@example.org" not in copy.content  # sealed, as stored
    assert "attachment" in copy.headers["content-disposition"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("put", "/api/profile/shoe.size", {"value": "42"}, 422, "invalid_field"),
        ("put", "/api/profile/birth_date", {"value": "yesterday"}, 422, "invalid_field"),
        ("put", "/api/profile/email.home", {"nope": 1}, 422, "invalid_request"),
        ("post", "/api/vendors", {"url": "http://10.1.2.3/"}, 502, "vendor_unreachable"),
        ("post", "/api/vendors", {"url": "not a url"}, 502, "vendor_unreachable"),
        ("get", "/api/vendors/99", None, 404, "not_found"),
        ("post", "/api/vendors/99/pause", None, 404, "not_found"),
        ("post", "/api/deliveries/12345/retry", None, 404, "not_found"),
        ("get", "/api/deliveries?state=lost", None, 422, "invalid_request"),
        ("put", "/api/config/allow_loopback", {"value": "maybe"}, 422, "invalid_request"),
        ("put", "/api/config/colour", {"value": "blue"}, 422, "invalid_request"),
        ("post", "/api/profile.vcf", "not a vcard", 422, "invalid_field"),
    ],
)
def test_bad_input_is_a_problem_document(
    running_agent: RunningAgent,
    method: str,
    path: str,
    body: dict[str, Any] | str | None,
    status: int,
    code: str,
) -> None:
    if isinstance(body, str):
        reply = running_agent.api.request(method.upper(), path, content=body.encode())
    else:
        reply = running_agent.api.request(method.upper(), path, json=body)
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code
    assert "Traceback" not in reply.text
