"""Bundles parsed and validated: R5 and R4B taken; anything else refused, saying where."""

from __future__ import annotations

import json

import pytest

from tests.agent.health.bundles import r4, resource, sample, text
from vrm.agent.health.fhir import InvalidBundle, parse_bundle
from vrm.health.fhir import collection


def refusal(document: str | bytes) -> str:
    with pytest.raises(InvalidBundle) as refused:
        parse_bundle(document)
    assert refused.value.status == 422
    return str(refused.value)


def test_the_sample_is_a_valid_r5_bundle_of_eight_resources() -> None:
    """Every entry comes back in order, with its type, id and fullUrl."""
    parsed = parse_bundle(text(sample()))
    assert parsed.fhir_version == "R5"
    assert parsed.bundle_type == "collection"
    assert [entry.resource_type for entry in parsed.entries] == [
        "Patient",
        "Condition",
        "Condition",
        "AllergyIntolerance",
        "MedicationStatement",
        "Immunization",
        "Observation",
        "Observation",
    ]
    first = parsed.entries[0]
    assert (first.position, first.resource_id) == (1, "pat-1")
    assert first.full_url == "https://clinic.example/fhir/Patient/pat-1"


def test_an_r4_export_is_read_as_r4b_and_a_search_outcome_is_left_out() -> None:
    """An R4 MedicationStatement fails R5 but fits R4B; the OperationOutcome is not kept."""
    parsed = parse_bundle(json.dumps(r4()).encode())
    assert parsed.fhir_version == "R4B"
    assert [entry.resource_type for entry in parsed.entries] == ["MedicationStatement"]


def test_not_json_is_refused_saying_where() -> None:
    """The JSON error with its line and column; JSON nested past reason."""
    assert refusal('{"resourceType": "Bundle",').startswith("not JSON: ")
    assert "line 1" in refusal("{")
    assert refusal("[" * 100_000 + "]" * 100_000).endswith("nested too deeply")


def test_something_other_than_a_bundle_is_refused() -> None:
    """A Patient alone, a list, a Bundle with nothing in it."""
    said = refusal(json.dumps(resource(sample(), "pat-1")))
    assert said.startswith("not a FHIR Bundle (its resourceType is 'Patient')")
    assert refusal("[]").startswith("not a FHIR Bundle")
    assert refusal('{"resourceType": "Bundle", "type": "collection"}') == (
        "the Bundle holds no resources to import"
    )


def test_a_value_of_the_wrong_type_is_named_with_its_entry_and_path() -> None:
    """entry 7 (Observation): valueQuantity.value: not a number."""
    bundle = sample()
    resource(bundle, "obs-hba1c")["valueQuantity"]["value"] = "six point eight"
    assert refusal(text(bundle)) == (
        "invalid FHIR R5 Bundle: entry 7 (Observation): valueQuantity.value: not a number"
    )


def test_several_problems_are_listed_the_first_few_shown() -> None:
    """A bad date and a bad list, each with its entry; more than three are counted."""
    bundle = sample()
    resource(bundle, "pat-1")["birthDate"] = "12/04/1981"
    resource(bundle, "cond-asthma")["code"]["coding"] = "asthma"
    resource(bundle, "imm-flu-2025")["occurrenceDateTime"] = "last autumn"
    resource(bundle, "obs-weight")["valueQuantity"]["value"] = "heavy"
    said = refusal(text(bundle))
    assert said.startswith("invalid FHIR R5 Bundle: ")
    assert "entry 1 (Patient): birthDate: not a date" in said
    assert "entry 3 (Condition): code.coding: not a list" in said
    assert said.endswith("(and 1 more)")


def test_an_unknown_resource_type_is_refused_with_its_entry() -> None:
    """FHIR has no Diagnosis resource."""
    bundle = sample()
    bundle["entry"].append({"resource": {"resourceType": "Diagnosis", "id": "d-1"}})
    assert refusal(text(bundle)) == "invalid FHIR Bundle: entry 9: unknown resourceType 'Diagnosis'"


def test_an_unknown_bundle_type_and_an_unknown_element_are_refused() -> None:
    """Bundle.type must be one of FHIR's codes; a resource has only FHIR's elements."""
    bundle = sample()
    bundle["type"] = "shoebox"
    resource(bundle, "allergy-penicillin")["severity"] = "bad"
    said = refusal(text(bundle))
    assert "type: 'shoebox' is not a Bundle type" in said
    assert "entry 4 (AllergyIntolerance): severity: not an element of this resource" in said


def test_a_collection_is_a_valid_bundle_of_the_resources_given() -> None:
    """What collection writes parses again, with the same resources."""
    entries = [(e.full_url, e.resource) for e in parse_bundle(text(sample())).entries[:2]]
    again = parse_bundle(collection(entries, "R5"))
    assert again.bundle_type == "collection"
    assert [e.resource for e in again.entries] == [resource for _, resource in entries]
