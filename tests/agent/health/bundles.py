"""FHIR Bundles for the health tests: the hand-written sample, and ways to spoil it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).with_name("sample_bundle.json")


def sample() -> dict[str, Any]:
    """The sample Bundle (R5): a patient, two conditions, an allergy, a medicine, a
    vaccination and two measurements."""
    loaded: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return loaded


def text(bundle: dict[str, Any]) -> str:
    """The Bundle as JSON text, as a file or a request holds it."""
    return json.dumps(bundle)


def resource(bundle: dict[str, Any], resource_id: str) -> dict[str, Any]:
    """The resource with this id in the Bundle (to change it in place)."""
    found: dict[str, Any] = next(
        entry["resource"] for entry in bundle["entry"] if entry["resource"]["id"] == resource_id
    )
    return found


def only(*resource_ids: str) -> dict[str, Any]:
    """The sample holding only the resources with these ids."""
    bundle = copy.deepcopy(sample())
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] in resource_ids]
    return bundle


def r4() -> dict[str, Any]:
    """A small Bundle as an R4 system exports it (a medicine named the R4 way)."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "fullUrl": "https://portal.example/fhir/MedicationStatement/ms-7",
                "resource": {
                    "resourceType": "MedicationStatement",
                    "id": "ms-7",
                    "status": "active",
                    "medicationCodeableConcept": {"text": "Atorvastatin 20 mg tablet"},
                    "subject": {"reference": "Patient/p-9"},
                    "effectiveDateTime": "2024-06-01",
                    "dosage": [{"text": "One tablet at night"}],
                },
                "search": {"mode": "match"},
            },
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "information", "code": "informational"}],
                },
                "search": {"mode": "outcome"},
            },
        ],
    }
