"""What the Profile pages show, in the person's words: fields by group, changes, deliveries.

Framework-free: built from the agent's profile, grants and outbox, so the same
views can serve another page or a test without a web server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from vrm.agent.outbox.store import DELIVERED, FAILED
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.profile.fields import (
    NAME_PARTS,
    SUGGESTED_LABELS,
    InvalidField,
    PostalAddress,
    check_path,
)
from vrm.agent.profile.service import FieldVersion
from vrm.agent.propagation import Propagation, VendorDelivery

GROUPS = (
    ("name", "Name"),
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("address", "Address"),
    ("about", "About you"),
    ("preference", "Preferences"),
)
ADDABLE = (
    ("email", "E-mail"),
    ("phone", "Phone"),
    ("address", "Address"),
    ("preference", "Preference"),
)
"""The kinds of field the person names themselves (``email.gym``, ``preference.seat``)."""


@dataclass(frozen=True)
class AddressPart:
    """One input of the address form: the PostalAddress member, its label, its autofill."""

    key: str
    label: str
    autocomplete: str


ADDRESS_PARTS = (
    AddressPart("streetAddress", "Street", "street-address"),
    AddressPart("postOfficeBoxNumber", "PO box", "off"),
    AddressPart("addressLocality", "Town or city", "address-level2"),
    AddressPart("addressRegion", "Region or county", "address-level1"),
    AddressPart("postalCode", "Postal code", "postal-code"),
    AddressPart("addressCountry", "Country code (two letters, such as GB)", "country"),
)
_NAMES = {
    "given": "Given name",
    "family": "Family name",
    "full": "Full name",
    "nickname": "Nickname",
}
_INPUTS = {
    "name": ("text", None),
    "email": ("email", "email"),
    "phone": ("tel", "tel"),
    "birth_date": ("date", "bday"),
    "language": ("text", "language"),
    "preference": ("text", "off"),
}
_HINTS = {
    "email": "Such as ann@example.org.",
    "phone": "Digits, spaces and ( ) - . — with + first for an international number.",
    "birth_date": "A date such as 1990-04-01.",
    "language": "A language tag such as en, fr or pt-BR.",
}
_NAME_AUTOFILL = {"given": "given-name", "family": "family-name", "full": "name"}
CHANGED_BY = {
    "web": "you, on these pages",
    "web vcard import": "a vCard you imported on these pages",
    "cli": "the vrm command",
    "api": "a program, through the API",
    "api vcard import": "a vCard sent through the API",
    "vcard import": "a vCard import",
}


@dataclass(frozen=True)
class Grantee:
    """A vendor granted a field; ``held`` says why it is sent nothing now, if it is not."""

    name: str
    held: str | None


@dataclass(frozen=True)
class FieldView:
    """One field of the profile as its row on the Profile page shows it."""

    path: str
    value: Any
    grantees: list[Grantee] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The part of the path before the dot (``address``, ``birth_date``)."""
        return self.path.partition(".")[0]

    @property
    def slug(self) -> str:
        """The field's part of element ids (``address-home``)."""
        return self.path.replace(".", "-")

    @property
    def short(self) -> str:
        """Its heading inside its group (``Home``, ``Given name``)."""
        return short_label(self.path)

    @property
    def name(self) -> str:
        """Its name on its own (``Home address``), for labels and buttons."""
        return field_name(self.path)

    @property
    def lines(self) -> list[str]:
        """The value as lines of text; empty when the field has no value."""
        return value_lines(self.value)

    @property
    def input_type(self) -> str:
        """The ``type`` of its text input."""
        return _INPUTS.get(self.kind, ("text", None))[0]

    @property
    def autocomplete(self) -> str:
        """What browsers may fill it with (WCAG 1.3.5)."""
        if self.kind == "name":
            return _NAME_AUTOFILL.get(self.path.partition(".")[2], "nickname")
        return _INPUTS.get(self.kind, ("text", "off"))[1] or "off"

    @property
    def hint(self) -> str | None:
        """What the field takes, when that is not obvious."""
        return _HINTS.get(self.kind)


@dataclass(frozen=True)
class GroupView:
    """A heading and its fields."""

    key: str
    title: str
    fields: list[FieldView]


@dataclass
class FieldProblem:
    """Why a submitted value was not saved, and what the person typed (kept in the form)."""

    path: str
    message: str
    typed: Any
    parts: dict[str, str] = field(default_factory=dict)
    """Messages for single inputs of an address, by PostalAddress member."""

    @property
    def slug(self) -> str:
        """The field's part of element ids."""
        return self.path.replace(".", "-")

    @property
    def name(self) -> str:
        """The field's name, as its form labels it."""
        return field_name(self.path)

    @property
    def first_part(self) -> str:
        """The address input to put the cursor in: the first marked one, else the street."""
        marked = [part.key for part in ADDRESS_PARTS if part.key in self.parts]
        return marked[0] if marked else "streetAddress"

    def typed_part(self, key: str) -> str:
        """What was typed in one input of an address."""
        return str(self.typed.get(key, "")) if isinstance(self.typed, dict) else ""


@dataclass(frozen=True)
class DeliveryRow:
    """One vendor's delivery of a change, in words."""

    number: int
    vendor: str
    state: str
    """``pending``, ``retrying``, ``delivered`` or ``failed``."""
    detail: str


def short_label(path: str) -> str:
    """A field's heading within its group."""
    kind, _, label = path.partition(".")
    if kind == "name":
        return _NAMES.get(label, label)
    if kind == "birth_date":
        return "Birth date"
    if kind == "language":
        return "Language"
    return label.replace("_", " ").replace("-", " ").capitalize()


def field_name(path: str) -> str:
    """A field's name on its own: ``Home address``, ``Work e-mail``, ``Preference: seat``."""
    kind, _, label = path.partition(".")
    nouns = {"email": "e-mail", "phone": "phone", "address": "address"}
    if kind in nouns:
        return f"{short_label(path)} {nouns[kind]}"
    if kind == "preference":
        return f"Preference: {label.replace('_', ' ')}"
    return short_label(path)


def value_lines(value: Any) -> list[str]:
    """A value as lines: an address as it is written on an envelope."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [str(value)]
    place = ", ".join(value[k] for k in ("addressLocality", "addressRegion") if value.get(k))
    town = " ".join(part for part in (place, value.get("postalCode", "")) if part)
    lines = [
        value.get("streetAddress", ""),
        f"PO Box {value['postOfficeBoxNumber']}" if value.get("postOfficeBoxNumber") else "",
        town,
        value.get("addressCountry", ""),
    ]
    return [line for line in lines if line]


def changed_by(who: str) -> str:
    """Who made a change, in words."""
    return CHANGED_BY.get(who, who)


def profile_groups(agent: PersonalAgent, *, adding: str | None = None) -> list[GroupView]:
    """Every field by group: the usual ones (set or not), the person's own, and ``adding``."""
    values = agent.profile()
    today = dt.datetime.fromtimestamp(agent.clock()).date()
    grantees: dict[str, list[Grantee]] = {}
    for relationship, grant in agent.grants():
        if grant.active_on(today):
            grantees.setdefault(grant.path, []).append(
                Grantee(relationship.vendor.name, relationship.held_because)
            )
    usual = [f"name.{part}" for part in NAME_PARTS]
    usual += [f"{kind}.{label}" for kind, labels in SUGGESTED_LABELS.items() for label in labels]
    usual += ["birth_date", "language"]
    own = sorted(path for path in values if path not in usual)
    if adding is not None and adding not in usual and adding not in own:
        own.append(adding)
    by_group: dict[str, list[FieldView]] = {key: [] for key, _ in GROUPS}
    for path in [*usual, *own]:
        kind = path.partition(".")[0]
        group = "about" if kind in ("birth_date", "language") else kind
        by_group[group].append(
            FieldView(
                path,
                values.get(path),
                sorted(grantees.get(path, []), key=lambda g: g.name.casefold()),
            )
        )
    return [GroupView(key, title, by_group[key]) for key, title in GROUPS]


def new_path(kind: str, label: str) -> str:
    """The path of a field the person adds (``email`` + ``Gym`` → ``email.gym``).

    Raises:
        InvalidField: not a kind the person names, or not a usable label.
    """
    if kind not in dict(ADDABLE):
        raise InvalidField("Choose e-mail, phone, address or preference.")
    label = label.strip().lower().replace(" ", "_")
    try:
        return check_path(f"{kind}.{label}")
    except InvalidField as exc:
        raise InvalidField(
            "A label is up to 32 lower-case letters, digits, - or _, starting with a letter "
            "(such as gym or shoe_size)."
        ) from exc


def address_from(form: dict[str, str]) -> dict[str, str]:
    """The address the form's inputs give: empty inputs left out, the country upper-cased."""
    parts = {part.key: form.get(part.key, "").strip() for part in ADDRESS_PARTS}
    parts["addressCountry"] = parts["addressCountry"].upper()
    return {key: value for key, value in parts.items() if value}


def address_problems(parts: dict[str, str]) -> dict[str, str]:
    """A message for each input of an address that does not fit, by PostalAddress member."""
    try:
        PostalAddress.model_validate(parts)
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            key = str(error["loc"][0]) if error["loc"] else "streetAddress"
            if key == "addressCountry":
                message = "Use a two-letter country code, such as GB, FR or US."
            elif error["type"] == "string_too_long":
                message = f"At most {error.get('ctx', {}).get('max_length')} characters."
            else:
                message = str(error["msg"]) + "."
            found.setdefault(key, message)
        return found
    return {}


def said(path: str, exc: InvalidField) -> str:
    """The domain's refusal of a value, said for the person filling in the form."""
    message = str(exc)
    kind = path.partition(".")[0]
    if message.endswith(" takes text"):
        return "Type a value, or use Clear to remove the field."
    if "is not a valid" in message:
        return {
            "email": "That is not an e-mail address: give one such as ann@example.org.",
            "phone": "That is not a phone number: use digits, spaces and ( ) - ., "
            "with + first for an international number.",
            "language": "That is not a language tag: give one such as en, fr or pt-BR.",
        }.get(kind, message)
    if "needs at least one part" in message:
        return "Fill in at least one part of the address, or use Clear to remove it."
    message = message.removeprefix(f"{path}: ")
    return message[:1].upper() + message[1:].rstrip(".") + "."


def delivery_rows(propagation: Propagation) -> list[DeliveryRow]:
    """Each vendor's delivery of the change, in words."""
    return [_row(delivery, propagation.change) for delivery in propagation.deliveries]


def _row(sent: VendorDelivery, change: FieldVersion) -> DeliveryRow:
    status = sent.delivery
    if status.state == DELIVERED:
        took = (status.delivered_at or status.created_at) - change.changed_at
        return DeliveryRow(status.id, sent.vendor, DELIVERED, f"delivered after {took:.1f} s")
    if status.state == FAILED:
        reason = status.error or status.last_code or "no reason recorded"
        return DeliveryRow(status.id, sent.vendor, FAILED, f"not delivered: {reason}")
    if status.attempts == 0:
        return DeliveryRow(status.id, sent.vendor, "pending", "on its way")
    again = (
        f"; trying again at {dt.datetime.fromtimestamp(status.next_attempt_at):%H:%M:%S}"
        if status.next_attempt_at
        else ""
    )
    problem = status.error or status.last_code or "no answer"
    tries = "attempt" if status.attempts == 1 else f"{status.attempts} attempts"
    return DeliveryRow(status.id, sent.vendor, "retrying", f"{tries} failed ({problem}){again}")
