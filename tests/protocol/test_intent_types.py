"""Intentcasting bodies refuse what cannot be meant: a place given two ways, prices reversed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from vrm.protocol import Identity, Verifier, compose
from vrm.protocol.v1.intents import INTENT, Intent, intent_types

NOW = int(time.time())


def demand(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "vehicles/cars/electric",
        "description": "a small electric car",
        "itemOffered": {"additionalProperty": [{"name": "range_km", "value": "300"}]},
        "eligibleQuantity": {"value": 1},
        "priceSpecification": {"minPrice": 10000, "maxPrice": 20000, "priceCurrency": "EUR"},
        "areaServed": {"addressCountry": "GB", "postalCode": "EH6", "radiusKm": 40},
        "availabilityEnds": "2027-03-01",
        "validThrough": NOW + 86400,
    }
    body.update(changes)
    return body


def test_an_intent_travels_signed_and_is_read_back_with_schema_org_names() -> None:
    """The body's member names are schema.org's (itemOffered, priceSpecification, areaServed)."""
    person, exchange = Identity.generate(), Identity.generate()
    _, token = compose(
        person, type=INTENT, to=exchange.did, body={"demand": demand(), "terms": ["SD-BASE"]}
    )
    verifier = Verifier(receiver=exchange.did, types=intent_types(), seen_ids=None)
    body = verifier.verify(token).body
    assert isinstance(body, Intent)
    assert body.demand.priceSpecification.maxPrice == 20000
    assert body.demand.areaServed.country == "GB"
    assert body.demand.itemOffered.additionalProperty[0].name == "range_km"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"category": "Vehicles/Cars"}, "category"),
        ({"category": "a/b/c/d/e"}, "category"),
        (
            {"priceSpecification": {"minPrice": 9, "maxPrice": 1, "priceCurrency": "EUR"}},
            "minPrice is above maxPrice",
        ),
        (
            {"priceSpecification": {"maxPrice": 1, "priceCurrency": "euro"}},
            "priceCurrency",
        ),
        (
            {"areaServed": {"addressCountry": "GB", "addressRegion": "GB-SCT"}},
            "give addressCountry",
        ),
        ({"areaServed": {"addressRegion": "GB-SCT", "radiusKm": 5}}, "a region has no"),
        ({"areaServed": {}}, "give addressCountry"),
        ({"eligibleQuantity": {"value": 0}}, "eligibleQuantity"),
    ],
)
def test_what_cannot_be_meant_is_refused(changes: dict[str, Any], message: str) -> None:
    """Each malformed demand names what is wrong."""
    with pytest.raises(ValidationError, match=message):
        Intent.model_validate({"demand": demand(**changes), "terms": ["SD-BASE"]})


def test_an_intent_needs_terms() -> None:
    """Every intent carries the person's terms: an offer must accept them."""
    with pytest.raises(ValidationError, match="terms"):
        Intent.model_validate({"demand": demand(), "terms": []})
