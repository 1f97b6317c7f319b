"""The compose-offer form: what the vendor typed, read into an offer or a message per field.

Framework-free. Values come back as typed, so a form refused for one field keeps
every other; each message names what to give instead.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from vrm.vendor.offers import OfferRequest

FIELDS = (
    "name",
    "description",
    "price",
    "currency",
    "delivery_cost",
    "valid_until",
    "available_from",
    "needs",
)
MODEL_FIELDS = {
    "name": "name",
    "description": "description",
    "price": "price",
    "priceCurrency": "currency",
    "deliveryCost": "delivery_cost",
    "validThrough": "valid_until",
    "availabilityStarts": "available_from",
    "needs": "needs",
}
"""Each field of :class:`OfferRequest` and the form field it comes from."""
MESSAGES = {
    "name": "Give the offer a name of at most 200 characters.",
    "description": "Keep the description to 2000 characters at most.",
    "price": "Give a price of 0 or more, like 18999 or 18999.50.",
    "currency": "Give a three-letter currency code (ISO 4217), like EUR or GBP.",
    "delivery_cost": "Give a delivery cost of 0 or more, or leave it empty.",
    "valid_until": "Give a day as YYYY-MM-DD, or leave it empty.",
    "available_from": "Give a day as YYYY-MM-DD, or leave it empty.",
    "needs": "Give field names like address.home or email.primary, separated by commas.",
}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass
class OfferForm:
    """The form as typed, the messages of the fields to correct, and the offer once it reads."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    offer: OfferRequest | None = None


def blank_form(intent: dict[str, Any]) -> OfferForm:
    """The form for an intent, in the intent's currency (empty "valid until": as the intent)."""
    values = dict.fromkeys(FIELDS, "")
    values["currency"] = intent["price"]["currency"]
    return OfferForm(values)


def read_offer(fields: dict[str, str], *, now: float) -> OfferForm:
    """The submitted form: an offer, or the messages of the fields that do not fit."""
    values = {name: fields.get(name, "").strip() for name in FIELDS}
    values["currency"] = values["currency"].upper()
    errors: dict[str, str] = {}
    document: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "priceCurrency": values["currency"],
    }
    if not values["name"]:
        errors["name"] = "Give the offer a name: what the person would buy."
    if not _CURRENCY.fullmatch(values["currency"]):
        errors["currency"] = MESSAGES["currency"]
    for name, key, required in (("price", "price", True), ("delivery_cost", "deliveryCost", False)):
        amount = _amount(values[name])
        if amount is None and (required or values[name]):
            errors[name] = MESSAGES[name]
        elif amount is not None:
            document[key] = amount
    if values["valid_until"]:
        if not _DAY.fullmatch(values["valid_until"]) or _date(values["valid_until"]) is None:
            errors["valid_until"] = MESSAGES["valid_until"]
        else:
            ends = _end_of(values["valid_until"])
            if ends <= now:
                errors["valid_until"] = "That day is over: give today or a later day."
            document["validThrough"] = int(ends)
    if values["available_from"]:
        if not _DAY.fullmatch(values["available_from"]) or _date(values["available_from"]) is None:
            errors["available_from"] = MESSAGES["available_from"]
        else:
            document["availabilityStarts"] = values["available_from"]
    if values["needs"]:
        document["needs"] = [path for path in _SEPARATORS.split(values["needs"]) if path]
    try:
        offer = OfferRequest.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = MODEL_FIELDS.get(str(error["loc"][0]), "") if error["loc"] else ""
            errors.setdefault(name or "form", MESSAGES.get(name, error["msg"]))
        return OfferForm(values, errors)
    return OfferForm(values, errors, None if errors else offer)


def refusal(message: str) -> tuple[str, str]:
    """The form field an endpoint's refusal (``validThrough: …``) is about, and what it says.

    A refusal about no one field (or about terms, which the form does not set) is the
    whole form's: ``form``.
    """
    key, _, rest = message.partition(":")
    name = MODEL_FIELDS.get(key.strip())
    return (name, rest.strip()) if name and rest.strip() else ("form", message)


def _amount(text: str) -> float | None:
    try:
        amount = float(text)
    except ValueError:
        return None
    return amount if math.isfinite(amount) and 0 <= amount <= 1e12 else None


def _date(text: str) -> dt.date | None:
    """The day ``text`` names, within the years an offer can mean (None otherwise)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day if 2000 <= day.year <= 9000 else None


def _end_of(day: str) -> float:
    """The last second of ``day``, in UTC."""
    start = dt.datetime.fromisoformat(f"{day}T00:00:00+00:00")
    return (start + dt.timedelta(days=1)).timestamp() - 1
