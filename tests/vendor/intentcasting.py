"""Factories for the intentcasting tests: people's intents, an exchange in-process, the vendor."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from vrm.exchange.api import create_exchange_app
from vrm.exchange.service import Exchange
from vrm.exchange.service import ExchangeSettings as ExchangeServiceSettings
from vrm.protocol import Identity, compose
from vrm.protocol.v1.intents import INTENT
from vrm.transport.client import AsgiTransport, Transport
from vrm.vendor.api import create_vendor_app
from vrm.vendor.config import settings_from
from vrm.vendor.endpoint import VendorEndpoint

EXCHANGE_URL = "http://exchange.test"
VENDOR_URL = "http://grocer.test"
TOKEN = "vendor-api-token"
JWS = {"content-type": "application/vrm+jws"}


def intent(category: str = "vehicles/cars/electric", *, lasts: int = 3600) -> dict[str, Any]:
    """An intent body: a small electric car in Edinburgh, for 15 000 to 25 000 EUR."""
    return {
        "demand": {
            "category": category,
            "description": "a small electric car, blue if possible",
            "itemOffered": {"additionalProperty": [{"name": "range_km", "value": "300"}]},
            "eligibleQuantity": {"value": 1},
            "priceSpecification": {"minPrice": 15000, "maxPrice": 25000, "priceCurrency": "EUR"},
            "areaServed": {"addressCountry": "GB", "postalCode": "EH6", "radiusKm": 40},
            "availabilityEnds": "2027-03-01",
            "validThrough": int(time.time()) + lasts,
        },
        "terms": ["SD-BASE", "NoStalking", "no-such-term"],
    }


def vendor_settings(*, push: bool = True, **exchange: Any) -> dict[str, Any]:
    """Settings of a vendor subscribed to vehicles in GB at the in-process exchange."""
    return {
        "name": "Leith Motors",
        "public_url": VENDOR_URL,
        "allow_loopback": True,
        "exchanges": [
            {"url": EXCHANGE_URL, "categories": ["vehicles"], "regions": ["GB"], "push": push}
            | exchange
        ],
    }


def open_exchange(home: Path) -> tuple[Exchange, Any]:
    """A real exchange and its app, called in-process at EXCHANGE_URL (no worker running)."""
    exchange = Exchange.open(ExchangeServiceSettings(), home=home, public_url=EXCHANGE_URL)
    return exchange, create_exchange_app(exchange, public_url=EXCHANGE_URL)


def open_vendor(home: Path, settings: dict[str, Any], transport: Transport) -> VendorEndpoint:
    """A vendor endpoint whose outgoing calls all go through ``transport``."""
    return VendorEndpoint.open(settings_from(settings), home=home, transport=transport)


@asynccontextmanager
async def client(app: Any, base_url: str, **headers: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client calling ``app`` in-process."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, headers=headers
    ) as opened:
        yield opened


def vendor_app(vendor: VendorEndpoint) -> Any:
    """The vendor's whole app, as ``vrm serve vendor`` serves it."""
    return create_vendor_app(vendor, api_token=TOKEN)


async def publish(
    exchange: Exchange, exchange_app: Any, body: dict[str, Any] | None = None
) -> tuple[Identity, str]:
    """A person publishes an intent from a new pseudonym; return it and the intent's id."""
    pseudonym = Identity.generate()
    _, token = compose(pseudonym, type=INTENT, to=exchange.identity.did, body=body or intent())
    async with client(exchange_app, EXCHANGE_URL) as http:
        reply = await http.post("/inbox", content=token, headers=JWS)
    assert reply.status_code == 202, reply.text
    return pseudonym, str(reply.json()["id"])


def pushing_to(vendor_application: Any) -> AsgiTransport:
    """A transport for the exchange's push worker that reaches the vendor's app in-process."""
    return AsgiTransport(vendor_application, base_url=VENDOR_URL)
