"""The message types of agreements: terms proffered, and the answers to them.

The person proffers terms in the relationship request (or later, in an
``agreement.proffer``); the vendor answers with an ``agreement.answer``: accepted
(with its signature, which makes the agreement both keep), one alternative
(terms the vendor proffers and signs in turn), or rejected. The person answers an
alternative the same way, accepting or rejecting it. The terms, statements and
signatures are :mod:`vrm.terms`. Specification: docs/protocol.md, section 7.6.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from vrm.protocol.v1.message_types import Body, ShortText
from vrm.terms.agreement import DetachedJws, Proffer, Sha256Hex, Time

AGREEMENT_PROFFER = "vrm/1/agreement.proffer"
AGREEMENT_ANSWER = "vrm/1/agreement.answer"


class AgreementProffer(Body):
    """Terms offered (again) within a relationship: they replace the agreement once accepted."""

    proffer: Proffer


class AgreementAnswer(Body):
    """The answer to the proffer whose terms hash is ``terms_sha256``.

    ``accepted`` carries the answering party's signature and the time it accepted;
    ``alternative`` carries the one alternative it proffers instead; ``rejected``
    carries neither.
    """

    terms_sha256: Sha256Hex
    answer: Literal["accepted", "alternative", "rejected"]
    accepted_time: Time | None = None
    signature: DetachedJws | None = None
    alternative: Proffer | None = None
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _members_match_the_answer(self) -> AgreementAnswer:
        accepted = self.answer == "accepted"
        signed = (self.signature is not None, self.accepted_time is not None)
        if signed != (accepted, accepted):
            raise ValueError("signature and accepted_time come with accepted, and only with it")
        if (self.answer == "alternative") != (self.alternative is not None):
            raise ValueError("an alternative comes with answer alternative, and only with it")
        return self
