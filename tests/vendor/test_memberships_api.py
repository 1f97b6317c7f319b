"""The memberships API of the vendor endpoint, called in-process with its token."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendor.people import VENDOR, request
from vrm.protocol import Identity, issue_membership, present_membership
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

TOKEN = "vendor-api-token"
GOLD = {"tier": "gold", "benefits": ["10% off fresh bread"], "valid_until": "2099-12-31"}
pytestmark = pytest.mark.anyio


async def nowhere(scope: Any, receive: Any, send: Any) -> None:
    """People's inboxes: the worker does not run in these tests."""


@pytest.fixture
async def vendor(tmp_path: Path) -> AsyncIterator[VendorEndpoint]:
    settings = settings_from({"name": "Corner Grocer", "public_url": "https://grocer.example"})
    endpoint = VendorEndpoint.open(
        settings, home=tmp_path, identity=VENDOR, transport=AsgiTransport(nowhere)
    )
    yield endpoint
    await endpoint.aclose()


@pytest.fixture
async def api(vendor: VendorEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    app = create_vendor_app(vendor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://grocer.example",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def member(vendor: VendorEndpoint) -> Identity:
    person = Identity.generate()
    await vendor.handle(request(person))
    return person


def shown(credential: str, person: Identity, audience: str = VENDOR.did) -> str:
    return present_membership(credential, person, audience=audience, now=time.time()).text


async def test_issue_list_verify_and_revoke_through_the_api(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """202 with the credential; the code verifies as gold; revoked, it is refused."""
    person = await member(vendor)
    path = f"/api/customers/{person.did}/memberships"
    issued = await api.post(path, json=GOLD)
    assert issued.status_code == 202, issued.text
    membership = issued.json()
    assert (membership["tier"], membership["program"]) == ("gold", "Corner Grocer membership")
    assert membership["validUntil"] == "2100-01-01T00:00:00Z"
    assert (await api.get(path)).json() == [membership]
    assert (await api.get("/api/memberships")).json() == [membership]

    checked = await api.post(
        "/api/memberships/verify", json={"presentation": shown(membership["credential"], person)}
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["valid"] is True
    assert checked.json()["member"]["tier"] == "gold"
    assert checked.json()["member"]["customer"] == person.did

    revoked = await api.post(
        f"/api/memberships/{membership['id']}/revoke", json={"reason": "left the area"}
    )
    assert (revoked.status_code, revoked.json()["state"]) == (200, "revoked")
    refused = await api.post(
        "/api/memberships/verify", json={"presentation": shown(membership["credential"], person)}
    )
    assert (refused.status_code, refused.json()["reason"]) == (422, "revoked")


async def test_a_refused_code_is_a_problem_document_with_its_reason(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """Tampered, another vendor's, junk: 422 problem+json, ``membership_refused`` + reason."""
    person = await member(vendor)
    issued = (await api.post(f"/api/customers/{person.did}/memberships", json=GOLD)).json()
    text = shown(issued["credential"], person)
    tampered = text[:60] + ("A" if text[60] != "A" else "B") + text[61:]
    baker = Identity.generate()
    bakers = issue_membership(
        baker,
        subject=person.did,
        program="Baker's Dozen",
        tier="gold",
        member_since=dt.date(2024, 1, 1),
        valid_from=int(time.time()),
    )
    for presented, reason in (
        (tampered, "tampered"),
        (shown(bakers.token, person), "another_vendor"),
        (shown(issued["credential"], person, audience=baker.did), "wrong_audience"),
        ("a loyalty card number", "malformed"),
    ):
        reply = await api.post("/api/memberships/verify", json={"presentation": presented})
        assert reply.status_code == 422, presented
        assert reply.headers["content-type"] == "application/problem+json"
        problem = reply.json()
        assert (problem["code"], problem["reason"]) == ("membership_refused", reason)
        assert problem["detail"]


async def test_bad_requests_are_problem_documents(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """Unknown customer or membership: 404; a field the API does not take, no tier: 422."""
    stranger = Identity.generate().did
    unknown = await api.post(f"/api/customers/{stranger}/memberships", json=GOLD)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (await api.get(f"/api/customers/{stranger}/memberships")).status_code == 404
    person = await member(vendor)
    path = f"/api/customers/{person.did}/memberships"
    for wrong in ({"tier": "gold", "points": 10}, {"benefits": ["x"]}, {"tier": ""}):
        reply = await api.post(path, json=wrong)
        assert (reply.status_code, reply.json()["code"]) == (422, "invalid_request"), wrong
    past = await api.post(path, json={"tier": "gold", "valid_until": "2001-01-01"})
    assert (past.status_code, past.json()["code"]) == (422, "invalid_request")
    gone = await api.post("/api/memberships/urn:uuid:00000000-0000-4000-8000-000000000000/revoke")
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert (await api.get(path)).json() == []


async def test_the_api_needs_the_token(vendor: VendorEndpoint) -> None:
    """Without the bearer token nothing is issued, listed or verified."""
    app = create_vendor_app(vendor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://grocer.example"
    ) as anonymous:
        for method, path in (
            ("POST", "/api/memberships/verify"),
            ("GET", "/api/memberships"),
            ("POST", f"/api/customers/{Identity.generate().did}/memberships"),
        ):
            reply = await anonymous.request(method, path, json={})
            assert reply.status_code == 401, path
