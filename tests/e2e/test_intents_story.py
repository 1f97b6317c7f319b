"""The intent story between processes: ``vrm`` → exchange → vendors → offers → one taken."""

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
from tests.processes import ServiceProcess, fleet_customers, start_fleet, start_service
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


def test_publish_compare_and_take_an_offer_the_winner_alone_learns_who_you_are(
    exchange: ServiceProcess, tmp_path: Path
) -> None:
    first, second = start_fleet(1, base="north"), start_fleet(1, base="south")
    token = prepare_home(tmp_path / "agent")
    agent = serve(tmp_path / "agent", token)
    home = tmp_path / "agent"
    try:
        sellers = [(vendor_identity(b"north", 0), first), (vendor_identity(b"south", 0), second)]
        for seller, fleet in sellers:
            subscribe(exchange, seller, f"{fleet.url}/v/0/inbox")
        agent.api.put("/api/profile/address.home", json={"value": HOME_ADDRESS}).raise_for_status()

        published = vrm(
            home, "intents", "new", "--exchange", exchange.url,
            "--category", "vehicles/cars/electric", "--description", "a small blue EV",
            "--max-price", "25000", "--currency", "eur", "--country", "gb",
            "--postal-code", "EH6", "--radius-km", "40", "--property", "colour=blue",
        )  # fmt: skip
        assert published.returncode == 0, published.stderr
        for (seller, fleet), price in zip(sellers, (21500.0, 19900.0), strict=True):
            [match] = eventually(lambda f=fleet: httpx.get(f"{f.url}/v/0/matches").json())
            make_offer(match, seller, fleet.url, price)

        listed = vrm(home, "offers", "list", "1", "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert [row["total"] for row in rows] == [20150.0, 21750.0]  # cheapest in all first
        assert all(row["accepts_all_terms"] for row in rows)
        cheapest = rows[0]
        assert cheapest["seller"]["did"] == sellers[1][0].did

        # Before taking an offer, no vendor knows anything but the pseudonym.
        pseudonym = json.loads(vrm(home, "intents", "list", "--json").stdout)[0]["pseudonym"]
        for _, fleet in sellers:
            assert fleet_customers(fleet) == {}
        taken = vrm(home, "offers", "accept", str(cheapest["id"]))
        assert taken.returncode == 0, taken.stderr

        def winner_holds() -> dict[str, Any]:
            held = fleet_customers(second)
            return next((c for c in held.values() if c["fields"]), {})

        holder = eventually(winner_holds, what="the address reaching the winner")
        assert holder["fields"] == {"address.home": HOME_ADDRESS}
        # The other seller hears only from the pseudonym (its decline), never who you are.
        loser = eventually(lambda: fleet_customers(first), what="the decline")
        assert list(loser) == [pseudonym]
        assert loser[pseudonym]["fields"] == {}
        our_did = next(iter(fleet_customers(second)))
        assert our_did != pseudonym  # the relationship DID is not the intent's pseudonym
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
        second.stop()
