"""An offer for a matched intent: what the vendor says, checked, signed and encrypted.

Pure: no database, no network. :class:`vrm.vendor.intents.Intents` finds the
intent and keeps the offer; :class:`vrm.vendor.exchanges.Exchanges` posts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vrm.protocol import DEFAULT_MAX_LIFETIME, Identity, compose, encrypt_for
from vrm.protocol.envelope import EpochSeconds
from vrm.protocol.v1.intents import (
    OFFER,
    Amount,
    Currency,
    Name,
    OfferBody,
    OfferTerms,
    PriceTier,
    Seller,
    TermId,
)
from vrm.protocol.v1.message_types import FieldPath, IsoDate
from vrm.terms import VendorTermsPolicy
from vrm.vendor.errors import InvalidRequest


class OfferRequest(BaseModel):
    """What the vendor offers (schema.org ``Offer`` names); the endpoint adds the rest.

    ``validThrough`` defaults to the intent's expiry; ``accepts_terms`` to every term
    of the intent that the endpoint's ``[terms]`` policy accepts.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    price: Amount
    priceCurrency: Currency
    deliveryCost: Amount = 0.0
    availabilityStarts: IsoDate | None = None
    validThrough: EpochSeconds | None = None
    priceTiers: list[PriceTier] = Field(default_factory=list, max_length=16)
    accepts_terms: Annotated[list[TermId], Field(max_length=16)] | None = None
    needs: list[FieldPath] = Field(default_factory=list, max_length=32)


@dataclass(frozen=True, slots=True)
class MatchedIntent:
    """What an offer needs to know of the intent it answers."""

    id: int
    intent_id: str
    pseudonym: str
    mailbox: str
    terms: list[str]
    expires_at: float


@dataclass(frozen=True, slots=True)
class PreparedOffer:
    """An offer signed and encrypted to the intent's pseudonym, ready for its mailbox."""

    intent: int
    mailbox: str
    message_id: str
    body: OfferBody
    encrypted: str


def sign_offer(
    request: OfferRequest,
    *,
    identity: Identity,
    seller: Seller,
    intent: MatchedIntent,
    policy: VendorTermsPolicy,
    now: float,
) -> PreparedOffer:
    """Check the offer against the intent, sign it and encrypt it to the intent's pseudonym.

    Raises:
        InvalidRequest: it accepts terms the intent does not ask, or would end already.
    """
    accepts = (
        accepted_terms(intent.terms, policy)
        if request.accepts_terms is None
        else list(dict.fromkeys(request.accepts_terms))
    )
    not_asked = [term for term in accepts if term not in intent.terms]
    if not_asked:
        raise InvalidRequest(
            f"accepts_terms: the intent does not ask {', '.join(not_asked)} "
            f"(it asks {', '.join(intent.terms)})"
        )
    valid_through = request.validThrough or int(intent.expires_at)
    if valid_through <= now:
        raise InvalidRequest("validThrough: the offer would end before it is sent")
    try:
        body = OfferBody(
            intent=intent.intent_id,
            offer=OfferTerms(
                name=request.name,
                description=request.description,
                price=request.price,
                priceCurrency=request.priceCurrency,
                deliveryCost=request.deliveryCost,
                availabilityStarts=request.availabilityStarts,
                validThrough=valid_through,
                priceTiers=request.priceTiers,
            ),
            seller=seller,
            accepts_terms=accepts,
            needs=list(dict.fromkeys(request.needs)),
        )
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "(offer)"
        raise InvalidRequest(f"{where}: {error['msg']}") from exc
    # The person may read the offer any time until it ends: the message lives as long.
    lifetime = min(DEFAULT_MAX_LIFETIME, valid_through - int(now))
    envelope, token = compose(
        identity,
        type=OFFER,
        to=intent.pseudonym,
        body=body,
        thid=intent.intent_id,
        lifetime=max(1, lifetime),
        now=now,
    )
    return PreparedOffer(
        intent=intent.id,
        mailbox=intent.mailbox,
        message_id=envelope.id,
        body=body,
        encrypted=encrypt_for(intent.pseudonym, token),
    )


def accepted_terms(asked: list[str], policy: VendorTermsPolicy) -> list[str]:
    """The terms of ``asked`` that ``policy`` accepts: agreements and additional terms."""
    known = {term.casefold() for term in (*policy.accepts, *policy.accepts_additional)}
    return [term for term in asked if term.casefold() in known]
