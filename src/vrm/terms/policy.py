"""How each side answers terms it is offered.

A vendor accepts the agreements it lists (with the additional terms it lists),
answers anything else with its one alternative, or rejects; or holds every
proffer for a person at the vendor to decide. A person's agent takes a vendor's
alternative on its own only when it protects the person at least as much as what
the person proffered, and otherwise asks the person (or rejects, if told to).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vrm.terms.agreement import Terms
from vrm.terms.library import Library, UnknownTerm, library


class Answer(StrEnum):
    """An answer to proffered terms (IEEE 7012: accept, one alternative, or reject)."""

    ACCEPTED = "accepted"
    ALTERNATIVE = "alternative"
    REJECTED = "rejected"
    PENDING = "pending"
    """Not answered yet: someone has to decide."""


@dataclass(frozen=True)
class VendorTermsPolicy:
    """The terms a vendor accepts.

    Attributes:
        accepts: agreement ids accepted as proffered.
        accepts_additional: additional term ids accepted on top of them.
        alternative: the agreement offered instead of terms not accepted (None: reject).
        manual: hold every proffer for the vendor to decide.
    """

    accepts: frozenset[str] = field(default_factory=frozenset)
    accepts_additional: frozenset[str] = field(default_factory=frozenset)
    alternative: str | None = None
    manual: bool = False

    @classmethod
    def accepting_everything_in(cls, library: Library) -> VendorTermsPolicy:
        """A policy that accepts every agreement and additional term of ``library``."""
        return cls(
            accepts=frozenset(t.id for t in library.agreements),
            accepts_additional=frozenset(t.id for t in library.terms),
        )

    def accepted(self, terms: Terms) -> bool:
        """True when ``terms`` are acceptable as they are."""
        folded = {i.casefold() for i in self.accepts}
        extra = {i.casefold() for i in self.accepts_additional}
        return terms.agreement.id.casefold() in folded and all(
            term.id.casefold() in extra for term in terms.additional
        )

    def decide(self, terms: Terms) -> Answer:
        """The answer to proffered ``terms``: accepted only when worded as in the library."""
        if self.manual:
            return Answer.PENDING
        if self.accepted(terms) and worded_as_in(library(), terms):
            return Answer.ACCEPTED
        if self.alternative is not None:
            return Answer.ALTERNATIVE
        return Answer.REJECTED

    def alternative_terms(self, library: Library, proffered: Terms) -> Terms | None:
        """The alternative offered for ``proffered``.

        It is the vendor's agreement with those of the person's additional terms the
        vendor accepts.
        """
        if self.alternative is None:
            return None
        extra = {i.casefold() for i in self.accepts_additional}
        kept = []
        for term in proffered.additional:  # the library's words, never the proffer's
            if term.id.casefold() in extra:
                try:
                    kept.append(library.term(term.id))
                except UnknownTerm:
                    continue
        return Terms(agreement=library.agreement(self.alternative), additional=tuple(kept))


class AlternativeRule(StrEnum):
    """What the person's agent does with a vendor's alternative."""

    ASK = "ask"
    """Accept it when it protects at least as much as what was proffered; else ask."""
    REJECT = "reject"
    """Accept it when it protects at least as much; else reject it."""
    NEVER = "never"
    """Always ask the person."""


def judge_alternative(wanted: Terms, offered: Terms, rule: AlternativeRule) -> Answer:
    """The person's agent's answer to the alternative ``offered`` for ``wanted``.

    Taken on its own only when it is worded as in the library, adds no term the person
    did not proffer, and protects at least as much, obligation by obligation.
    """
    asked = {term.id.casefold() for term in wanted.additional}
    familiar = worded_as_in(library(), offered) and all(
        term.id.casefold() in asked for term in offered.additional
    )
    if (
        rule != AlternativeRule.NEVER
        and familiar
        and not offered.obligations().weaker_than(wanted.obligations())
    ):
        return Answer.ACCEPTED
    return Answer.REJECTED if rule == AlternativeRule.REJECT else Answer.PENDING


def worded_as_in(known: Library, terms: Terms) -> bool:
    """True when every agreement and term of ``terms`` is ``known``'s, word for word."""
    try:
        return all(known.any(term.id) == term for term in (terms.agreement, *terms.additional))
    except UnknownTerm:
        return False
