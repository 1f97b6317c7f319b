"""Resources in a person's words, R5 and R4 alike, for the types a person meets and others."""

from __future__ import annotations

from vrm.health.summary import summarise


def test_a_prescription_names_its_medicine_dosage_and_date() -> None:
    """R5 names the medicine by reference; the date is when it was written."""
    line = summarise(
        {
            "resourceType": "MedicationRequest",
            "status": "active",
            "medication": {"reference": {"display": "Salbutamol inhaler"}},
            "authoredOn": "2026-02-03",
            "dosageInstruction": [{"text": "Two puffs when needed"}],
        }
    ).line()
    assert line == "Salbutamol inhaler — Two puffs when needed, active, prescribed 2026-02-03"


def test_a_blood_pressure_reads_as_its_components() -> None:
    """An observation with no value of its own shows each component with its unit."""
    summary = summarise(
        {
            "resourceType": "Observation",
            "code": {"text": "Blood pressure"},
            "effectiveDateTime": "2026-10-02",
            "interpretation": [{"coding": [{"code": "H", "display": "High"}]}],
            "component": [
                {"code": {"text": "Systolic"}, "valueQuantity": {"value": 142, "unit": "mmHg"}},
                {"code": {"text": "Diastolic"}, "valueQuantity": {"value": 91, "unit": "mmHg"}},
            ],
        }
    )
    assert summary.line() == (
        "Blood pressure — Systolic 142 mmHg; Diastolic 91 mmHg, High, on 2026-10-02"
    )


def test_a_name_as_text_and_an_age_of_onset() -> None:
    """HumanName.text is taken as written; onsetAge reads as an age."""
    assert summarise({"resourceType": "Patient", "name": [{"text": "Dr. A. Marsh"}]}).what == (
        "Dr. A. Marsh"
    )
    condition = summarise(
        {
            "resourceType": "Condition",
            "code": {"coding": [{"code": "195967001"}]},
            "onsetAge": {"value": 7, "unit": "years"},
        }
    )
    assert condition.line() == "195967001 — onset age 7 years"


def test_other_types_are_named_by_their_code() -> None:
    """A procedure has no words of its own: its code's text, status and date."""
    summary = summarise(
        {"resourceType": "Procedure", "status": "completed", "code": {"text": "Appendectomy"}}
    )
    assert (summary.kind, summary.line()) == ("Procedure", "Appendectomy — completed")
    assert summarise({"resourceType": "Basic"}).what == "Basic"
