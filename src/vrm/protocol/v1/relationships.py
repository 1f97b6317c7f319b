"""The message types of a relationship between a person and a vendor.

A person asks for a relationship from a pairwise DID used only with that vendor;
each side then announces its own state (the two "r-buttons"); the person sends
the profile fields it granted, every change to them, and revocations.
Specification: docs/protocol.md, section "Relationship types".
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, JsonValue, Strict

from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.agreements import (
    AGREEMENT_ANSWER,
    AGREEMENT_PROFFER,
    AgreementAnswer,
    AgreementProffer,
)
from vrm.protocol.v1.data_rights import (
    DATA_ERASED,
    DATA_EXPORT,
    DATA_REQUEST,
    DataErased,
    DataExport,
    DataRequest,
)
from vrm.protocol.v1.message_types import (
    Body,
    FieldPath,
    HttpUrl,
    IsoDate,
    ShortText,
    v1_types,
)
from vrm.terms.agreement import Proffer

RELATIONSHIP_REQUEST = "vrm/1/relationship.request"
RELATIONSHIP_STATE = "vrm/1/relationship.state"
PROFILE_UPDATE = "vrm/1/profile.update"
PROFILE_REVOKE = "vrm/1/profile.revoke"


class PartyState(StrEnum):
    """One side's r-button.

    The person's side is ``wants``, ``paused`` or ``ended``; the vendor's side is
    ``accepted``, ``refused`` or ``ended`` (``unknown`` until it answers, never sent).
    """

    WANTS = "wants"
    PAUSED = "paused"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    ENDED = "ended"


PERSON_STATES = frozenset({PartyState.WANTS, PartyState.PAUSED, PartyState.ENDED})
VENDOR_STATES = frozenset({PartyState.ACCEPTED, PartyState.REFUSED, PartyState.ENDED})


class RelationshipRequest(Body):
    """The person asks the vendor for a relationship with this pairwise DID.

    ``reply_to`` is the person's inbox URL: where the vendor's answers go.
    ``proffer`` is the person's terms, signed; the vendor answers them with an
    ``agreement.answer``. No personal data flows until an agreement exists.
    """

    reply_to: HttpUrl
    comment: ShortText | None = None
    proffer: Proffer | None = None


class RelationshipState(Body):
    """One side announces its state; ``thid`` is the request's id when it answers one."""

    state: Annotated[PartyState, Strict(False)]  # the string value, as JSON carries it
    reason: ShortText | None = None


class Grant(Body):
    """Why the person shares the fields it comes with, and until when."""

    purpose: ShortText
    until: IsoDate | None = None


class FieldValue(Body):
    """One profile field at one version; ``value`` absent (or null) means it was cleared.

    ``version`` grows by one at every change of that field: a receiver keeps the
    highest version it has seen and ignores older ones arriving late.
    """

    path: FieldPath
    version: Annotated[int, Field(ge=1)]
    value: JsonValue = None
    changed_time: Annotated[int, Field(ge=0)]


class ProfileUpdate(Body):
    """The current values of granted fields: sent when granted, and at each change."""

    grant: Grant
    fields: Annotated[list[FieldValue], Field(min_length=1, max_length=64)]


class ProfileRevoke(Body):
    """The person withdraws these fields: the vendor should stop using and delete them."""

    fields: Annotated[list[FieldPath], Field(min_length=1, max_length=64)]
    reason: ShortText | None = None


def relationship_types() -> MessageTypes:
    """Return a new registry of the v1 protocol types plus the relationship types.

    The relationship types are those of relationships, agreements and data rights.
    """
    types = v1_types()
    types.add(RELATIONSHIP_REQUEST, RelationshipRequest)
    types.add(RELATIONSHIP_STATE, RelationshipState)
    types.add(PROFILE_UPDATE, ProfileUpdate)
    types.add(PROFILE_REVOKE, ProfileRevoke)
    types.add(AGREEMENT_PROFFER, AgreementProffer)
    types.add(AGREEMENT_ANSWER, AgreementAnswer)
    types.add(DATA_REQUEST, DataRequest)
    types.add(DATA_EXPORT, DataExport)
    types.add(DATA_ERASED, DataErased)
    return types
