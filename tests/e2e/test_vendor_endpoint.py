"""``vrm serve vendor`` and ``vrm up`` in their own processes: change once, the vendor has it."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_agent_service import (
    HOME_ADDRESS,
    NEW_ADDRESS,
    RunningAgent,
    eventually,
    prepare_home,
    relate,
    serve,
)
from tests.processes import ServiceProcess, start_service
from vrm.protocol import PROFILE_UPDATE, Identity, ProfileUpdate, compose

pytestmark = pytest.mark.e2e


def start_vendor(home: Path, *extra: str, port: int = 0) -> tuple[ServiceProcess, httpx.Client]:
    """``vrm serve vendor`` with its home in ``home``; an API client with its token."""
    command = [sys.executable, "-m", "vrm", "serve", "vendor", "--home", str(home)]
    service = start_service(
        [*command, "--port", str(port), "--allow-loopback", "--name", "Corner Grocer", *extra]
    )
    token = (home / "api-token").read_text().strip()
    client = httpx.Client(
        base_url=service.url, headers={"Authorization": f"Bearer {token}"}, timeout=20
    )
    return service, client


def customer(api: httpx.Client, did: str) -> dict[str, Any]:
    reply = api.get(f"/api/customers/{did}")
    return reply.json() if reply.status_code == 200 else {}


def test_change_once_and_the_vendor_record_follows(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    vendor, api = start_vendor(tmp_path / "grocer")
    try:
        agent = running_agent
        agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
        related = relate(agent, vendor.url)
        did = related["our_did"]
        agent.api.post(
            "/api/grants",
            json={"vendor": str(related["id"]), "fields": ["address.home"], "purpose": "post"},
        ).raise_for_status()
        eventually(lambda: customer(api, did).get("fields") == {"address.home": HOME_ADDRESS})
        agent.api.put("/api/profile/address.home", json={"value": NEW_ADDRESS}).raise_for_status()
        eventually(lambda: customer(api, did).get("fields") == {"address.home": NEW_ADDRESS})

        held = customer(api, did)
        assert held["state"] == "accepted"
        assert held["terms"]["address.home"] == {"version": 2, "purpose": "post", "until": None}
        history = api.get(f"/api/customers/{did}/history").json()
        assert [(h["version"], h["value"]["streetAddress"]) for h in history] == [
            (1, HOME_ADDRESS["streetAddress"]),
            (2, NEW_ADDRESS["streetAddress"]),
        ]
        agent.api.post(
            "/api/grants/revoke", json={"vendor": str(related["id"]), "fields": ["address.home"]}
        ).raise_for_status()
        eventually(lambda: customer(api, did).get("fields") == {})
        assert api.get(f"/api/customers/{did}/history").json()[-1]["event"] == "revoke"
    finally:
        api.close()
        vendor.stop()


def test_manual_policy_waits_for_the_vendor(running_agent: RunningAgent, tmp_path: Path) -> None:
    vendor, api = start_vendor(tmp_path / "bank", "--policy", "manual")
    try:
        agent = running_agent
        reply = agent.api.post("/api/vendors", json={"url": vendor.url})
        assert reply.status_code == 201, reply.text
        did = reply.json()["our_did"]
        [waiting] = eventually(lambda: api.get("/api/relationships/pending").json())
        assert waiting["did"] == did
        assert agent.get(f"/api/vendors/{reply.json()['id']}")["vendor_state"] == "unknown"

        approved = api.post(f"/api/relationships/{did}/approve")
        assert approved.status_code == 200, approved.text
        eventually(
            lambda: agent.get(f"/api/vendors/{reply.json()['id']}")["vendor_state"] == "accepted",
            what="the approval reaching the agent",
        )
        again = api.post(f"/api/relationships/{did}/approve")
        assert again.status_code == 409
        assert again.json()["code"] == "conflict"
        assert api.post("/api/relationships/did:key:zNobody/refuse").status_code == 404
    finally:
        api.close()
        vendor.stop()


def test_forged_and_replayed_messages_are_refused_with_their_codes(tmp_path: Path) -> None:
    vendor, api = start_vendor(tmp_path / "shop")
    try:
        vendor_did = httpx.get(f"{vendor.url}/.well-known/vrm").json()["did"]
        mallory = Identity.generate()
        body = ProfileUpdate.model_validate(
            {
                "grant": {"purpose": "x"},
                "fields": [{"path": "email.home", "version": 1, "value": "m@x", "changed_time": 1}],
            }
        )
        _, token = compose(mallory, type=PROFILE_UPDATE, to=vendor_did, body=body)
        headers = {"Content-Type": "application/vrm+jws"}
        inbox = f"{vendor.url}/inbox"

        stranger = httpx.post(inbox, content=token, headers=headers)
        assert stranger.status_code == 403
        assert stranger.json()["code"] == "wrong_recipient"  # no relationship with Mallory

        head, payload, signature = token.split(".")
        forged = f"{head}.{payload[:-4]}AAAA.{signature}"
        refused = httpx.post(inbox, content=forged, headers=headers)
        assert refused.json()["code"] in {"bad_signature", "malformed"}

        _, ping = compose(mallory, type="vrm/1/ping", to=vendor_did, body={})
        assert httpx.post(inbox, content=ping, headers=headers).status_code == 202
        replayed = httpx.post(inbox, content=ping, headers=headers)
        assert replayed.status_code == 409
        assert replayed.json()["code"] == "replay"
        assert api.get("/api/customers").json() == []
        assert httpx.get(f"{vendor.url}/api/customers").status_code == 401
    finally:
        api.close()
        vendor.stop()


def test_an_endpoint_down_for_a_while_gets_the_change_when_back(
    running_agent: RunningAgent, tmp_path: Path
) -> None:
    home = tmp_path / "magazine"
    vendor, api = start_vendor(home)
    port = int(vendor.url.rsplit(":", 1)[1])
    agent = running_agent
    agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()
    related = relate(agent, vendor.url)
    did = related["our_did"]
    agent.api.post(
        "/api/grants",
        json={"vendor": str(related["id"]), "fields": ["address.home"], "purpose": "post"},
    ).raise_for_status()
    eventually(lambda: customer(api, did).get("fields") == {"address.home": HOME_ADDRESS})
    api.close()
    vendor.stop()

    agent.api.put("/api/profile/address.home", json={"value": NEW_ADDRESS}).raise_for_status()
    failing = eventually(
        lambda: [d for d in agent.get("/api/deliveries", state="pending") if d["attempts"]],
        what="a failed attempt while the vendor is down",
    )
    assert failing[0]["error"]  # the person sees why it is still pending
    back, api = start_vendor(home, port=port)  # the same endpoint, its store kept
    try:
        eventually(
            lambda: customer(api, did).get("fields") == {"address.home": NEW_ADDRESS},
            timeout=20,
            what="the change after the outage",
        )
        assert [h["version"] for h in api.get(f"/api/customers/{did}/history").json()] == [1, 2]
    finally:
        api.close()
        back.stop()


def test_agent_killed_mid_propagation_to_endpoints_loses_nothing(tmp_path: Path) -> None:
    changes = 100
    vendors = [start_vendor(tmp_path / f"vendor{i}") for i in range(3)]
    home = tmp_path / "agent"
    token = prepare_home(home)
    agent = serve(home, token)
    try:
        dids = []
        for index, (vendor, _) in enumerate(vendors):
            related = relate(agent, vendor.url)
            agent.api.post(
                "/api/grants",
                json={"vendor": str(related["id"]), "fields": ["address.home"], "purpose": "post"},
            ).raise_for_status()
            dids.append(related["our_did"])
            assert index == related["id"] - 1

        def applied() -> int:
            return sum(
                len(api.get(f"/api/customers/{did}/history").json())
                for (_, api), did in zip(vendors, dids, strict=True)
            )

        # Changes come faster than one vendor's queue drains (its messages go one at a time),
        # and the agent is killed at once. On a fast moment the fan-out may finish first:
        # then the agent is started again and another burst follows, until a kill lands in
        # the middle of one.
        total = 0
        for _burst in range(3):
            first = total + 1
            total += changes

            def change(n: int, client: httpx.Client = agent.api) -> None:
                client.put(
                    "/api/profile/address.home", json={"value": {"streetAddress": f"{n} Lane"}}
                ).raise_for_status()

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(change, range(first, total + 1)))
            agent.service.kill()
            agent.api.close()
            if applied() < 3 * total:
                break
            agent = serve(home, token)
        assert applied() < 3 * total, "every burst's fan-out finished before the kill"
        changes = total

        agent = serve(home, token)
        newest = agent.get("/api/profile")["address.home"]  # the last change to commit
        for (_, api), did in zip(vendors, dids, strict=True):
            eventually(
                lambda api=api, did=did: (
                    customer(api, did).get("fields") == {"address.home": newest}
                ),
                timeout=30,
                what="the newest address at every endpoint",
            )
            history = api.get(f"/api/customers/{did}/history").json()
            versions_seen = [entry["version"] for entry in history]
            assert versions_seen == sorted(set(versions_seen))  # none applied twice, in order
            assert versions_seen[-1] == changes
        assert agent.get("/api/deliveries", state="failed") == []
    finally:
        agent.api.close()
        agent.service.stop()
        for service, api in vendors:
            api.close()
            service.stop()
