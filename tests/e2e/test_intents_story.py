"""The intent story between processes: ``vrm`` → exchange → vendors → offers → one taken.

One seller is a small fleet inbox, the other ``vrm serve vendor``: the endpoint a
vendor runs, which makes its offer through its API and learns which one was taken.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_agent_service import HOME_ADDRESS, eventually, prepare_home, serve
from tests.e2e.test_terms_and_rights import vrm
from tests.e2e.test_vendor_endpoint import customer, start_vendor
from tests.processes import (
    ServiceProcess,
    fleet_customers,
    free_port,
    start_fleet,
    start_service,
)
from vrm.demo.fleet import vendor_identity
from vrm.protocol import Identity, Verifier, compose, encrypt_for
from vrm.protocol.v1.intents import EXCHANGE_SUBSCRIBE, OFFER, intent_types

pytestmark = pytest.mark.e2e
JWS = {"content-type": "application/vrm+jws"}


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ServiceProcess]:
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(tmp_path / "x")]
    service = start_service([*command, "--port", "0", "--allow-loopback"])
    yield service
    service.stop()


def subscribe(exchange: ServiceProcess, vendor: Identity, inbox: str) -> None:
    did = httpx.get(f"{exchange.url}/.well-known/vrm").json()["did"]
    body = {"name": "dealer", "inbox": inbox, "subscriptions": [{"categories": ["vehicles"]}]}
    _, token = compose(vendor, type=EXCHANGE_SUBSCRIBE, to=did, body=body)
    assert httpx.post(f"{exchange.url}/inbox", content=token, headers=JWS).status_code == 202


def make_offer(match: dict[str, Any], seller: Identity, seller_url: str, price: float) -> None:
    """What a vendor does with a match: verify the intent, encrypt an offer to its pseudonym."""
    verifier = Verifier(receiver=match["exchange"], types=intent_types(), seen_ids=None)
    intent = verifier.verify(match["intent"])
    body = {
        "intent": intent.id,
        "offer": {
            "name": f"Nimbus E1 at {price:.0f}",
            "price": price,
            "priceCurrency": "EUR",
            "deliveryCost": 250,
            "validThrough": int(time.time()) + 3600,
        },
        "seller": {"name": "dealer", "url": seller_url, "did": seller.did},
        "accepts_terms": intent.body.terms,  # type: ignore[attr-defined]
        "needs": ["address.home"],
    }
    _, token = compose(seller, type=OFFER, to=intent.sender, body=body)
    posted = httpx.post(
        match["mailbox"],
        content=encrypt_for(intent.sender, token),
        headers={"content-type": "application/vrm+jwe"},
    )
    assert posted.status_code == 202, posted.text


def vendor_at_exchange(home: Path, exchange: ServiceProcess) -> tuple[ServiceProcess, httpx.Client]:
    """``vrm serve vendor`` subscribing to vehicles at the exchange as it starts."""
    port = free_port()
    home.mkdir(parents=True)
    config = home / "vendor.toml"
    config.write_text(
        f'public_url = "http://127.0.0.1:{port}"\n'
        f'[[exchanges]]\nurl = "{exchange.url}"\ncategories = ["vehicles"]\n',
        encoding="utf-8",
    )
    return start_vendor(home, "--config", str(config), port=port)


def test_publish_compare_and_take_an_offer_the_winner_alone_learns_who_you_are(
    exchange: ServiceProcess, tmp_path: Path
) -> None:
    first = start_fleet(1, base="north")
    second, api = vendor_at_exchange(tmp_path / "south", exchange)
    token = prepare_home(tmp_path / "agent")
    agent = serve(tmp_path / "agent", token)
    home = tmp_path / "agent"
    try:
        north = vendor_identity(b"north", 0)
        subscribe(exchange, north, f"{first.url}/v/0/inbox")
        eventually(lambda: api.get("/api/exchanges").json()[0]["subscribed_at"], what="subscribing")
        agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()

        published = vrm(
            home, "intents", "new", "--exchange", exchange.url,
            "--category", "vehicles/cars/electric", "--description", "a small blue EV",
            "--max-price", "25000", "--currency", "eur", "--country", "gb",
            "--postal-code", "EH6", "--radius-km", "40", "--property", "colour=blue",
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
        [match] = eventually(lambda: httpx.get(f"{first.url}/v/0/matches").json())
        make_offer(match, north, first.url, 21500.0)
        [matched] = eventually(lambda: api.get("/api/intents").json(), what="the push")
        made = api.post(
            f"/api/intents/{matched['id']}/offers",
            json={
                "name": "Nimbus E1, blue",
                "price": 19900,
                "priceCurrency": "EUR",
                "deliveryCost": 250,
                "needs": ["address.home"],
            },
        )
        assert made.status_code == 201, made.text

        listed = vrm(home, "offers", "list", "1", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert [row["total"] for row in rows] == [20150.0, 21750.0]  # cheapest in all first
        assert all(row["accepts_all_terms"] for row in rows)
        cheapest = rows[0]
        winner = httpx.get(f"{second.url}/.well-known/vrm").json()["did"]
        assert cheapest["seller"]["did"] == winner

        # Before taking an offer, no vendor knows anything but the pseudonym.
        pseudonym = json.loads(vrm(home, "intents", "list", "--json").stdout)[0]["pseudonym"]
        assert matched["pseudonym"] == pseudonym
        assert fleet_customers(first) == {}
        assert api.get("/api/customers").json() == []
        taken = vrm(home, "offers", "accept", str(cheapest["id"]))
        assert taken.returncode == 0, taken.stderr

        # The winner learns which offer was taken, and by which customer.
        [accepted] = eventually(
            lambda: api.get("/api/offers?state=accepted").json(), what="the acceptance"
        )
        assert accepted["id"] == made.json()["id"]
        our_did = accepted["customer"]
        assert our_did != pseudonym  # the relationship DID is not the intent's pseudonym
        eventually(
            lambda: customer(api, our_did).get("fields") == {"address.home": HOME_ADDRESS},
            what="the address reaching the winner's record of that customer",
        )
        assert [c["did"] for c in api.get("/api/customers").json()] == [our_did]
        [closed] = eventually(
            lambda: api.get("/api/intents?state=accepted").json(), what="the intent taken"
        )
        assert closed["id"] == matched["id"]
        # The other seller hears only from the pseudonym (its decline), never who you are.
        loser = eventually(lambda: fleet_customers(first), what="the decline")
        assert list(loser) == [pseudonym]
        assert loser[pseudonym]["fields"] == {}
        states = {row["id"]: row["state"] for row in json.loads(
            vrm(home, "offers", "list", "1", "--json", "--no-fetch").stdout
        )}  # fmt: skip
        assert sorted(states.values()) == ["accepted", "declined"]
        assert json.loads(vrm(home, "intents", "list", "--json").stdout)[0]["state"] == "accepted"
        kinds = [e["kind"] for e in agent.get("/api/audit")]
        assert {"intent.published", "offer.received", "intent.accepted"} <= set(kinds)
    finally:
        agent.api.close()
        agent.service.stop()
        first.stop()
        api.close()
        second.stop()
