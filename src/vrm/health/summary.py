"""What a health resource says, in the words a person reads.

A FHIR resource is deep; a person wants a line: "Type 2 diabetes mellitus —
active, onset 2019-03-12". :func:`summarise` reads the resource's JSON (already
validated, R5 or R4B: the two differ where medications are named, and both are
read) and returns what it is, its status, its value and its date. Types without
words of their own are named by their code or text, when they have one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KIND_NAMES = {
    "Patient": "patient",
    "Condition": "condition",
    "AllergyIntolerance": "allergy",
    "MedicationStatement": "medication",
    "MedicationRequest": "prescription",
    "Immunization": "immunisation",
    "Observation": "observation",
}
"""The words for the resource types a person meets most."""


@dataclass(frozen=True)
class Summary:
    """One resource in a person's words."""

    kind: str
    """What sort of record: ``condition``, ``allergy`` … or the resource type itself."""
    what: str
    """Its subject: the person's name, the condition, the substance, the medicine, the test."""
    status: str | None = None
    """Its state: ``active``, ``resolved``, criticality ``high`` …"""
    value: str | None = None
    """A measurement with its unit, or a dosage."""
    date: str | None = None
    """When: birth, onset, vaccination, measurement (as FHIR wrote it)."""

    def line(self) -> str:
        """The summary as one sentence: ``Type 2 diabetes — active, onset 2019-03-12``."""
        said = [part for part in (self.value, self.status) if part]
        if self.date:
            said.append(f"{_DATE_WORDS.get(self.kind, 'on')} {self.date}")
        return self.what + (f" — {', '.join(said)}" if said else "")

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the summary and its sentence."""
        return {
            "kind": self.kind,
            "what": self.what,
            "status": self.status,
            "value": self.value,
            "date": self.date,
            "line": self.line(),
        }


_DATE_WORDS = {
    "patient": "born",
    "condition": "onset",
    "allergy": "onset",
    "medication": "taken",
    "prescription": "prescribed",
}


def summarise(resource: Mapping[str, Any]) -> Summary:
    """The resource in a person's words (any resource type; some have words of their own)."""
    kind = str(resource.get("resourceType", "Resource"))
    reader = _READERS.get(kind)
    if reader is not None:
        return reader(resource)
    return Summary(
        kind=kind,
        what=_concept(resource.get("code")) or _concept(resource.get("type")) or kind,
        status=_text(resource.get("status")),
        date=_text(resource.get("date")),
    )


def _patient(resource: Mapping[str, Any]) -> Summary:
    return Summary(
        kind="patient",
        what=_name(resource.get("name")) or "(no name)",
        date=_text(resource.get("birthDate")),
    )


def _condition(resource: Mapping[str, Any]) -> Summary:
    return Summary(
        kind="condition",
        what=_concept(resource.get("code")) or "(unnamed condition)",
        status=_code(resource.get("clinicalStatus")),
        date=_when(resource, "onset"),
    )


def _allergy(resource: Mapping[str, Any]) -> Summary:
    criticality = _text(resource.get("criticality"))
    return Summary(
        kind="allergy",
        what=_concept(resource.get("code")) or "(unnamed substance)",
        status=f"criticality {criticality}" if criticality else None,
        date=_when(resource, "onset"),
    )


def _medication(kind: str, dosages: str) -> Callable[[Mapping[str, Any]], Summary]:
    def read(resource: Mapping[str, Any]) -> Summary:
        texts = [
            dosage["text"]
            for dosage in resource.get(dosages) or []
            if isinstance(dosage, Mapping) and isinstance(dosage.get("text"), str)
        ]
        return Summary(
            kind=kind,
            what=_medicine(resource) or "(unnamed medicine)",
            status=_unless_usual(resource.get("status")),
            value="; ".join(texts) or None,
            # A statement says when it was taken (effective…), a request when it was written.
            date=_when(resource, "effective") or _text(resource.get("authoredOn")),
        )

    return read


def _immunisation(resource: Mapping[str, Any]) -> Summary:
    return Summary(
        kind="immunisation",
        what=_concept(resource.get("vaccineCode")) or "(unnamed vaccine)",
        status=_unless_usual(resource.get("status")),
        date=_when(resource, "occurrence"),
    )


def _observation(resource: Mapping[str, Any]) -> Summary:
    value = _value(resource)
    parts = []
    for component in resource.get("component") or []:
        if isinstance(component, Mapping):
            measured = _value(component)
            if measured:
                parts.append(f"{_concept(component.get('code')) or '?'} {measured}")
    return Summary(
        kind="observation",
        what=_concept(resource.get("code")) or "(unnamed observation)",
        value="; ".join(([value] if value else []) + parts) or None,
        status=_interpretation(resource),
        date=_when(resource, "effective") or _text(resource.get("issued")),
    )


_READERS: dict[str, Callable[[Mapping[str, Any]], Summary]] = {
    "Patient": _patient,
    "Condition": _condition,
    "AllergyIntolerance": _allergy,
    "MedicationStatement": _medication("medication", "dosage"),
    "MedicationRequest": _medication("prescription", "dosageInstruction"),
    "Immunization": _immunisation,
    "Observation": _observation,
}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


_USUAL = frozenset({"recorded", "completed"})
"""Statuses every ordinary record has (R5's medication statement, a vaccination given)."""


def _unless_usual(status: Any) -> str | None:
    """The status, unless it is the one every such record has (not worth a word)."""
    found = _text(status)
    return None if found in _USUAL else found


def _concept(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display, else its code."""
    if not isinstance(concept, Mapping):
        return None
    if _text(concept.get("text")):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if isinstance(coding, Mapping):
            named = _text(coding.get("display")) or _text(coding.get("code"))
            if named:
                return named
    return None


def _code(concept: Any) -> str | None:
    """A status concept's code (``active``), else its words."""
    if isinstance(concept, Mapping):
        for coding in concept.get("coding") or []:
            if isinstance(coding, Mapping) and _text(coding.get("code")):
                return str(coding["code"])
    return _concept(concept)


def _name(names: Any) -> str | None:
    """The first HumanName (the official one first) as text, else given names and family."""
    if not isinstance(names, list):
        return None
    named = [name for name in names if isinstance(name, Mapping)]
    named.sort(key=lambda name: name.get("use") != "official")
    for name in named:
        if _text(name.get("text")):
            return str(name["text"])
        parts = [*(name.get("given") or []), name.get("family") or ""]
        joined = " ".join(str(part) for part in parts if part)
        if joined:
            return joined
    return None


def _medicine(resource: Mapping[str, Any]) -> str | None:
    medication = resource.get("medication")
    if isinstance(medication, Mapping):  # R5: a CodeableReference
        return _concept(medication.get("concept")) or _reference(medication.get("reference"))
    return _concept(resource.get("medicationCodeableConcept")) or _reference(
        resource.get("medicationReference")
    )


def _reference(reference: Any) -> str | None:
    if isinstance(reference, Mapping):
        return _text(reference.get("display")) or _text(reference.get("reference"))
    return None


def _when(resource: Mapping[str, Any], stem: str) -> str | None:
    """A choice of date (``onsetDateTime``, ``onsetPeriod`` …) as one text."""
    for suffix in ("DateTime", "String", "Instant"):
        found = _text(resource.get(stem + suffix))
        if found:
            return found
    period = resource.get(stem + "Period")
    if isinstance(period, Mapping):
        start, end = _text(period.get("start")), _text(period.get("end"))
        if start or end:
            return f"{start or '…'} to {end or 'now'}"
    age = resource.get(stem + "Age")
    if isinstance(age, Mapping) and age.get("value") is not None:
        return f"age {_quantity(age)}"
    return None


def _value(resource: Mapping[str, Any]) -> str | None:
    """An observation's (or component's) value with its unit."""
    quantity = resource.get("valueQuantity")
    if isinstance(quantity, Mapping):
        return _quantity(quantity)
    for name in ("valueString", "valueDateTime", "valueTime"):
        if _text(resource.get(name)):
            return str(resource[name])
    if isinstance(resource.get("valueBoolean"), bool):
        return "yes" if resource["valueBoolean"] else "no"
    if isinstance(resource.get("valueInteger"), int):
        return str(resource["valueInteger"])
    return _concept(resource.get("valueCodeableConcept"))


def _quantity(quantity: Mapping[str, Any]) -> str:
    unit = _text(quantity.get("unit")) or _text(quantity.get("code"))
    comparator = _text(quantity.get("comparator")) or ""
    value = quantity.get("value")
    shown = comparator + ("?" if value is None else str(value))
    return f"{shown} {unit}" if unit else shown


def _interpretation(resource: Mapping[str, Any]) -> str | None:
    said = [_concept(found) for found in resource.get("interpretation") or []]
    return ", ".join(words for words in said if words) or None
