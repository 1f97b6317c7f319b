"""The vendor's policies: which requests are accepted at once, how proffered terms are answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from vrm.protocol import PartyState
from vrm.terms import Answer, Terms, UnknownTerm, VendorTermsPolicy, library

PENDING = "pending"
_REASON_CHARS = 1024  # a ShortText


class PolicyMode(StrEnum):
    """How relationship requests are answered."""

    ACCEPT_ALL = "accept_all"
    ALLOW_LIST = "allow_list"
    """Accept the DIDs listed; hold the others for the vendor to approve or refuse."""
    MANUAL = "manual"
    """Hold every request for the vendor to approve or refuse."""


@dataclass(frozen=True)
class Policy:
    """The relationship policy."""

    mode: PolicyMode = PolicyMode.ACCEPT_ALL
    allowed: frozenset[str] = field(default_factory=frozenset)

    def decide(self, did: str) -> str:
        """``accepted`` or ``pending`` for a new request from ``did``."""
        if self.mode == PolicyMode.ACCEPT_ALL:
            return PartyState.ACCEPTED.value
        if self.mode == PolicyMode.ALLOW_LIST and did in self.allowed:
            return PartyState.ACCEPTED.value
        return PENDING


def terms_decision(policy: VendorTermsPolicy, terms: Terms) -> Answer:
    """The terms policy's answer, accepting only terms worded exactly as in the library.

    :meth:`VendorTermsPolicy.decide` compares ids; a proffer could carry a known id
    with other words or obligations, which the vendor never agreed to.
    """
    decision = policy.decide(terms)
    if decision == Answer.ACCEPTED and not worded_as_in_library(terms):
        return Answer.ALTERNATIVE if policy.alternative else Answer.REJECTED
    if decision == Answer.ALTERNATIVE:
        offered = policy.alternative_terms(library(), terms)
        if offered is not None and offered == terms:
            return Answer.ACCEPTED  # the alternative is what was proffered
    return decision


def worded_as_in_library(terms: Terms) -> bool:
    """Whether every agreement and term is the library's, word for word."""
    known = library()
    try:
        return all(known.any(term.id) == term for term in (terms.agreement, *terms.additional))
    except UnknownTerm:
        return False


def rejection_reason(policy: VendorTermsPolicy) -> str:
    """What the vendor accepts, told to a person whose terms it rejected."""
    accepted = ", ".join(sorted(policy.accepts)) or "no agreement"
    extra = ", ".join(sorted(policy.accepts_additional)) or "none"
    reason = f"not accepted: this vendor accepts {accepted}, with the additional terms {extra}"
    return reason[:_REASON_CHARS]
