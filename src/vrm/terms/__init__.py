"""Personal terms: the IEEE 7012 roster, additional terms, and signed agreements — pure.

    terms = Terms(agreement=library().agreement("SD-BASE"), additional=())
    offer = proffer(terms, person, person=person.did, vendor=vendor.did,
                    proffered_by="person", now=now)
    agreement = accept(offer, vendor, now=now)     # what both parties keep
    agreement.verify()                             # offline, at any time

The library is docs/terms.md; the messages that carry these are docs/protocol.md 7.6.
"""

# The protocol's message types carry terms: load the protocol first, so that whichever
# of the two packages is imported first, each module is complete before it is used.
import vrm.protocol  # noqa: F401  (import order, see above)
from vrm.terms.agreement import (
    Agreement,
    AgreementInvalid,
    Proffer,
    Statement,
    Terms,
    accept,
    countersigned,
    proffer,
)
from vrm.terms.library import Library, Term, UnknownTerm, library
from vrm.terms.obligations import Obligations
from vrm.terms.policy import AlternativeRule, Answer, VendorTermsPolicy, judge_alternative

__all__ = [
    "Agreement",
    "AgreementInvalid",
    "AlternativeRule",
    "Answer",
    "Library",
    "Obligations",
    "Proffer",
    "Statement",
    "Term",
    "Terms",
    "UnknownTerm",
    "VendorTermsPolicy",
    "accept",
    "countersigned",
    "judge_alternative",
    "library",
    "proffer",
]
