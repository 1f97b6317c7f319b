"""The message types of the person's data rights: a copy of everything, and erasure.

The person asks (``data.request``, kind ``export`` or ``erase``); the vendor answers
an export with ``data.export`` — everything it holds on that person, signed, and
encrypted to the person's pairwise DID — and an erasure with ``data.erased``, a
signed confirmation sent once the record is gone from its store and its CRMs.
Ending a relationship under terms with ``delete_on_end`` asks for erasure too.
Specification: docs/protocol.md, section 7.7.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, JsonValue

from vrm.protocol.envelope import EpochSeconds, MessageId
from vrm.protocol.v1.intents import Amount, CategoryPath, Currency
from vrm.protocol.v1.intents import Name as OfferName
from vrm.protocol.v1.message_types import Body, FieldPath, IsoDate, ShortText
from vrm.terms.agreement import Agreement

DATA_REQUEST = "vrm/1/data.request"
DATA_EXPORT = "vrm/1/data.export"
DATA_ERASED = "vrm/1/data.erased"

Name = Annotated[str, Field(min_length=1, max_length=128)]
SignedReceipt = Annotated[str, Field(min_length=1, max_length=256 * 1024)]
"""A ``receipt`` message as the vendor signed it: a compact JWS, at most an inbox's limit."""


class DataRequest(Body):
    """The person asks for a copy of everything held (``export``) or for erasure."""

    kind: Literal["export", "erase"]
    reason: ShortText | None = None


class ExportedRelationship(Body):
    """Both r-buttons as the vendor holds them."""

    state: Name
    person_state: Name
    created_time: EpochSeconds


class ExportedField(Body):
    """A field the vendor holds now, with the grant it came under."""

    path: FieldPath
    version: Annotated[int, Field(ge=1)]
    value: JsonValue = None
    purpose: ShortText | None = None
    until: IsoDate | None = None
    changed_time: EpochSeconds
    received_time: EpochSeconds


class ExportedChange(Body):
    """One entry of the record's history: a version received, or a field removed."""

    path: FieldPath
    version: Annotated[int, Field(ge=1)]
    value: JsonValue = None
    event: Name
    message_id: MessageId
    received_time: EpochSeconds


class ExportedDelivery(Body):
    """A change the vendor passed on to one of its systems (a CRM, a webhook, a file)."""

    system: Name
    event_id: Name
    kind: Name
    fields: Annotated[list[FieldPath], Field(max_length=256)]
    state: Name
    created_time: EpochSeconds
    delivered_time: EpochSeconds | None = None


class ExportedOffer(Body):
    """An offer of the vendor's that the person took (``offer.accept``): what was sold."""

    offer: MessageId
    category: CategoryPath
    name: OfferName
    price: Amount
    priceCurrency: Currency
    accepted_time: EpochSeconds


class DataExport(Body):
    """Everything the vendor holds on the person, answering the request ``request``.

    ``vendor_data`` is what the vendor recorded about the person itself (not sent
    by the person); ``deliveries`` where the person's data went inside the vendor.
    """

    request: MessageId
    generated_time: EpochSeconds
    relationship: ExportedRelationship
    fields: Annotated[list[ExportedField], Field(max_length=1024)]
    history: Annotated[list[ExportedChange], Field(max_length=4096)]
    vendor_data: Annotated[dict[Name, JsonValue], Field(max_length=256)]
    deliveries: Annotated[list[ExportedDelivery], Field(max_length=4096)]
    agreements: Annotated[list[Agreement], Field(max_length=64)]
    offers: Annotated[list[ExportedOffer], Field(max_length=256)] = Field(default_factory=list)
    """The vendor's offers the person accepted, tying the intents to this relationship."""
    receipts: Annotated[list[SignedReceipt], Field(max_length=256)] = Field(default_factory=list)
    """The receipts the vendor sent the person (section 7.9), each as it signed it."""
    truncated: bool = False
    """True when history, deliveries or receipts were cut to fit one message (newest kept)."""


class ErasedSystem(Body):
    """What one of the vendor's systems did with the erasure."""

    system: Name
    state: Literal["deleted", "failed"]
    detail: ShortText | None = None


class DataErased(Body):
    """The vendor erased the person's record: store, history and every system told.

    ``request`` is the ``data.request`` (or the ``relationship.state`` ending the
    relationship under ``delete_on_end`` terms) being confirmed.
    """

    request: MessageId
    erased_time: EpochSeconds
    systems: Annotated[list[ErasedSystem], Field(max_length=64)]
