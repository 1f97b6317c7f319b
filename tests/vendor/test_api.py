"""The vendor's JSON API for agreements and data rights, and the terms discovery publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.vendor.people import VENDOR, offer, request, terms, update
from vrm.protocol import Discovery, Identity
from vrm.transport.client import AsgiTransport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

pytestmark = pytest.mark.anyio
TOKEN = "vendor-api-token"


async def nowhere(scope: Any, receive: Any, send: Any) -> None:
    """People's inboxes: the worker does not run in these tests."""


@pytest.fixture
async def vendor(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[VendorEndpoint]:
    """An endpoint with the [terms] a test gives as its parameter (default: the library)."""
    settings = settings_from(
        {"name": "Corner Grocer", "terms": getattr(request, "param", {}), "allow_loopback": True}
    )
    endpoint = VendorEndpoint.open(
        settings, home=tmp_path, identity=VENDOR, transport=AsgiTransport(nowhere)
    )
    yield endpoint
    await endpoint.aclose()


@pytest.fixture
async def api(vendor: VendorEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    """The endpoint's app in-process, with the API token."""
    app = create_vendor_app(vendor, api_token=TOKEN)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://grocer.test",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def related(vendor: VendorEndpoint, *extra: str) -> Identity:
    """A person who asked for a relationship proffering SD-BASE (plus ``extra``)."""
    person = Identity.generate()
    await vendor.handle(request(person, offer(person, terms("SD-BASE", *extra))))
    return person


@pytest.mark.parametrize(
    "vendor",
    [{"accepts": ["SD-BASE"], "accepts_additional": ["NoStalking"], "alternative": "sd-base-dp"}],
    indirect=True,
)
async def test_discovery_publishes_the_terms_the_vendor_accepts(api: httpx.AsyncClient) -> None:
    """Agreements, additional terms and the alternative, as a person's agent reads them."""
    reply = await api.get("/.well-known/vrm", headers={"Authorization": ""})
    assert reply.status_code == 200
    published = Discovery.model_validate(reply.json())
    assert published.did == VENDOR.did
    assert published.inbox == "http://grocer.test/inbox"
    assert published.accepted_terms == ["SD-BASE"]
    assert published.accepted_additional_terms == ["NoStalking"]
    assert published.alternative_terms == "SD-BASE-DP"
    assert "vrm/1/agreement.proffer" in published.message_types


@pytest.mark.parametrize("vendor", [{"manual": True}], indirect=True)
async def test_the_vendor_decides_held_proffers_through_the_api(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """Pending proffers are listed; accepting one makes it active; deciding twice is 409."""
    ann = await related(vendor, "mine-too")
    bob = await related(vendor)
    pending = (await api.get("/api/agreements/pending")).json()
    assert [(p["customer"], p["name"]) for p in pending] == [
        (ann.did, "SD-BASE + mine-too"),
        (bob.did, "SD-BASE"),
    ]
    sha = pending[0]["terms_sha256"]
    base = f"/api/customers/{ann.did}/agreements"
    accepted = await api.post(f"{base}/{sha}/accept")
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "active"
    again = await api.post(f"{base}/{sha}/reject")
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    unknown = await api.post(f"{base}/{'f' * 64}/accept")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    malformed = await api.post(f"{base}/not-a-hash/accept")
    assert malformed.status_code == 422
    [held] = (await api.get(base)).json()
    assert (held["state"], held["document"]["terms"]["agreement"]["id"]) == ("active", "SD-BASE")
    assert set(held["document"]["signatures"]) == {"person", "vendor"}

    bob_sha = pending[1]["terms_sha256"]
    bob_base = f"/api/customers/{bob.did}/agreements/{bob_sha}"
    wrong = await api.post(f"{bob_base}/alternative", json={"agreement": "SD-NOPE"})
    assert (wrong.status_code, wrong.json()["code"]) == (422, "invalid_request")
    offered = await api.post(f"{bob_base}/alternative", json={"agreement": "PDC-GOOD"})
    assert offered.json()["state"] == "alternative"
    assert (await api.get("/api/agreements/pending")).json() == []


async def test_the_vendor_keeps_its_own_data_about_a_customer(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """PUT merges keys, null removes one; the customer shows it; only objects are taken."""
    person = await related(vendor)
    data = f"/api/customers/{person.did}/data"
    first = await api.put(data, json={"loyalty_tier": "gold", "visits": 3})
    assert first.json() == {"loyalty_tier": "gold", "visits": 3}
    second = await api.put(data, json={"visits": None, "notes": {"prefers": "mornings"}})
    assert second.json() == {"loyalty_tier": "gold", "notes": {"prefers": "mornings"}}
    shown = (await api.get(f"/api/customers/{person.did}")).json()
    assert shown["vendor_data"] == {"loyalty_tier": "gold", "notes": {"prefers": "mornings"}}
    not_an_object = await api.put(data, json=["gold"])
    assert (not_an_object.status_code, not_an_object.json()["code"]) == (422, "invalid_request")
    stranger = await api.put(f"/api/customers/{Identity.generate().did}/data", json={"a": 1})
    assert stranger.status_code == 404


async def test_export_and_erase_from_the_api(
    api: httpx.AsyncClient, vendor: VendorEndpoint
) -> None:
    """The export is what the person would get; erasing leaves only the tombstone."""
    person = await related(vendor)
    await vendor.handle(update(person, "email.home", 1, "ann@example.org"))
    await api.put(f"/api/customers/{person.did}/data", json={"loyalty_tier": "gold"})
    export = (await api.get(f"/api/customers/{person.did}/export")).json()
    assert [(f["path"], f["value"]) for f in export["fields"]] == [
        ("email.home", "ann@example.org")
    ]
    assert export["vendor_data"] == {"loyalty_tier": "gold"}
    assert [a["terms"]["agreement"]["id"] for a in export["agreements"]] == ["SD-BASE"]

    erased = await api.post(f"/api/customers/{person.did}/erase")
    assert erased.status_code == 200
    shown = erased.json()
    assert (shown["state"], shown["fields"], shown["terms"], shown["vendor_data"]) == (
        "erased",
        {},
        {},
        {},
    )
    assert (await api.get(f"/api/customers/{person.did}/history")).json() == []
    listed = (await api.get("/api/customers", params={"state": "erased"})).json()
    assert [c["did"] for c in listed] == [person.did]
    for again in (
        api.get(f"/api/customers/{person.did}/export"),
        api.post(f"/api/customers/{person.did}/erase"),
        api.put(f"/api/customers/{person.did}/data", json={"a": 1}),
    ):
        refused = await again
        assert (refused.status_code, refused.json()["code"]) == (409, "conflict")
    assert (await api.get("/api/deliveries")).json() == []  # no adapters: nothing elsewhere
    sent = (await api.get("/api/deliveries", params={"answers": "true"})).json()
    assert sent[0]["queue"] == "erasure"  # the person's confirmation, waiting for the worker
    assert {d["queue"] for d in sent[1:]} == {"message"}


async def test_the_new_routes_need_the_token(api: httpx.AsyncClient) -> None:
    """Agreements and data rights are behind the same bearer token as the rest."""
    reply = await api.get("/api/agreements/pending", headers={"Authorization": "Bearer nope"})
    assert (reply.status_code, reply.json()["code"]) == (401, "unauthorised")
