"""A vendor endpoint and ``vrm serve exchange`` in its own process, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.processes import ServiceProcess, free_port, start_service
from tests.vendor.intentcasting import JWS, TOKEN, intent, vendor_app
from vrm.protocol import Identity, Verifier, compose, decrypt
from vrm.protocol.v1.intents import INTENT, MAILBOX_FETCH, OfferBody, intent_types
from vrm.transport.serving import LocalServer
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ServiceProcess]:
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(tmp_path / "x")]
    service = start_service([*command, "--port", "0", "--allow-loopback"])
    yield service
    service.stop()


async def eventually(check: Any, what: str, seconds: float = 20) -> Any:
    with anyio.fail_after(seconds):
        while not (found := await check()):
            await anyio.sleep(0.05)
    assert found, what
    return found


async def test_an_intent_pushed_by_the_exchange_gets_an_offer_only_the_person_reads(
    exchange: ServiceProcess, tmp_path: Path
) -> None:
    """Subscribe on start, take the pushed intent, offer through the API, read it as the person."""
    port = free_port()
    settings = settings_from(
        {
            "name": "Leith Motors",
            "public_url": f"http://127.0.0.1:{port}",
            "allow_loopback": True,
            "exchanges": [{"url": exchange.url, "categories": ["vehicles/cars"]}],
        }
    )
    vendor = VendorEndpoint.open(settings, home=tmp_path / "vendor")
    async with (
        LocalServer(vendor_app(vendor), port=port) as server,
        httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}) as api,
        httpx.AsyncClient(base_url=exchange.url, headers=JWS) as market,
    ):

        async def subscribed() -> bool:
            return bool((await api.get("/api/exchanges")).json()[0]["subscribed_at"])

        await eventually(subscribed, "the subscription at the exchange")
        exchange_did = (await market.get("/.well-known/vrm")).json()["did"]
        person = Identity.generate()  # a pseudonym for this one intent
        _, token = compose(person, type=INTENT, to=exchange_did, body=intent())
        published = await market.post("/inbox", content=token)
        assert published.status_code == 202, published.text

        async def pushed() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = (await api.get("/api/intents")).json()
            return found

        [matched] = await eventually(pushed, "the exchange's push")
        assert matched["pseudonym"] == person.did
        made = await api.post(
            f"/api/intents/{matched['id']}/offers",
            json={"name": "Nimbus E1, blue", "price": 18999, "priceCurrency": "EUR"},
        )
        assert made.status_code == 201, made.text

        _, fetch = compose(person, type=MAILBOX_FETCH, to=exchange_did, body={"after": 0})
        [kept] = (await market.post("/mailbox/fetch", content=fetch)).json()["messages"]
    verifier = Verifier(receiver=person.did, types=intent_types(), seen_ids=None)
    offer = verifier.verify(decrypt(kept["message"], person))
    assert offer.sender == vendor.identity.did
    assert offer.id == made.json()["message_id"]
    assert isinstance(offer.body, OfferBody)
    assert offer.body.intent == published.json()["id"]
    assert offer.body.seller.url == f"http://127.0.0.1:{port}"
    assert offer.body.offer.price == 18999
