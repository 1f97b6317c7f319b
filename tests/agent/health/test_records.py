"""Health records through the agent: imported whole or not at all, sealed, replaced, exported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.bundle import Bundle

from tests.agent.health.bundles import only, r4, resource, sample, text
from tests.agent.vendors import files_on_disk, in_clear
from vrm.agent.audit.described import describe
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.health.fhir import InvalidBundle
from vrm.agent.personal_agent import PersonalAgent


def health_entries(person: PersonalAgent, kind: str) -> list[dict[str, object]]:
    return [entry.details for entry in person.audit_entries() if entry.kind == kind]


def test_an_import_keeps_every_resource_and_counts_them_by_type(person: PersonalAgent) -> None:
    """Counts by type; all new; the audit says what came from where."""
    result = person.import_health_bundle(text(sample()), "clinic-summary.json")
    assert result.counts == {
        "AllergyIntolerance": 1,
        "Condition": 2,
        "Immunization": 1,
        "MedicationStatement": 1,
        "Observation": 2,
        "Patient": 1,
    }
    assert (result.total, result.added, result.replaced) == (8, 8, 0)
    assert result.fhir_version == "R5"
    [details] = health_entries(person, "health.imported")
    assert details["source"] == "clinic-summary.json"
    assert details["counts"] == result.counts
    [entry] = [e for e in person.audit_entries() if e.kind == "health.imported"]
    assert describe(entry, {}) == (
        "You imported 8 health records from clinic-summary.json (1 AllergyIntolerance, "
        "2 Condition, 1 Immunization, 1 MedicationStatement, 2 Observation, 1 Patient)"
    )


def test_records_list_the_patient_first_and_read_as_a_person_reads(
    person: PersonalAgent,
) -> None:
    """Name and birth date; conditions with status and onset; allergy; medicine; vaccine; tests."""
    person.import_health_bundle(text(sample()), "clinic-summary.json")
    lines = [record.summary.line() for record in person.health_resources()]
    assert lines == [
        "Anne Louise Marsh — born 1981-04-12",
        "Type 2 diabetes mellitus — active, onset 2019-03-12",
        "Childhood asthma — resolved, onset 1988",
        "Penicillin — criticality high",
        "Metformin 500 mg tablet — One tablet twice a day with meals, taken 2019-03-20 to now",
        "Seasonal influenza vaccine — on 2025-10-14",
        "HbA1c — 6.8 %, on 2026-10-02T08:15:00+02:00",
        "Body weight — 72.4 kg, on 2026-10-02",
    ]
    record = person.health_resources()[0]
    assert (record.resource_type, record.source) == ("Patient", "clinic-summary.json")
    assert record.resource == resource(sample(), "pat-1")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("Condition", ["Type 2 diabetes mellitus", "Childhood asthma"]),
        ("condition", ["Type 2 diabetes mellitus", "Childhood asthma"]),
        ("allergy", ["Penicillin"]),
        ("MedicationStatement", ["Metformin 500 mg tablet"]),
        ("immunisation", ["Seasonal influenza vaccine"]),
        ("Observation", ["HbA1c", "Body weight"]),
        ("Encounter", []),
    ],
)
def test_records_are_listed_by_kind(person: PersonalAgent, kind: str, expected: list[str]) -> None:
    """A FHIR type or its word, in any case."""
    person.import_health_bundle(text(sample()), "clinic-summary.json")
    assert [record.summary.what for record in person.health_resources(kind)] == expected


def test_one_record_is_shown_by_number_and_a_missing_one_is_not_found(
    person: PersonalAgent,
) -> None:
    """health_resource(id) is the record listed with that id."""
    person.import_health_bundle(text(sample()), "clinic-summary.json")
    [allergy] = person.health_resources("allergy")
    shown = person.health_resource(allergy.id)
    assert shown.summary.status == "criticality high"
    assert shown.as_json()["resource"]["code"]["text"] == "Penicillin"
    with pytest.raises(NotFound, match="no health record 999"):
        person.health_resource(999)


@pytest.mark.parametrize(
    "spoil",
    ["not json", "a patient", "a wrong value", "an unknown type"],
)
def test_an_invalid_bundle_imports_nothing(person: PersonalAgent, spoil: str) -> None:
    """Even the valid resources of a spoiled Bundle are not kept, and nothing is audited."""
    bundle = sample()
    if spoil == "not json":
        document = text(bundle)[:-20]
    elif spoil == "a patient":
        document = json.dumps(resource(bundle, "pat-1"))
    elif spoil == "a wrong value":
        resource(bundle, "obs-weight")["valueQuantity"]["value"] = [72.4]
        document = text(bundle)
    else:
        bundle["entry"].append({"resource": {"resourceType": "Vitals", "id": "v"}})
        document = text(bundle)
    with pytest.raises(InvalidBundle):
        person.import_health_bundle(document, "spoiled.json")
    assert person.health_resources() == []
    assert health_entries(person, "health.imported") == []


def test_what_a_record_says_is_sealed_at_rest(person: PersonalAgent, tmp_path: Path) -> None:
    """A condition's text, a name, a medicine, a value, the source: none in the database files."""
    person.import_health_bundle(text(sample()), "marsh-clinic-2026.json")
    stored = files_on_disk(person.engine, tmp_path)
    for secret in (
        "Type 2 diabetes mellitus",
        "Marsh",
        "Metformin",
        "cond-diabetes",
        "MRN-448812",
        "AllergyIntolerance",
        "marsh-clinic-2026",
    ):
        assert not in_clear(secret, stored), secret


def test_the_same_resource_imported_again_replaces_the_one_held(person: PersonalAgent) -> None:
    """Same type and id: the new version, under the same number; nothing doubled."""
    person.import_health_bundle(text(sample()), "first.json")
    [before] = person.health_resources("Observation")[1:]
    newer = only("obs-weight", "cond-asthma")
    resource(newer, "obs-weight")["valueQuantity"]["value"] = 70.1
    result = person.import_health_bundle(text(newer), "second.json")
    assert (result.added, result.replaced) == (0, 2)
    held = person.health_resources()
    assert len(held) == 8
    after = person.health_resource(before.id)
    assert after.summary.value == "70.1 kg"
    assert after.source == "second.json"


def test_the_same_id_under_another_type_is_another_resource(person: PersonalAgent) -> None:
    """The key is type and id together."""
    person.import_health_bundle(text(only("pat-1")), "a.json")
    other = only("obs-weight")
    resource(other, "obs-weight")["id"] = "pat-1"
    assert person.import_health_bundle(text(other), "b.json").added == 1
    assert len(person.health_resources()) == 2


def test_an_export_is_a_valid_bundle_of_just_the_records_chosen(person: PersonalAgent) -> None:
    """A collection FHIR reads again, holding the chosen resources as imported; audited."""
    person.import_health_bundle(text(sample()), "clinic-summary.json")
    [allergy] = person.health_resources("allergy")
    [medicine] = person.health_resources("medication")
    written: list[str] = []
    document = person.export_health_bundle(
        [allergy.id, medicine.id], to="dr-jones.json", write=written.append
    )
    assert written == [document]
    bundle = Bundle.model_validate_json(document)
    assert bundle.type == "collection"
    exported = json.loads(document)
    assert [entry["resource"] for entry in exported["entry"]] == [
        resource(sample(), "allergy-penicillin"),
        resource(sample(), "med-metformin"),
    ]
    assert exported["entry"][0]["fullUrl"].endswith("/AllergyIntolerance/allergy-penicillin")
    [details] = health_entries(person, "health.exported")
    assert details == {"count": 2, "ids": [allergy.id, medicine.id], "to": "dr-jones.json"}
    [entry] = [e for e in person.audit_entries() if e.kind == "health.exported"]
    assert describe(entry, {}) == "You exported 2 health records to dr-jones.json"
    assert person.audit_verify().intact


def test_an_export_of_everything_holds_every_record(person: PersonalAgent) -> None:
    """Without ids, every record, the patient first."""
    person.import_health_bundle(text(sample()), "clinic-summary.json")
    bundle = Bundle.model_validate_json(person.export_health_bundle())
    assert bundle.entry is not None
    assert len(bundle.entry) == 8
    assert bundle.entry[0].resource.get_resource_type() == "Patient"


def test_an_export_refuses_unknown_numbers_nothing_and_mixed_versions(
    person: PersonalAgent,
) -> None:
    """NotFound for a missing number or an empty store; Conflict when R5 and R4B would mix."""
    with pytest.raises(NotFound, match="no health records to export"):
        person.export_health_bundle()
    person.import_health_bundle(text(only("pat-1")), "clinic.json")
    with pytest.raises(NotFound, match="no health record 42"):
        person.export_health_bundle([1, 42])
    person.import_health_bundle(json.dumps(r4()), "portal.json")
    with pytest.raises(Conflict, match="different FHIR versions"):
        person.export_health_bundle()
    [statement] = person.health_resources("medication")
    assert statement.fhir_version == "R4B"
    assert statement.summary.line() == (
        "Atorvastatin 20 mg tablet — One tablet at night, active, taken 2024-06-01"
    )
    from fhir.resources.R4B.bundle import Bundle as BundleR4B

    BundleR4B.model_validate_json(person.export_health_bundle([statement.id]))
    assert health_entries(person, "health.exported")[0]["count"] == 1
