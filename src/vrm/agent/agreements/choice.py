"""Which terms the person proffers: a default, and a choice per vendor.

The default is kept in ``settings`` (terms are not personal data); a vendor's own
choice in its ``vendors`` row. Ids are checked against the terms library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.errors import Conflict
from vrm.terms import AlternativeRule, Library, Terms, UnknownTerm, library

TERMS_SETTING = "terms"


@dataclass(frozen=True)
class TermsChoice:
    """One roster agreement and the additional terms proffered with it."""

    agreement: str
    additional: tuple[str, ...] = ()

    def terms(self, terms_library: Library | None = None) -> Terms:
        """The full terms this choice names.

        Raises:
            Conflict: an id is not in the library.
        """
        found = terms_library or library()
        try:
            return Terms(
                agreement=found.agreement(self.agreement),
                additional=tuple(found.term(term) for term in self.additional),
            )
        except UnknownTerm as exc:
            raise Conflict(str(exc.args[0])) from exc

    def checked(self) -> TermsChoice:
        """The same choice with ids spelled as the library spells them."""
        terms = self.terms()
        return TermsChoice(terms.agreement.id, tuple(t.id for t in terms.additional))

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"agreement": self.agreement, "additional": list(self.additional)}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> TermsChoice:
        """The choice :meth:`as_json` wrote."""
        return cls(document["agreement"], tuple(document.get("additional") or ()))


DEFAULT_CHOICE = TermsChoice("SD-BASE", ("mine-too", "delete-on-end"))
"""Out of the box: service delivery only, a copy on request, deletion when we part."""


@dataclass(frozen=True)
class TermsSettings:
    """The person's default terms and what to do with a vendor's alternative."""

    default: TermsChoice = DEFAULT_CHOICE
    alternatives: AlternativeRule = AlternativeRule.ASK

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"default": self.default.as_json(), "alternatives": self.alternatives.value}


def load_terms_settings(connection: Connection) -> TermsSettings:
    """The person's terms settings (the defaults when never set)."""
    stored = connection.execute(
        text("SELECT value FROM settings WHERE name = :name"), {"name": TERMS_SETTING}
    ).scalar()
    if stored is None:
        return TermsSettings()
    document = json.loads(stored)
    return TermsSettings(
        default=TermsChoice.from_json(document["default"]),
        alternatives=AlternativeRule(document.get("alternatives", AlternativeRule.ASK.value)),
    )


def save_terms_settings(connection: Connection, settings: TermsSettings) -> None:
    """Store the person's terms settings."""
    connection.execute(
        text(
            "INSERT INTO settings (name, value) VALUES (:name, :value) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
        ),
        {"name": TERMS_SETTING, "value": json.dumps(settings.as_json())},
    )


def vendor_choice(connection: Connection, vendor_id: int) -> TermsChoice | None:
    """The terms chosen for one vendor; None when it gets the default."""
    stored = connection.execute(
        text("SELECT terms_choice FROM vendors WHERE id = :id"), {"id": vendor_id}
    ).scalar()
    return None if stored is None else TermsChoice.from_json(json.loads(stored))


def set_vendor_choice(connection: Connection, vendor_id: int, choice: TermsChoice | None) -> None:
    """Choose the terms for one vendor (None: back to the default)."""
    connection.execute(
        text("UPDATE vendors SET terms_choice = :choice WHERE id = :id"),
        {"choice": None if choice is None else json.dumps(choice.as_json()), "id": vendor_id},
    )


def terms_for(connection: Connection, vendor_id: int | None) -> Terms:
    """The terms proffered to a vendor: its own choice, else the default."""
    chosen = vendor_choice(connection, vendor_id) if vendor_id is not None else None
    return (chosen or load_terms_settings(connection).default).terms()
