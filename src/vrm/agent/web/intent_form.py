"""The compose form of the Intents page: what the person typed, checked field by field.

The submitted fields become an :class:`~vrm.protocol.v1.intents.Intent` and the
exchange to publish it at, or — when anything is wrong — the same values with a
message for each field in error, so the page shows the form again with nothing
lost. The rules are the protocol's (``Demand``, ``Place``, the 90 days an exchange
keeps an intent); the messages are for people. No web framework here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError

from vrm.agent.agreements.choice import TermsChoice
from vrm.agent.config import web_address
from vrm.intents.taxonomy import Taxonomy, UnknownCategory, taxonomy
from vrm.protocol.v1.intents import Intent
from vrm.terms import library
from vrm.web.errors import sentence

LIFETIME_DAYS = 90
"""An exchange keeps an intent this long at most."""
DEFAULT_DAYS = 14
"""A new intent is open this long unless the person says otherwise."""
MAX_PROPERTIES = 32
CURRENCIES = ("EUR", "GBP", "USD", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD", "JPY")
"""Suggested in the currency field; any ISO 4217 code is taken."""

_PROPERTY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
_URL = re.compile(r"https?://\S+")
_TERM_PREFIX = "term."

# Where a protocol validation error shows in the form: the nearest named part of its location.
_FIELD_OF = {
    "category": "category",
    "description": "description",
    "itemOffered": "properties",
    "eligibleQuantity": "quantity",
    "minPrice": "min_price",
    "maxPrice": "max_price",
    "priceCurrency": "currency",
    "priceSpecification": "max_price",
    "postalCode": "postal_code",
    "radiusKm": "radius_km",
    "addressRegion": "region",
    "addressCountry": "country",
    "areaServed": "country",
    "availabilityEnds": "needed_by",
    "validThrough": "valid_until",
    "terms": "agreement",
}


@dataclass(frozen=True)
class CategoryGroup:
    """One top-level category and everything under it: an ``<optgroup>`` of the picker."""

    label: str
    options: tuple[tuple[str, str], ...]
    """(path, text) pairs, the top-level category first, then its tree in order."""


@cache
def category_groups() -> tuple[CategoryGroup, ...]:
    """The shipped taxonomy as the picker shows it, grouped by top-level category."""
    tree = taxonomy()
    return tuple(
        CategoryGroup(top.label, ((top.path, f"{top.label} (any)"), *_below(tree, top.path)))
        for top in tree.children()
    )


def _below(tree: Taxonomy, path: str) -> list[tuple[str, str]]:
    options = []
    for child in tree.children(path):
        # No-break spaces: the only indentation an <option> keeps.
        options.append((child.path, "\u00a0\u00a0" * (child.depth - 2) + child.label))
        options += _below(tree, child.path)
    return options


def category_label(path: str) -> str:
    """The category's label, or its path when the shipped taxonomy does not list it."""
    try:
        return taxonomy().category(path).label
    except UnknownCategory:
        return path


@dataclass
class ComposeForm:
    """The compose form as the person filled it in, and a message per field in error."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, *, exchange_url: str | None, terms: TermsChoice, today: dt.date) -> ComposeForm:
        """A new form: one item, open two weeks, the person's default terms and exchange."""
        values = {
            "quantity": "1",
            "valid_until": (today + dt.timedelta(days=DEFAULT_DAYS)).isoformat(),
            "exchange": exchange_url or "",
            "agreement": terms.agreement,
        }
        values.update({_TERM_PREFIX + term: "on" for term in terms.additional})
        return cls(values)

    def value(self, name: str) -> str:
        """What the person typed in ``name`` (empty when nothing)."""
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        """Whether the checkbox ``name`` is ticked."""
        return bool(self.values.get(name))

    def properties_hint(self) -> tuple[str, ...]:
        """The properties the chosen category suggests (none before one is chosen)."""
        chosen = self.value("category")
        if not chosen:
            return ()  # and no search for names like it, which takes tens of ms
        try:
            return taxonomy().properties_of(chosen)
        except UnknownCategory:
            return ()


@dataclass(frozen=True)
class Composed:
    """What the compose form gave: the intent and its exchange, or the form to show again."""

    form: ComposeForm
    intent: Intent | None
    exchange: str


def compose_intent(fields: dict[str, str], *, now: float) -> Composed:
    """Read the submitted ``fields`` into an intent; ``intent`` is None when any is wrong."""
    values = {name: value.strip() for name, value in fields.items() if name != "csrf_token"}
    form = ComposeForm(values)
    reader = _Reader(form)
    today = dt.datetime.fromtimestamp(now).date()
    demand: dict[str, Any] = {
        "category": reader.category(),
        "description": reader.description(),
        "itemOffered": {"additionalProperty": reader.properties()},
        "eligibleQuantity": {"value": reader.quantity()},
        "priceSpecification": reader.prices(),
        "areaServed": reader.place(),
        "validThrough": reader.valid_until(today, now),
    }
    needed_by = reader.needed_by(today)
    if needed_by:
        demand["availabilityEnds"] = needed_by
    terms = reader.terms()
    exchange = reader.exchange()
    if form.errors:
        return Composed(form, None, exchange)
    try:
        intent = Intent.model_validate(
            {"demand": demand, "terms": terms, "pool": form.checked("pool")}
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = next((_FIELD_OF[p] for p in reversed(error["loc"]) if p in _FIELD_OF), None)
            form.errors.setdefault(where or "category", sentence(str(error["msg"])))
        return Composed(form, None, exchange)
    return Composed(form, intent, exchange)


class _Reader:
    """Reads one field at a time, noting the first problem with each."""

    def __init__(self, form: ComposeForm) -> None:
        self.form = form

    def fail(self, name: str, message: str) -> None:
        self.form.errors.setdefault(name, message)

    def text(self, name: str) -> str:
        return self.form.value(name)

    def category(self) -> str:
        path = self.text("category")
        if not path:
            self.fail("category", "Choose what kind of thing you want.")
            return ""
        try:
            return taxonomy().category(path).path
        except UnknownCategory as exc:
            self.fail("category", sentence(str(exc)))
            return ""

    def description(self) -> str:
        text = self.text("description")
        if len(text) > 2000:
            self.fail("description", f"Keep it to 2000 characters (it has {len(text)}).")
        return text

    def properties(self) -> list[dict[str, str]]:
        found: list[dict[str, str]] = []
        for number, line in enumerate(self.text("properties").splitlines(), 1):
            if not line.strip():
                continue
            name, sep, value = line.partition("=") if "=" in line else line.partition(":")
            name = re.sub(r"[\s-]+", "_", name.strip().lower())
            value = value.strip()
            if not sep or not name or not value:
                self.fail("properties", f"Line {number}: write name = value, e.g. colour = blue.")
            elif not _PROPERTY.fullmatch(name):
                self.fail(
                    "properties",
                    f"Line {number}: “{name}” is not a property name: start with a letter, "
                    "then letters, digits or _.",
                )
            elif len(value) > 200:
                self.fail("properties", f"Line {number}: keep the value to 200 characters.")
            else:
                found.append({"name": name, "value": value})
        if len(found) > MAX_PROPERTIES:
            self.fail("properties", f"Give at most {MAX_PROPERTIES} properties.")
        return found

    def quantity(self) -> int:
        text = self.text("quantity") or "1"
        if (
            not (text.isascii() and text.isdigit() and len(text) < 8)
            or not 1 <= int(text) <= 1_000_000
        ):
            self.fail("quantity", "Give a whole number from 1 to 1,000,000.")
            return 1
        return int(text)

    def number(self, name: str, *, low: float, high: float, wrong: str) -> float | None:
        text = self.text(name).replace(" ", "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or not low <= number <= high:
            self.fail(name, wrong)
            return None
        return number

    def prices(self) -> dict[str, Any]:
        wrong = "Give an amount such as 250 or 19.99."
        most = self.number("max_price", low=0, high=1e12, wrong=wrong)
        if most is None and not self.text("max_price"):
            self.fail("max_price", "Give the most you would pay.")
        least = self.number("min_price", low=0, high=1e12, wrong=wrong)
        if most is not None and least is not None and least > most:
            self.fail("min_price", "The least you expect to pay is above the most you would pay.")
        currency = self.text("currency").upper()
        if not _CURRENCY.fullmatch(currency):
            self.fail("currency", "Give a currency as three letters, e.g. EUR or GBP.")
        return {"minPrice": least or 0.0, "maxPrice": most or 0.0, "priceCurrency": currency}

    def place(self) -> dict[str, Any]:
        region = self.text("region").upper()
        country = self.text("country").upper()
        postal_code = self.text("postal_code")
        radius = self.text("radius_km")
        if region:
            if not _REGION.fullmatch(region):
                self.fail("region", "Give a region as ISO 3166-2, e.g. GB-SCT, or a country, FR.")
            if country or postal_code or radius:
                self.fail("region", "Give a region, or a country with a postal code — not both.")
            return {"addressRegion": region}
        if not country:
            self.fail("country", "Say where: a country (e.g. GB), or a region.")
        elif not _COUNTRY.fullmatch(country):
            self.fail("country", "Give a country as two letters, e.g. GB or IE.")
        place: dict[str, Any] = {"addressCountry": country}
        if postal_code:
            if len(postal_code) > 16:
                self.fail("postal_code", "Keep the postal code to 16 characters.")
            place["postalCode"] = postal_code
        if radius:
            distance = self.number(
                "radius_km", low=0.1, high=1000, wrong="Give a distance from 0.1 to 1000 km."
            )
            if distance is not None:
                place["radiusKm"] = distance
        return place

    def date(self, name: str) -> dt.date | None:
        text = self.text(name)
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.fail(name, "Give a date as YYYY-MM-DD.")
            return None

    def needed_by(self, today: dt.date) -> str | None:
        day = self.date("needed_by")
        if day is not None and day < today:
            self.fail("needed_by", "That date has passed.")
        return day.isoformat() if day else None

    def valid_until(self, today: dt.date, now: float) -> int:
        day = self.date("valid_until")
        if day is None:
            self.fail("valid_until", "Say until when vendors may answer.")
            return 0
        if day < today:
            self.fail("valid_until", "That date has passed.")
            return 0
        if day > today + dt.timedelta(days=LIFETIME_DAYS):
            self.fail("valid_until", f"An intent stays open {LIFETIME_DAYS} days at most.")
            return 0
        end_of_day = dt.datetime.combine(day, dt.time(23, 59, 59)).timestamp()
        # The exchange counts the 90 days from when it receives the intent.
        return int(min(end_of_day, now + LIFETIME_DAYS * 86400 - 3600))

    def terms(self) -> list[str]:
        known = library()
        agreement = self.text("agreement")
        if agreement not in {term.id for term in known.agreements}:
            self.fail("agreement", "Choose the agreement offers must accept.")
        additional = [t.id for t in known.terms if self.form.checked(_TERM_PREFIX + t.id)]
        return [agreement, *additional]

    def exchange(self) -> str:
        url = self.text("exchange")
        if not url:
            self.fail("exchange", "Give the exchange's address, e.g. https://exchange.example.")
        elif len(url) > 2000 or not _URL.fullmatch(url) or not _is_web_address(url):
            self.fail("exchange", "Give the exchange's address as http:// or https:// and a host.")
        return url


def _is_web_address(url: str) -> bool:
    try:
        web_address(url)
    except ValueError:
        return False
    return True
