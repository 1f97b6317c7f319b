"""The message types of intentcasting: what a person wants, and vendors' offers.

A person publishes an ``intent`` — a schema.org ``Demand`` plus the terms offers
must accept — to an intent exchange, from a pseudonymous DID used for that intent
alone. Vendors subscribe at the exchange (``exchange.subscribe``: category
prefixes, regions, price bands); the exchange sends each matching vendor an
``intent.match`` carrying the person's signed intent. A vendor answers with an
``offer`` (a schema.org ``Offer``) encrypted to the pseudonym and relayed by the
exchange, which cannot read it. The person declines offers (``offer.decline``) or
accepts one by starting a relationship with that vendor, from a new pairwise DID,
and telling it which offer that relationship takes (``offer.accept``).
Member names inside ``demand`` and ``offer`` are schema.org's own.
Specification: docs/protocol.md, section 7.8.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from vrm.protocol.envelope import Did, EpochSeconds, MessageId
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.message_types import (
    Body,
    FieldPath,
    HttpUrl,
    IsoDate,
    ShortText,
    v1_types,
)

INTENT = "vrm/1/intent"
INTENT_WITHDRAW = "vrm/1/intent.withdraw"
INTENT_MATCH = "vrm/1/intent.match"
OFFER = "vrm/1/offer"
OFFER_DECLINE = "vrm/1/offer.decline"
OFFER_ACCEPT = "vrm/1/offer.accept"
EXCHANGE_SUBSCRIBE = "vrm/1/exchange.subscribe"
MAILBOX_FETCH = "vrm/1/mailbox.fetch"
INTENTS_FETCH = "vrm/1/intents.fetch"

CategoryPath = Annotated[
    str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,3}$", max_length=200)
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
"""ISO 4217."""
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2."""
Region = Annotated[str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
"""ISO 3166-2 (``GB-SCT``), or a whole country (``GB``)."""
Amount = Annotated[float, Field(ge=0, le=1e12)]
TermId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class PropertyValue(Body):
    """schema.org ``PropertyValue``: one property of the item wanted (``range_km``: ``400``)."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    value: Annotated[str, Field(min_length=1, max_length=200)]


class ItemWanted(Body):
    """schema.org ``Product`` (or service) as far as the person describes it."""

    name: Name | None = None
    additionalProperty: list[PropertyValue] = Field(default_factory=list, max_length=32)


class Quantity(Body):
    """schema.org ``QuantitativeValue``."""

    value: Annotated[int, Field(ge=1, le=1_000_000)]


class PriceRange(Body):
    """schema.org ``PriceSpecification`` with a range."""

    minPrice: Amount = 0.0
    maxPrice: Amount
    priceCurrency: Currency

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if self.minPrice > self.maxPrice:
            raise ValueError("minPrice is above maxPrice")
        return self


class Place(Body):
    """Where: a country with a postal code and radius, or a region (ISO 3166-2)."""

    addressCountry: Country | None = None
    postalCode: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    radiusKm: Annotated[float, Field(gt=0, le=1000)] | None = None
    addressRegion: Region | None = None

    @model_validator(mode="after")
    def _one_way_to_say_where(self) -> Place:
        if (self.addressCountry is None) == (self.addressRegion is None):
            raise ValueError("give addressCountry (with postalCode and radiusKm) or addressRegion")
        if self.addressRegion is not None and (self.postalCode or self.radiusKm):
            raise ValueError("a region has no postalCode or radiusKm")
        return self

    @property
    def country(self) -> str:
        """The ISO 3166-1 country, whichever way the place is given."""
        return self.addressCountry or (self.addressRegion or "")[:2]


class Demand(Body):
    """schema.org ``Demand``: what the person wants, how many, for how much, where, by when."""

    category: CategoryPath
    description: Annotated[str, Field(max_length=2000)] = ""
    itemOffered: ItemWanted = Field(default_factory=ItemWanted)
    eligibleQuantity: Quantity = Quantity(value=1)
    priceSpecification: PriceRange
    areaServed: Place
    availabilityEnds: IsoDate | None = None
    """The date the person needs it by."""
    validThrough: EpochSeconds
    """When the intent expires: it is withdrawn everywhere then."""


class Intent(Body):
    """What a person wants, and the terms an offer must accept.

    ``pool`` lets the exchange pool the intent with compatible ones (a group intent);
    each member still answers offers alone and stays pseudonymous to the others.
    """

    demand: Demand
    terms: Annotated[list[TermId], Field(min_length=1, max_length=16)]
    pool: bool = False


class IntentWithdraw(Body):
    """The person withdraws the intent ``intent`` (its message id)."""

    intent: MessageId


class Subscription(Body):
    """What a vendor wants to hear about: categories (prefixes), regions, a price band."""

    categories: Annotated[list[CategoryPath], Field(min_length=1, max_length=64)]
    regions: list[Region] = Field(default_factory=list, max_length=64)
    """ISO 3166 countries or subdivisions; empty: everywhere."""
    minPrice: Amount | None = None
    maxPrice: Amount | None = None
    priceCurrency: Currency | None = None

    @model_validator(mode="after")
    def _a_band_has_a_currency(self) -> Subscription:
        if (self.minPrice is not None or self.maxPrice is not None) and not self.priceCurrency:
            raise ValueError("a price band needs its priceCurrency")
        if (
            self.minPrice is not None
            and self.maxPrice is not None
            and self.minPrice > self.maxPrice
        ):
            raise ValueError("minPrice is above maxPrice")
        return self


class ExchangeSubscribe(Body):
    """A vendor's subscriptions at the exchange, replacing any it had (none: unsubscribe).

    ``inbox`` is where matching intents are pushed; without it the vendor pulls them.
    """

    name: Name
    inbox: HttpUrl | None = None
    subscriptions: Annotated[list[Subscription], Field(max_length=256)]


class IntentMatch(Body):
    """The exchange tells a vendor that an intent matches its subscriptions.

    ``intent`` is the person's signed intent (compact JWS), which the vendor verifies
    itself; ``mailbox`` is where offers to it are posted; ``pool`` counts the
    intents pooled with it, when it belongs to a group.
    """

    intent: Annotated[str, Field(max_length=64 * 1024)]
    mailbox: HttpUrl
    pool: Annotated[int, Field(ge=1)] = 1
    pool_id: Annotated[str, Field(max_length=128)] | None = None


class PriceTier(Body):
    """schema.org ``UnitPriceSpecification`` for a group: this price from this quantity."""

    price: Amount
    eligibleQuantity: Quantity


class Seller(Body):
    """schema.org ``Organization``: who offers, and where to start a relationship."""

    name: Name
    url: HttpUrl
    did: Did


class OfferTerms(Body):
    """schema.org ``Offer``: the price, what it costs to deliver, and by when."""

    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    price: Amount
    priceCurrency: Currency
    deliveryCost: Amount = 0.0
    availabilityStarts: IsoDate | None = None
    """The date the item can be delivered."""
    validThrough: EpochSeconds
    priceTiers: list[PriceTier] = Field(default_factory=list, max_length=16)
    """For a group intent: lower prices from larger quantities."""


class OfferBody(Body):
    """A vendor's offer for the intent ``intent``, encrypted to the person's pseudonym.

    ``accepts_terms`` are the terms of the intent the vendor accepts (an offer that
    does not accept them all is shown as such); ``needs`` are the profile fields the
    vendor needs if the offer is taken (a shipping address, say).
    """

    intent: MessageId
    offer: OfferTerms
    seller: Seller
    accepts_terms: Annotated[list[TermId], Field(max_length=16)]
    needs: list[FieldPath] = Field(default_factory=list, max_length=32)


class OfferDecline(Body):
    """The person declines the offer ``offer`` (its message id); signed by the pseudonym."""

    offer: MessageId
    reason: ShortText | None = None


class OfferAccept(Body):
    """The person accepts the offer ``offer`` (its message id); signed by the pseudonym.

    ``relationship`` is the person's pairwise DID for this vendor: the ``from`` of the
    relationship that takes the offer, whose request may arrive before or after this.
    """

    offer: MessageId
    relationship: Did


class Fetch(Body):
    """A signed request for what came after the cursor ``after``.

    ``mailbox.fetch`` (from a pseudonym: its offers) and ``intents.fetch`` (from a
    vendor: the intents matched to it); the answer is JSON, not a message.
    """

    after: Annotated[int, Field(ge=0)] = 0


INTENT_TYPES: dict[str, type[Body]] = {
    INTENT: Intent,
    INTENT_WITHDRAW: IntentWithdraw,
    INTENT_MATCH: IntentMatch,
    OFFER: OfferBody,
    OFFER_DECLINE: OfferDecline,
    OFFER_ACCEPT: OfferAccept,
    EXCHANGE_SUBSCRIBE: ExchangeSubscribe,
    MAILBOX_FETCH: Fetch,
    INTENTS_FETCH: Fetch,
}
"""Every intentcasting type, by name."""


def intent_types() -> MessageTypes:
    """Return a new registry of the v1 protocol types plus the intentcasting types."""
    types = v1_types()
    for name, body in INTENT_TYPES.items():
        types.add(name, body)
    return types
