"""The vendor's [[exchanges]] settings: what they subscribe to, and one clear line when wrong."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from vrm.vendor.config import ExchangeSettings, settings_from
from vrm.vendor.intents_routes import router

URL = "https://vrm.motors.example"
TEXT = (Path(__file__).resolve().parents[2] / "docs" / "vendor.md").read_text(encoding="utf-8")


def with_exchange(**entry: Any) -> dict[str, Any]:
    return {
        "name": "Leith Motors",
        "public_url": URL,
        "exchanges": [{"url": "https://exchange.example/", "categories": ["vehicles"]} | entry],
    }


def test_an_entry_becomes_the_subscription_the_exchange_is_sent() -> None:
    """Codes are taken in any case and kept as the protocol writes them; push by default."""
    settings = settings_from(
        with_exchange(
            categories=["Vehicles/Cars", "vehicles/cars"],
            regions=["gb-sct", "FR"],
            min_price=1000,
            max_price=30000,
            currency="eur",
        )
    )
    [exchange] = settings.exchanges
    assert exchange.url == "https://exchange.example"
    assert (exchange.push, exchange.pull_interval) == (True, 30.0)
    assert exchange.subscription().model_dump(exclude_none=True) == {
        "categories": ["vehicles/cars"],
        "regions": ["GB-SCT", "FR"],
        "minPrice": 1000,
        "maxPrice": 30000,
        "priceCurrency": "EUR",
    }


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            {"categories": ["vehicles/carz"]},
            "exchanges.0.categories: Value error, no category 'vehicles/carz'; did you mean",
        ),
        ({"categories": []}, "exchanges.0.categories: List should have at least 1 item"),
        ({"regions": ["Scotland"]}, "exchanges.0.regions: Value error, 'Scotland': give ISO 3166"),
        ({"min_price": 10}, "exchanges.0: Value error, min_price and max_price need a currency"),
        (
            {"min_price": 10, "max_price": 5, "currency": "EUR"},
            "exchanges.0: Value error, min_price is above max_price",
        ),
        ({"currency": "euro"}, "exchanges.0.currency: Value error, 'euro' is not an ISO 4217"),
        ({"pull_interval": 0}, "exchanges.0.pull_interval: Input should be greater than or equal"),
        ({"pull": True}, "exchanges.0.pull: Extra inputs are not permitted"),
        ({"url": "exchange.example"}, "exchanges.0.url: String should match pattern"),
        ({"public_url": None}, "exchanges: Value error, set public_url: offers name it"),
        ({"twice": True}, "exchanges: Value error, https://exchange.example is given twice"),
    ],
)
def test_a_wrong_entry_stops_the_start_with_one_line_naming_it(
    change: dict[str, Any], said: str
) -> None:
    """The file, the key and what is wrong, on one line."""
    document = with_exchange(**change)
    if document["exchanges"][0].pop("public_url", URL) is None:
        del document["public_url"]
    if document["exchanges"][0].pop("twice", False):
        document["exchanges"].append({"url": "https://exchange.example", "categories": ["food"]})
    with pytest.raises(ValueError, match=r"^vendor\.toml: ") as refused:
        settings_from(document, source="vendor.toml")
    assert said in str(refused.value)
    assert "\n" not in str(refused.value)


def test_the_guide_explains_every_exchange_setting_and_intents_route() -> None:
    """docs/vendor.md has a row per [[exchanges]] key and a heading per route."""
    missing = [
        key
        for key in ExchangeSettings.model_fields
        if not re.search(rf"^\| `{key}` \(exchanges?\)", TEXT, flags=re.MULTILINE)
    ]
    assert not missing, f"docs/vendor.md does not explain {missing}"
    for route in (r for r in router.routes if isinstance(r, APIRoute)):
        for method in route.methods:
            assert f"`{method} {route.path}" in TEXT, f"{method} {route.path} is not in the guide"
