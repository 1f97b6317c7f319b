"""Terms, agreements and data rights between ``vrm up`` and vendor endpoints in other processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_agent_service import (
    HOME_ADDRESS,
    PASSPHRASE,
    RunningAgent,
    eventually,
    prepare_home,
    relate,
    serve,
)
from tests.e2e.test_vendor_endpoint import start_vendor
from tests.processes import ServiceProcess, start_fleet
from tests.vendor.adapters.test_scim import TOKEN as SCIM_TOKEN
from tests.vendor.adapters.test_scim import ScimServer, start_scim_server
from vrm.terms import Agreement, AgreementInvalid

pytestmark = pytest.mark.e2e
EMAIL = "ann@example.org"


def vendor_with(home: Path, settings: str) -> tuple[ServiceProcess, httpx.Client]:
    """``vrm serve vendor`` with these TOML settings."""
    home.mkdir(parents=True)
    config = home / "vendor.toml"
    config.write_text('name = "Corner Grocer"\n' + settings, encoding="utf-8")
    return start_vendor(home, "--config", str(config))


def add_vendor(agent: RunningAgent, url: str) -> dict[str, Any]:
    reply = agent.api.post("/api/vendors", json={"url": url})
    assert reply.status_code == 201, reply.text
    found: dict[str, Any] = reply.json()
    return found


def grant(agent: RunningAgent, vendor_id: int, *fields: str) -> None:
    reply = agent.api.post(
        "/api/grants", json={"vendor": str(vendor_id), "fields": list(fields), "purpose": "orders"}
    )
    assert reply.status_code == 201, reply.text


def agreements_of(agent: RunningAgent, vendor_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = agent.get("/api/agreements", vendor=str(vendor_id))
    return found


def vendor_agreements(api: httpx.Client, did: str) -> list[dict[str, Any]]:
    reply = api.get(f"/api/customers/{did}/agreements")
    return reply.json() if reply.status_code == 200 else []


def customer(api: httpx.Client, did: str) -> dict[str, Any]:
    reply = api.get(f"/api/customers/{did}")
    return reply.json() if reply.status_code == 200 else {}


def audit_kinds(agent: RunningAgent) -> list[str]:
    return [entry["kind"] for entry in agent.get("/api/audit")]


def vrm(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "vrm", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"VRM_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_both_sides_keep_the_same_signed_agreement_and_tampering_shows(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    vendor, api = start_vendor(tmp_path / "grocer")
    try:
        agent = running_agent
        related = relate(agent, vendor.url)
        [ours] = [a for a in agreements_of(agent, related["id"]) if a["state"] == "active"]
        assert ours["terms"] == "SD-BASE + mine-too + delete-on-end"  # the default terms
        ours_signed = agent.get(f"/api/agreements/{ours['id']}")["document"]
        [theirs] = eventually(
            lambda: [
                a for a in vendor_agreements(api, related["our_did"]) if a["state"] == "active"
            ]
        )
        assert theirs["terms_sha256"] == ours["terms_sha256"]
        # The same record on both sides, and it verifies offline.
        assert theirs["document"] == ours_signed
        Agreement.model_validate(ours_signed).verify()
        assert agent.get(f"/api/agreements/{ours['id']}/verify") == {"valid": True, "problem": None}

        kept = tmp_path / "agreement.json"
        kept.write_text(json.dumps(ours_signed))
        checked = vrm(agent.home, "agreements", "verify", "--file", str(kept))
        assert checked.returncode == 0, checked.stderr
        assert "verified" in checked.stdout

        # One obligation changed after signing: the hash no longer matches.
        tampered = json.loads(json.dumps(ours_signed))
        tampered["terms"]["agreement"]["obligations"]["sharing"] = "any"
        kept.write_text(json.dumps(tampered))
        refused = vrm(agent.home, "agreements", "verify", "--file", str(kept))
        assert refused.returncode == 1
        assert "terms do not match" in refused.stdout
        with pytest.raises(AgreementInvalid, match="terms do not match"):
            Agreement.model_validate(tampered).verify()

        # The ISO/IEC TS 27560 record carries the agreement, which still verifies.
        record = agent.get(f"/api/agreements/{ours['id']}/consent-record")
        assert record["dct:conformsTo"] == "https://w3id.org/dpv/schema/dpv-27560#record"
        assert record["dpv:hasDataSubject"] == related["our_did"]
        kept.write_text(json.dumps(record))
        assert vrm(agent.home, "agreements", "verify", "--file", str(kept)).returncode == 0
        assert {"agreement.proffered", "agreement.accepted"} <= set(audit_kinds(agent))
    finally:
        api.close()
        vendor.stop()


def test_grants_are_held_until_an_agreement_exists(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    # This vendor takes only SD-BASE-DP and offers no alternative: the default is rejected.
    vendor, api = vendor_with(tmp_path / "bank", '[terms]\naccepts = ["SD-BASE-DP"]\n')
    try:
        agent = running_agent
        agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
        added = add_vendor(agent, vendor.url)
        vendor_id, did = added["id"], added["our_did"]
        eventually(
            lambda: [a for a in agreements_of(agent, vendor_id) if a["state"] == "rejected"],
            what="the vendor rejecting the default terms",
        )
        grant(agent, vendor_id, "address.home")
        shown = agent.get(f"/api/vendors/{vendor_id}")
        assert (shown["vendor_state"], shown["agreed"], shown["active"]) == (
            "accepted",
            False,
            False,
        )
        assert shown["held_because"] == "no agreement on your terms yet"
        assert customer(api, did)["fields"] == {}
        sent = agent.get("/api/deliveries", vendor=str(vendor_id))
        assert "vrm/1/profile.update" not in {d["type"] for d in sent}

        # Terms the vendor takes: the agreement is made, and the held grant flows.
        reply = agent.api.put(
            f"/api/vendors/{vendor_id}/terms", json={"agreement": "SD-BASE-DP", "additional": []}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["proffered"]["terms"] == "SD-BASE-DP"
        eventually(lambda: customer(api, did).get("fields") == {"address.home": HOME_ADDRESS})
        assert agent.get(f"/api/vendors/{vendor_id}")["active"] is True
    finally:
        api.close()
        vendor.stop()


def test_an_alternative_as_protective_is_taken_and_a_weaker_one_waits_for_the_person(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    agent = running_agent
    agent.api.put("/api/profile/email.primary", json={"value": EMAIL}).raise_for_status()
    # SD-BASE-DP with the person's own terms protects at least as much: taken at once.
    portable = start_fleet(1, base="portable", terms="alternative=SD-BASE-DP")
    # PDC-AI lets the vendor train AI on the data: less protective, the person decides.
    trainer = start_fleet(1, base="trainer", terms="alternative=PDC-AI")
    try:
        first = relate(agent, portable.url)
        [active] = [a for a in agreements_of(agent, first["id"]) if a["state"] == "active"]
        assert active["terms"] == "SD-BASE-DP + mine-too + delete-on-end"
        assert active["proffered_by"] == "vendor"

        second = add_vendor(agent, trainer.url)
        [waiting] = eventually(
            lambda: [a for a in agreements_of(agent, second["id"]) if a["state"] == "alternative"],
            what="the weaker alternative",
        )
        assert waiting["obligations"]["ai_training"] == "allowed"
        grant(agent, second["id"], "email.primary")
        assert agent.get(f"/api/vendors/{second['id']}")["active"] is False

        accepted = agent.api.post(f"/api/agreements/{waiting['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["state"] == "active"

        def trainer_holds() -> dict[str, Any]:
            held = httpx.get(f"{trainer.url}/v/0/customers").json().get(second["our_did"], {})
            return held if held.get("fields") else {}

        held = eventually(trainer_holds, what="the email reaching the vendor")
        assert held["fields"] == {"email.primary": EMAIL}
        assert held["agreement"] == ["PDC-AI", "mine-too", "delete-on-end"]
        again = agent.api.post(f"/api/agreements/{waiting['id']}/accept")
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
    finally:
        portable.stop()
        trainer.stop()


def test_a_rejected_alternative_leaves_no_agreement(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    agent = running_agent
    trainer = start_fleet(1, base="trainer2", terms="alternative=PDC-AI")
    try:
        added = add_vendor(agent, trainer.url)
        [waiting] = eventually(
            lambda: [a for a in agreements_of(agent, added["id"]) if a["state"] == "alternative"]
        )
        rejected = agent.api.post(f"/api/agreements/{waiting['id']}/reject")
        assert rejected.json()["state"] == "rejected"
        shown = agent.get(f"/api/vendors/{added['id']}")
        assert (shown["agreed"], shown["active"]) == (False, False)
        kinds = audit_kinds(agent)
        assert kinds.count("agreement.rejected") == 2  # the vendor's answer, then the person's
    finally:
        trainer.stop()


def test_the_export_is_what_the_vendor_holds_including_what_it_added(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    vendor, api = start_vendor(tmp_path / "grocer")
    try:
        agent = running_agent
        agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
        related = relate(agent, vendor.url)
        did = related["our_did"]
        grant(agent, related["id"], "address.home")
        eventually(lambda: customer(api, did).get("fields") == {"address.home": HOME_ADDRESS})
        added = api.put(f"/api/customers/{did}/data", json={"loyalty_tier": "gold"})
        assert added.status_code == 200, added.text

        asked = agent.api.post(f"/api/vendors/{related['id']}/export")
        assert asked.status_code == 202, asked.text

        def exported() -> dict[str, Any] | None:
            reply = agent.api.get(f"/api/vendors/{related['id']}/data")
            return reply.json() if reply.status_code == 200 else None

        shown = eventually(exported, what="the vendor's signed export")
        held = customer(api, did)
        export = shown["export"]
        assert {f["path"]: f["value"] for f in export["fields"]} == held["fields"]
        assert export["vendor_data"] == {"loyalty_tier": "gold"}
        assert [a["statement"]["person"] for a in export["agreements"]] == [did]
        origins = {item["name"]: item["origin"] for item in shown["comparison"]["items"]}
        assert origins == {"address.home": "sent by you", "loyalty_tier": "added by the vendor"}
        assert shown["comparison"]["not_from_you"] == 1
        [request] = agent.get("/api/data-requests", vendor=str(related["id"]))
        assert (request["kind"], request["state"], request["overdue"]) == (
            "export",
            "answered",
            False,
        )
        assert {"data.export_requested", "data.exported"} <= set(audit_kinds(agent))
    finally:
        api.close()
        vendor.stop()


@pytest.fixture(scope="module")
def scim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    server = start_scim_server(tmp_path_factory.mktemp("scim") / "server.log")
    yield server
    server.stop()


def scim_users(server: ScimServer, did: str) -> list[dict[str, Any]]:
    return server.users(did)


@pytest.mark.parametrize("how", ["erase request", "ending under delete-on-end"])
def test_erasure_removes_the_record_from_the_vendor_and_its_crm(
    how: str, running_agent: RunningAgent, scim_server: ScimServer, tmp_path: Path
) -> None:
    settings = (
        f'[[adapters]]\ntype = "scim"\nname = "crm"\nbase_url = "{scim_server.url}"\n'
        f'token = "{SCIM_TOKEN}"\n'
    )
    vendor, api = vendor_with(tmp_path / "grocer", settings)
    try:
        agent = running_agent
        agent.api.put("/api/profile/email.primary", json={"value": EMAIL}).raise_for_status()
        related = relate(agent, vendor.url)
        did, vendor_id = related["our_did"], related["id"]
        grant(agent, vendor_id, "email.primary")
        eventually(lambda: scim_users(scim_server, did), what="the customer in the CRM")

        if how == "erase request":
            reply = agent.api.post(f"/api/vendors/{vendor_id}/erase")
            assert reply.status_code == 202, reply.text
        else:
            agent.api.post(f"/api/vendors/{vendor_id}/end").raise_for_status()

        def confirmed() -> list[dict[str, Any]]:
            requests = agent.get("/api/data-requests", vendor=str(vendor_id))
            return [r for r in requests if r["kind"] == "erase" and r["state"] == "answered"]

        eventually(confirmed, timeout=30, what="the signed erasure confirmation")
        assert scim_users(scim_server, did) == []
        erased = customer(api, did)
        assert erased["state"] == "erased"
        assert not erased.get("fields")
        assert api.get(f"/api/customers/{did}/history").json() in ([], None) or (
            api.get(f"/api/customers/{did}/history").status_code == 404
        )
        [entry] = [e for e in agent.get("/api/audit") if e["kind"] == "data.erased"]
        assert entry["details"]["systems"] == {"crm": "deleted"}
    finally:
        api.close()
        vendor.stop()


def test_a_vendor_that_does_not_answer_in_time_is_flagged(tmp_path: Path) -> None:
    token = prepare_home(tmp_path / "agent")
    with_deadline = vrm(tmp_path / "agent", "config", "set", "answer_deadline", "1")
    assert with_deadline.returncode == 0, with_deadline.stderr
    agent = serve(tmp_path / "agent", token)
    silent = start_fleet(1, base="silent")  # the fleet takes data requests but never answers
    try:
        related = relate(agent, silent.url)
        reply = agent.api.post(f"/api/vendors/{related['id']}/erase")
        assert reply.status_code == 202, reply.text
        [flagged] = eventually(
            lambda: [r for r in agent.get("/api/data-requests") if r["overdue"]],
            what="the erasure request flagged overdue",
        )
        assert flagged["kind"] == "erase"
        listed = vrm(tmp_path / "agent", "vendors", "list", "--json")
        assert [v["overdue_request"] for v in json.loads(listed.stdout)] == [True]
        shown = vrm(tmp_path / "agent", "vendors", "show", str(related["id"]))
        assert "erase request 1: requested  ! overdue" in shown.stdout
    finally:
        silent.stop()
        agent.api.close()
        agent.service.stop()
