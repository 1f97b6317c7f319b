"""The health record bodies: a Bundle collection of resources, a grant that ends in time."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from vrm.protocol import (
    HEALTH_DELETED,
    HEALTH_PRESENTATION,
    HEALTH_WITHDRAW,
    HealthDeleted,
    HealthPresentation,
    HealthWithdraw,
    Identity,
    ProtocolError,
    RefusalCode,
    Verifier,
    compose,
    decrypt,
    encrypt_for,
    health_types,
    relationship_types,
)
from vrm.protocol.v1.health import MAX_GRANT_SECONDS, check_grant, grant_end, rfc3339

PERSON = Identity.from_seed(bytes(range(32)))
DOCTOR = Identity.from_seed(bytes(range(1, 33)))
CONDITION = {
    "resourceType": "Condition",
    "id": "cond-diabetes",
    "code": {"text": "Type 2 diabetes mellitus"},
    "subject": {"reference": "Patient/pat-1"},
}


def presentation(**changes: Any) -> dict[str, Any]:
    """A condition presented for a first visit until 15 March 2026, 09:00 UTC."""
    body: dict[str, Any] = {
        "presentation": "1b7e3c52-9d0a-4f61-8c2e-5a4b3f2d1e09",
        "purpose": "First visit: diabetes care",
        "valid_until": "2026-03-15T09:00:00Z",
        "fhir_version": "R5",
        "bundle": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {
                    "fullUrl": "https://clinic.example/fhir/Condition/cond-diabetes",
                    "resource": CONDITION,
                }
            ],
        },
    }
    body.update(changes)
    return copy.deepcopy(body)


def refusal(body: dict[str, Any]) -> str:
    """What pydantic says is wrong with ``body`` as a presentation."""
    with pytest.raises(ValidationError) as refused:
        HealthPresentation.model_validate(body)
    return str(refused.value)


def test_a_presentation_reads_back_with_its_end_in_seconds() -> None:
    """The resources as given, and valid_until as Unix seconds (an offset is honoured)."""
    taken = HealthPresentation.model_validate(presentation())
    assert taken.bundle.entry[0].resource == CONDITION
    assert taken.ends_at() == 1773565200.0
    later = HealthPresentation.model_validate(presentation(valid_until="2026-03-15T10:00:00+01:00"))
    assert later.ends_at() == taken.ends_at()
    assert rfc3339(taken.ends_at()) == "2026-03-15T09:00:00Z"
    assert grant_end(rfc3339(1773565200.7)) == 1773565200.0  # to the second


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"valid_until": "2026-02-30T09:00:00Z"}, "not a time of the calendar"),
        ({"valid_until": "2026-03-15T09:00:00"}, "should match pattern"),  # no offset
        ({"valid_until": "2026-03-15"}, "should match pattern"),
        ({"fhir_version": "R4"}, "'R5' or 'R4B'"),
        ({"purpose": ""}, "at least 1 character"),
        ({"presentation": "short"}, "should match pattern"),
        ({"shared_with": "everyone"}, "Extra inputs are not permitted"),
    ],
)
def test_a_presentation_out_of_shape_is_refused(change: dict[str, Any], said: str) -> None:
    """A time that is not one, a version of FHIR not taken, an empty purpose, an unknown member."""
    assert said in refusal(presentation(**change))


@pytest.mark.parametrize(
    ("spoil", "said"),
    [
        (lambda b: b.update(type="searchset"), "'collection'"),
        (lambda b: b.update(resourceType="Patient"), "'Bundle'"),
        (lambda b: b.update(entry=[]), "at least 1 item"),
        (lambda b: b.update(id="bundle-1"), "Extra inputs are not permitted"),
        (lambda b: b["entry"][0]["resource"].pop("resourceType"), "names its resourceType"),
        (lambda b: b["entry"][0]["resource"].update(resourceType="condition"), "resourceType"),
        (lambda b: b["entry"][0].update(search={"mode": "match"}), "Extra inputs"),
        (lambda b: b.update(entry=b["entry"] * 501), "at most 500 items"),
    ],
)
def test_the_bundle_is_a_collection_of_named_resources(spoil: Any, said: str) -> None:
    """Only a collection, with 1 to 500 entries, each a resource naming its FHIR type."""
    body = presentation()
    spoil(body["bundle"])
    assert said in refusal(body)


def test_a_grant_ends_after_it_is_made_and_within_a_year() -> None:
    """check_grant takes an end in (created, created + a year]; else it says why."""
    check_grant(1001.0, created=1000.0)
    check_grant(1000.0 + MAX_GRANT_SECONDS, created=1000.0)
    with pytest.raises(ValueError, match="not after"):
        check_grant(1000.0, created=1000.0)
    with pytest.raises(ValueError, match="more than a year"):
        check_grant(1001.0 + MAX_GRANT_SECONDS, created=1000.0)


def test_withdrawals_and_deletions_name_a_reason_of_the_protocol() -> None:
    """withdraw: revoked or expired; deleted: those, ended or erased, and a time."""
    HealthWithdraw.model_validate({"presentation": "visit-00000001", "reason": "expired"})
    with pytest.raises(ValidationError):
        HealthWithdraw.model_validate({"presentation": "visit-00000001", "reason": "ended"})
    deleted = {"presentation": "visit-00000001", "deleted_time": 1773565200, "reason": "erased"}
    assert HealthDeleted.model_validate(deleted).reason == "erased"
    with pytest.raises(ValidationError):
        HealthDeleted.model_validate({**deleted, "deleted_time": -1})


def test_a_presentation_travels_signed_then_encrypted_to_the_doctor_alone() -> None:
    """The doctor decrypts and verifies it; the relationship types alone refuse it as unknown."""
    _, token = compose(
        PERSON, type=HEALTH_PRESENTATION, to=DOCTOR.did, body=presentation(), now=1773000000
    )
    sealed = encrypt_for(DOCTOR.did, token)
    assert "Type 2 diabetes" not in sealed
    verifier = Verifier(
        receiver=DOCTOR.did, types=health_types(), seen_ids=None, clock=lambda: 1773000001
    )
    message = verifier.verify(decrypt(sealed, DOCTOR))
    assert isinstance(message.body, HealthPresentation)
    assert message.sender == PERSON.did
    with pytest.raises(ProtocolError) as refused:
        Verifier(
            receiver=DOCTOR.did, types=relationship_types(), seen_ids=None, clock=lambda: 1773000001
        ).verify(token)
    assert refused.value.code == RefusalCode.UNKNOWN_TYPE
    assert set(health_types()) >= {HEALTH_PRESENTATION, HEALTH_WITHDRAW, HEALTH_DELETED}
