"""The loyalty API: memberships listed and shown, fresh codes, preferences shared."""

from __future__ import annotations

import httpx
import pytest

from tests.agent.loyalty.cards import credential, give, revoke
from tests.agent.vendors import Clock, VendorNetwork, connect
from vrm.agent.personal_agent import PersonalAgent
from vrm.protocol import CredentialStanding, MemorySeenIds, verify_membership

pytestmark = pytest.mark.anyio


async def test_memberships_are_listed_shown_and_presented(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """The list and one membership in words; a presentation the vendor accepts; its QR in SVG."""
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    signed = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, signed, clock=clock)

    [listed] = (await app.get("/api/loyalty")).json()
    assert (listed["vendor"], listed["tier"], listed["state"]) == (
        "Corner Grocer",
        "gold",
        "active",
    )
    assert listed["credential"] == signed.token
    assert (await app.get(f"/api/loyalty/{listed['id']}")).json() == listed

    made = await app.post(f"/api/loyalty/{listed['id']}/presentation")
    assert made.status_code == 200, made.text
    shown = made.json()
    assert shown["expires_at"] - shown["issued_at"] == 120
    checked = verify_membership(
        shown["presentation"],
        verifier=grocer.did,
        now=clock(),
        standing=lambda _id, _digest: CredentialStanding.GOOD,
        seen=MemorySeenIds(clock),
    )
    assert checked.credential.id == signed.credential.id

    image = await app.post(f"/api/loyalty/{listed['id']}/presentation", params={"qr": "true"})
    assert image.headers["content-type"] == "image/svg+xml"
    assert image.content.startswith(b"<svg")
    assert b"style" not in image.content
    kinds = [entry["kind"] for entry in (await app.get("/api/audit")).json()]
    assert kinds.count("membership.presented") == 2


async def test_bad_requests_are_problem_documents(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """No such membership: 404; revoked: 409; a preference too long, an unknown field: 422."""
    assert (await app.get("/api/loyalty/7")).status_code == 404
    missing = await app.post("/api/loyalty/7/presentation")
    assert (missing.status_code, missing.headers["content-type"]) == (
        404,
        "application/problem+json",
    )
    grocer, relationship = await connect(person, network, "Corner Grocer", clock=clock)
    signed = credential(grocer, relationship, clock=clock)
    give(person, grocer, relationship, signed, clock=clock)
    revoke(person, grocer, relationship, signed.credential.id, clock=clock)
    [listed] = (await app.get("/api/loyalty")).json()
    revoked = await app.post(f"/api/loyalty/{listed['id']}/presentation")
    assert (revoked.status_code, revoked.json()["code"]) == (409, "conflict")
    for wrong in ({"brands": "x" * 501}, {"colour": "blue"}, {"vendors": ["the grocer"]}):
        reply = await app.put("/api/loyalty/preferences", json=wrong)
        assert reply.status_code == 422, wrong


async def test_preferences_are_set_and_shared_through_the_api(
    app: httpx.AsyncClient, person: PersonalAgent, network: VendorNetwork, clock: Clock
) -> None:
    """PUT sets both and grants the vendors named; GET says who may see them."""
    _, grocer = await connect(person, network, "Corner Grocer", clock=clock)
    _, baker = await connect(person, network, "Baker", clock=clock)
    before = (await app.get("/api/loyalty/preferences")).json()
    assert before == {
        "loyalty": None,
        "brands": None,
        "vendors": [
            {"id": grocer.id, "name": "Corner Grocer", "shared": False, "fields": []},
            {"id": baker.id, "name": "Baker", "shared": False, "fields": []},
        ],
    }
    body = {"loyalty": "Cash off, no points", "brands": "Fairphone", "vendors": [baker.id]}
    after = await app.put("/api/loyalty/preferences", json=body)
    assert after.status_code == 200, after.text
    shared = after.json()
    assert (shared["loyalty"], shared["brands"]) == ("Cash off, no points", "Fairphone")
    assert [v["shared"] for v in shared["vendors"]] == [False, True]
    assert shared["vendors"][1]["fields"] == ["preference.brands", "preference.loyalty"]
    assert (await app.get("/api/profile")).json()["preference.brands"] == "Fairphone"
