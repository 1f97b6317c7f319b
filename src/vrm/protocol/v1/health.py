"""The message types of health records a person presents to a doctor, for a while.

Over an accepted relationship, the person's agent presents chosen health records to
a doctor's endpoint (``health.presentation``): a FHIR Bundle of type ``collection``
holding just those resources, the purpose, and the end of the grant
(``valid_until``). The doctor keeps them until then and deletes them when that time
passes — by itself, whatever else happens —, when the person withdraws them
(``health.withdraw``), or when the relationship ends or the record is erased; it
confirms each deletion with a signed ``health.deleted``. What a person presents, and
to whom, is health data: every one of these messages is encrypted to its recipient.

The Bundle's shape is checked here (a ``collection`` whose every entry holds a
resource naming its ``resourceType``); the receiver validates it in full, as FHIR
R5 or R4B as the presentation says (:mod:`vrm.health.fhir`). A grant's end is an
RFC 3339 time after the message's creation and at most a year after it
(:func:`check_grant`).
Specification: docs/protocol.md, section 7.10.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import Field, JsonValue, model_validator

from vrm.protocol.envelope import EpochSeconds
from vrm.protocol.registry import MessageTypes
from vrm.protocol.v1.message_types import Body, v1_types

HEALTH_PRESENTATION = "vrm/1/health.presentation"
HEALTH_WITHDRAW = "vrm/1/health.withdraw"
HEALTH_DELETED = "vrm/1/health.deleted"

MAX_GRANT_SECONDS = 366 * 24 * 3600
"""The longest a grant may run, from the presentation's creation: a year (a leap one)."""
MAX_ENTRIES = 500
"""The most resources one presentation holds."""
FHIR_VERSIONS = ("R5", "R4B")

PresentationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{8,128}$")]
"""The person's id of one presentation: the same in its withdrawal and its deletion."""
Rfc3339 = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
        r"(Z|[+-][0-9]{2}:[0-9]{2})$"
    ),
]
"""A time with its offset from UTC, as RFC 3339 writes it: ``2026-03-08T17:00:00Z``."""
Purpose = Annotated[str, Field(min_length=1, max_length=1024)]
FullUrl = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^\S+$")]
DeletionReason = Literal["revoked", "expired", "ended", "erased"]
"""Why a doctor deleted a presentation's records: withdrawn, its grant ended, the relationship
ended, the person's record erased."""

_RESOURCE_TYPE = re.compile(r"^[A-Z][A-Za-z]{1,63}$")


class BundleEntry(Body):
    """One entry of the Bundle: a FHIR resource, and its ``fullUrl`` when it has one."""

    fullUrl: FullUrl | None = None
    resource: dict[str, JsonValue]
    """The resource as FHIR's JSON writes it; it names its ``resourceType``."""

    @model_validator(mode="after")
    def _names_its_type(self) -> BundleEntry:
        kind = self.resource.get("resourceType")
        if not isinstance(kind, str) or not _RESOURCE_TYPE.match(kind):
            raise ValueError("a resource names its resourceType (a FHIR resource type)")
        return self


class CollectionBundle(Body):
    """A FHIR ``Bundle`` of type ``collection``: just the resources presented."""

    resourceType: Literal["Bundle"]
    type: Literal["collection"]
    entry: Annotated[list[BundleEntry], Field(min_length=1, max_length=MAX_ENTRIES)]


class HealthPresentation(Body):
    """Health records presented to a doctor for ``purpose`` until ``valid_until``.

    ``presentation`` is the person's id of it; ``fhir_version`` the FHIR version its
    resources are in (R5, or R4B, which also reads what R4 systems export).
    """

    presentation: PresentationId
    purpose: Purpose
    valid_until: Rfc3339
    fhir_version: Literal["R5", "R4B"]
    bundle: CollectionBundle

    @model_validator(mode="after")
    def _ends_at_a_time(self) -> HealthPresentation:
        grant_end(self.valid_until)
        return self

    def ends_at(self) -> float:
        """The end of the grant, in Unix seconds."""
        return grant_end(self.valid_until)


class HealthWithdraw(Body):
    """The person withdraws a presentation: the doctor deletes its records now.

    ``revoked``: the person took it back; ``expired``: its grant ended (for a doctor
    that has not deleted it by itself).
    """

    presentation: PresentationId
    reason: Literal["revoked", "expired"]


class HealthDeleted(Body):
    """The doctor's signed word that a presentation's records are deleted, and when.

    ``reason``: ``revoked`` or ``expired`` (withdrawn, or the grant ended), ``ended``
    (the relationship ended), ``erased`` (the person's record was erased).
    """

    presentation: PresentationId
    deleted_time: EpochSeconds
    reason: DeletionReason


def grant_end(valid_until: str) -> float:
    """An RFC 3339 time as Unix seconds.

    Raises:
        ValueError: it is not a time of the calendar (``2026-02-30T10:00:00Z``).
    """
    try:
        return dt.datetime.fromisoformat(valid_until.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"valid_until {valid_until} is not a time of the calendar") from None


def rfc3339(seconds: float) -> str:
    """Unix seconds as the RFC 3339 time a presentation writes, in UTC to the second."""
    moment = dt.datetime.fromtimestamp(int(seconds), dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def check_grant(valid_until: float, *, created: float) -> None:
    """Refuse a grant that ends by its presentation's creation, or more than a year after.

    Raises:
        ValueError: the end is not after ``created``, or later than
            :data:`MAX_GRANT_SECONDS` after it.
    """
    if valid_until <= created:
        raise ValueError("valid_until is not after the presentation was made")
    if valid_until > created + MAX_GRANT_SECONDS:
        raise ValueError("valid_until is more than a year after the presentation was made")


def health_types() -> MessageTypes:
    """The v1 types plus the three of presenting health records."""
    types = v1_types()
    types.add(HEALTH_PRESENTATION, HealthPresentation)
    types.add(HEALTH_WITHDRAW, HealthWithdraw)
    types.add(HEALTH_DELETED, HealthDeleted)
    return types
