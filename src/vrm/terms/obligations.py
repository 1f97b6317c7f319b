"""What a vendor promises under a set of terms, in a form software can compare.

Every obligation has a few values ordered from the most protective of the person
to the least. An agreement sets every obligation; an additional term sets only
those it constrains, and combining terms keeps the most protective value of each
(docs/terms.md, "The obligation vocabulary").
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

Use = Literal["service", "intent", "public-good", "marketing"]

# Most protective first. ``use`` is a set: fewer purposes protect more.
ORDER: dict[str, tuple[Any, ...]] = {
    "tracking": ("none", "first-party", "any"),
    "sharing": ("none", "processors", "any"),
    "resale": ("forbidden", "allowed"),
    "retention": ("purpose", "relationship", "any"),
    "data_access": (True, False),
    "delete_on_end": (True, False),
    "ai_training": ("forbidden", "anonymised", "allowed"),
}
NAMES = (*ORDER, "use")


class Obligations(BaseModel):
    """The vendor's obligations; an absent one is not constrained by these terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking: Literal["none", "first-party", "any"] | None = None
    """Tracking the person beyond delivering the service (``none`` is NoStalking)."""
    sharing: Literal["none", "processors", "any"] | None = None
    """Giving the person's data to third parties (``processors`` act for the vendor)."""
    resale: Literal["forbidden", "allowed"] | None = None
    retention: Literal["purpose", "relationship", "any"] | None = None
    """How long data is kept: while the purpose needs it, while the relationship lasts."""
    data_access: StrictBool | None = None
    """The person may have a copy of everything held about them ("mine too")."""
    delete_on_end: StrictBool | None = None
    """The vendor deletes the person's record when the relationship ends."""
    ai_training: Literal["forbidden", "anonymised", "allowed"] | None = None
    use: Annotated[tuple[Use, ...], Field(max_length=4)] | None = None
    """The purposes the data may be used for (terms that share none leave it empty)."""

    @field_validator("use")
    @classmethod
    def _purposes_once(cls, use: tuple[Use, ...] | None) -> tuple[Use, ...] | None:
        if use is not None and len(set(use)) != len(use):
            raise ValueError("a purpose is named twice")
        return use

    def is_complete(self) -> bool:
        """True when every obligation is set (as an agreement's must be)."""
        return all(getattr(self, name) is not None for name in NAMES)

    def combined(self, other: Obligations) -> Obligations:
        """The most protective value of each obligation of ``self`` and ``other``."""
        values: dict[str, Any] = {}
        for name in NAMES:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is None or theirs is None:
                values[name] = theirs if mine is None else mine
            elif name == "use":
                values[name] = tuple(u for u in mine if u in theirs)
            else:
                values[name] = min(mine, theirs, key=ORDER[name].index)
        return Obligations(**values)

    def weaker_than(self, wanted: Obligations) -> list[str]:
        """The obligations where ``self`` protects less than ``wanted`` asks (empty: none)."""
        weaker = []
        for name in NAMES:
            asked, given = getattr(wanted, name), getattr(self, name)
            if asked is None:
                continue
            if given is None:
                weaker.append(name)
            elif name == "use":
                if not set(given) <= set(asked):
                    weaker.append(name)
            elif ORDER[name].index(given) > ORDER[name].index(asked):
                weaker.append(name)
        return weaker

    def described(self) -> list[tuple[str, str]]:
        """``(obligation, value)`` pairs for people, in vocabulary order, set ones only."""
        pairs = []
        for name in NAMES:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool):
                shown = "yes" if value else "no"
            elif isinstance(value, tuple):
                shown = ", ".join(value)
            else:
                shown = value
            pairs.append((name, shown))
        return pairs
