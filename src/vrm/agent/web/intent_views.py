"""What the Intents pages show: each intent with its offers, and what can be done with them.

Read from the intents desk and the agent; no web framework here, like
:mod:`vrm.agent.web.attention`.
"""

from __future__ import annotations

from dataclasses import dataclass

from vrm.agent.errors import NotFound
from vrm.agent.intents.desk import SORTS, IntentDesk, OfferComparison
from vrm.agent.intents.service import ACCEPTED, LIVE, RECEIVED, IntentRecord, OfferRecord
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.agent.web.intent_form import category_label
from vrm.protocol.v1.intents import Demand, Place, PriceRange

DEFAULT_SORT = "total"
SORT_NAMES = {
    "total": "Total",
    "price": "Price",
    "delivery": "Delivery date",
    "received": "Received",
}
"""How the offers can be sorted, in the words of the page (the keys are the desk's)."""


STATE_NAMES = {
    LIVE: "open",
    "withdrawn": "withdrawn",
    ACCEPTED: "offer taken",
    "expired": "expired",
}
"""An intent's state in the words of the page."""


@dataclass(frozen=True)
class Shown:
    """What every view of an intent says about it."""

    record: IntentRecord
    category: str
    expired: bool

    @property
    def demand(self) -> Demand:
        """What the person asked for."""
        return self.record.intent.demand

    @property
    def what(self) -> str:
        """The intent in a few words: its description, else its category."""
        return self.demand.description or self.category

    @property
    def state(self) -> str:
        """Its state, ``expired`` when it is live but past its end."""
        return "expired" if self.record.state == LIVE and self.expired else self.record.state

    @property
    def state_name(self) -> str:
        """Its state in words."""
        return STATE_NAMES.get(self.state, self.state)

    @property
    def live(self) -> bool:
        """Still open to offers."""
        return self.state == LIVE

    @property
    def price(self) -> str:
        """What the person would pay, in words."""
        return describe_price(self.demand.priceSpecification)

    @property
    def where(self) -> str:
        """Where the person wants it, in words."""
        return describe_place(self.demand.areaServed)


@dataclass(frozen=True)
class IntentRow(Shown):
    """One intent in the list, with how many offers came and how many wait for an answer."""

    offers: int
    waiting: int


@dataclass(frozen=True)
class OfferRow:
    """One offer in the comparison, and whether it can be accepted now (or why not)."""

    compared: OfferComparison
    expired: bool
    why_not: str | None
    """Why Accept is not offered; None when it is."""

    @property
    def offer(self) -> OfferRecord:
        """The offer as it arrived."""
        return self.compared.offer

    @property
    def open(self) -> bool:
        """The person has not answered it yet."""
        return self.offer.state == RECEIVED


@dataclass(frozen=True)
class IntentView(Shown):
    """One intent, its offers sorted, and the relationship that took an offer, if one did."""

    rows: list[OfferRow]
    sort: str
    taken: OfferRecord | None
    relationship: Relationship | None

    @property
    def waiting(self) -> int:
        """Offers that can be accepted now."""
        return sum(1 for row in self.rows if row.why_not is None)


def sort_of(asked: str | None) -> str:
    """The sort asked for, or the default when it is not one the desk knows."""
    return asked if asked in SORTS else DEFAULT_SORT


def intent_rows(desk: IntentDesk, *, now: float) -> list[IntentRow]:
    """Every intent, newest first, with its offers counted."""
    rows = []
    for record in reversed(desk.intents()):
        offers = [c.offer for c in desk.compare(record.id)]
        expired = record.expires_at <= now
        waiting = [o for o in offers if o.state == RECEIVED and o.body.offer.validThrough > now]
        rows.append(
            IntentRow(
                record,
                category_label(record.intent.demand.category),
                expired,
                offers=len(offers),
                waiting=len(waiting) if record.state == LIVE and not expired else 0,
            )
        )
    return rows


def intent_view(
    agent: PersonalAgent, desk: IntentDesk, intent_id: int, *, sort: str, now: float
) -> IntentView:
    """The intent ``intent_id`` with its offers sorted by ``sort``.

    Raises:
        NotFound: there is no such intent.
    """
    record = desk.intent(intent_id)
    compared = desk.compare(intent_id, sort=sort_of(sort))
    expired = record.expires_at <= now
    rows = [_row(record, c, now) for c in compared]
    taken = next((c.offer for c in compared if c.offer.state == ACCEPTED), None)
    relationship = None
    if taken is not None and taken.vendor_id is not None:
        try:
            relationship = agent.vendor(str(taken.vendor_id))
        except NotFound:
            relationship = None  # the relationship was removed since
    return IntentView(
        record,
        category_label(record.intent.demand.category),
        expired,
        rows=rows,
        sort=sort_of(sort),
        taken=taken,
        relationship=relationship,
    )


def describe_price(price: PriceRange) -> str:
    """``up to 600.00 EUR``, or ``400.00 to 600.00 EUR`` with a lower bound."""
    most = f"{price.maxPrice:,.2f} {price.priceCurrency}"
    return f"{price.minPrice:,.2f} to {most}" if price.minPrice else f"up to {most}"


def describe_place(place: Place) -> str:
    """``IE``, ``GB, within 40 km of EH6`` or ``region GB-SCT``."""
    if place.addressRegion:
        return f"region {place.addressRegion}"
    said = place.addressCountry or ""
    if place.postalCode and place.radiusKm:
        return f"{said}, within {place.radiusKm:g} km of {place.postalCode}"
    if place.postalCode:
        return f"{said}, near {place.postalCode}"
    if place.radiusKm:
        return f"{said}, within {place.radiusKm:g} km"
    return said


def _row(record: IntentRecord, compared: OfferComparison, now: float) -> OfferRow:
    offer = compared.offer
    lapsed = offer.body.offer.validThrough <= now
    why_not = None
    if offer.state != RECEIVED:
        why_not = f"You {offer.state} this offer."
    elif record.state != LIVE:
        why_not = f"The intent is {STATE_NAMES.get(record.state, record.state)}: "
        why_not += "it takes no offer now."
    elif lapsed:
        why_not = "This offer has expired: ask the seller for a new one."
    return OfferRow(compared, lapsed, why_not)
