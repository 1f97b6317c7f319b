"""The shared FHIR checks in one named version, as a doctor's endpoint validates a presentation."""

from __future__ import annotations

import pytest

from tests.agent.health.bundles import r4, resource, sample
from vrm.health.fhir import InvalidBundle, validate_in


def test_a_bundle_is_validated_in_the_version_it_names() -> None:
    """The sample is R5; the R4 export is R4B; each refused in the other version, saying where."""
    assert len(validate_in(sample(), "R5").entries) == 8
    assert validate_in(r4(), "R4B").fhir_version == "R4B"
    with pytest.raises(InvalidBundle, match=r"^invalid FHIR R5 Bundle: entry 1 \(Medication"):
        validate_in(r4(), "R5")


def test_an_invalid_resource_or_an_unknown_version_is_refused_in_words() -> None:
    """The entry and path of a wrong value; a version neither R5 nor R4B."""
    bundle = sample()
    resource(bundle, "obs-hba1c")["valueQuantity"]["value"] = "high"
    with pytest.raises(InvalidBundle, match=r"entry 7 \(Observation\): valueQuantity\.value"):
        validate_in(bundle, "R5")
    with pytest.raises(InvalidBundle, match="FHIR R4 is not R5 or R4B"):
        validate_in(sample(), "R4")
