"""FHIR Bundles in and out: parsed, validated, and named where they are wrong.

Pure (no database, no web): the person's agent imports and exports Bundles with it,
and a doctor's endpoint checks the Bundles people present to it.

A Bundle is checked with ``fhir.resources``: first against FHIR R5 (the models of
``fhir.resources`` 8), then, if that fails, against R4B (``fhir.resources.R4B``),
which also reads what most R4 systems export — patient portals mostly speak R4.
The version that fits is kept with each resource, since R4 and R5 resources do not
mix in one Bundle. When neither fits, the error names what is wrong and where, in
the version that came closer: ``entry 3 (Observation): valueQuantity.value: not a
number``. Entries are counted from 1, as a person counts; paths inside a resource
are written as FHIRPath writes them (``name[0].given``).

``fhir.resources`` takes a moment to load, so it is imported here only inside the
functions that need it: commands that never read a Bundle never load it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

R5 = "R5"
R4B = "R4B"
VERSIONS = (R5, R4B)
"""The FHIR versions a Bundle may be in, in the order they are tried."""

BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
        "subscription-notification",
    }
)
"""Bundle.type's codes (R5; R4B's are these but the last)."""

MAX_PROBLEMS_SHOWN = 3


class InvalidBundle(ValueError):
    """The document is not a FHIR Bundle that can be kept; the message says why and where."""


@dataclass(frozen=True)
class Entry:
    """One resource of a Bundle, as it arrived (validated)."""

    position: int
    """Where it was in the Bundle, counted from 1."""
    resource_type: str
    resource_id: str | None
    full_url: str | None
    resource: dict[str, Any]


@dataclass(frozen=True)
class ParsedBundle:
    """A valid Bundle's resources, and the FHIR version they were validated in."""

    fhir_version: str
    bundle_type: str
    entries: list[Entry]


def parse_bundle(document: str | bytes) -> ParsedBundle:
    """Parse and validate a FHIR Bundle (JSON), returning the resources it holds.

    Entries without a resource, and a search's outcome entries, hold nothing to keep
    and are left out.

    Raises:
        InvalidBundle: the document is not JSON, not a Bundle, holds no resources, or
            does not validate as FHIR R5 or R4B (the message names the problems).
    """
    try:
        bundle = json.loads(document)
    except UnicodeDecodeError as exc:
        raise InvalidBundle("not a FHIR Bundle: the file is not UTF-8 text") from exc
    except RecursionError as exc:
        raise InvalidBundle("not a FHIR Bundle: the JSON is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise InvalidBundle(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") if isinstance(bundle, dict) else None
        said = f" (its resourceType is {found!r})" if isinstance(found, str) else ""
        raise InvalidBundle(
            f'not a FHIR Bundle{said}: a JSON object with "resourceType": "Bundle" is expected'
        )
    entries = _entries(bundle)
    versions: dict[str, list[str]] = {}
    for version in VERSIONS:
        problems = _validate(bundle, entries, version)
        if not problems:
            return _parsed(bundle, entries, version)
        versions[version] = problems
    closest = min(VERSIONS, key=lambda version: len(versions[version]))
    raise InvalidBundle(f"invalid FHIR {closest} Bundle: {_listed(versions[closest])}")


def validate_in(bundle: dict[str, Any], fhir_version: str) -> ParsedBundle:
    """Validate a Bundle already read from JSON as FHIR ``fhir_version`` (R5 or R4B) alone.

    For a Bundle that says which version it is in, as a presentation does.

    Raises:
        InvalidBundle: it holds no resources or is not valid in that version (the
            message names the problems).
    """
    if fhir_version not in VERSIONS:
        raise InvalidBundle(f"FHIR {fhir_version} is not R5 or R4B")
    entries = _entries(bundle)
    problems = _validate(bundle, entries, fhir_version)
    if problems:
        raise InvalidBundle(f"invalid FHIR {fhir_version} Bundle: {_listed(problems)}")
    return _parsed(bundle, entries, fhir_version)


def collection(entries: Sequence[tuple[str | None, dict[str, Any]]], fhir_version: str) -> str:
    """A Bundle of type ``collection`` holding ``(fullUrl, resource)`` pairs, as JSON text.

    The Bundle is validated before it is returned (in ``fhir_version``), so what
    is handed out is a Bundle any FHIR system reads.
    """
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection"}
    bundle["entry"] = [
        {"fullUrl": full_url, "resource": resource} if full_url else {"resource": resource}
        for full_url, resource in entries
    ]
    _bundle_model(fhir_version).model_validate(bundle)
    return json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"


def _entries(bundle: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The Bundle's entries that hold a resource, each with its position (from 1).

    Checked here before the models see them: a resource of a type FHIR does not
    have would otherwise fail inside ``fhir.resources`` without saying where.
    """
    listed = bundle.get("entry", [])
    if not isinstance(listed, list):
        raise InvalidBundle("invalid FHIR Bundle: entry: not a list")
    found = []
    for position, entry in enumerate(listed, start=1):
        if not isinstance(entry, dict):
            raise InvalidBundle(f"invalid FHIR Bundle: entry {position}: not an object")
        resource = entry.get("resource")
        search = entry.get("search")
        if resource is None or (isinstance(search, dict) and search.get("mode") == "outcome"):
            continue
        if not isinstance(resource, dict):
            raise InvalidBundle(f"invalid FHIR Bundle: entry {position}: resource: not an object")
        kind = resource.get("resourceType")
        if not isinstance(kind, str) or not kind:
            raise InvalidBundle(
                f"invalid FHIR Bundle: entry {position}: resource has no resourceType"
            )
        if not _known(kind):
            raise InvalidBundle(
                f"invalid FHIR Bundle: entry {position}: unknown resourceType {kind!r}"
            )
        found.append((position, resource))
    if not found:
        raise InvalidBundle("the Bundle holds no resources to import")
    return found


def _validate(
    bundle: dict[str, Any], entries: list[tuple[int, dict[str, Any]]], version: str
) -> list[str]:
    """What is wrong with the Bundle in ``version``, in words (empty when it is valid)."""
    from pydantic import ValidationError

    problems = []
    kind = bundle.get("type")
    if kind not in BUNDLE_TYPES:
        problems.append(f"type: {kind!r} is not a Bundle type" if kind else "type: required")
    try:
        _bundle_model(version).model_validate(bundle)
    except ValidationError as exc:
        problems += _described(exc, bundle)
    except KeyError as exc:
        # fhir.resources looks contained resources' types up without checking them first.
        problems.append(f"a contained resource has an unknown resourceType ({exc})")
    return problems


def _parsed(
    bundle: dict[str, Any], entries: list[tuple[int, dict[str, Any]]], version: str
) -> ParsedBundle:
    listed = bundle.get("entry", [])
    found = []
    for position, resource in entries:
        full_url = listed[position - 1].get("fullUrl")
        resource_id = resource.get("id")
        found.append(
            Entry(
                position=position,
                resource_type=resource["resourceType"],
                resource_id=resource_id if isinstance(resource_id, str) else None,
                full_url=full_url if isinstance(full_url, str) else None,
                resource=resource,
            )
        )
    return ParsedBundle(fhir_version=version, bundle_type=str(bundle["type"]), entries=found)


def _described(exc: ValidationError, bundle: dict[str, Any] | None) -> list[str]:
    """Pydantic's errors as ``entry 3 (Observation): valueQuantity.value: not a number``."""
    said = []
    for error in exc.errors():
        location = list(error["loc"])
        prefix = ""
        if (
            bundle is not None
            and location[:1] == ["entry"]
            and len(location) > 1
            and isinstance(location[1], int)
        ):
            position = int(location[1]) + 1
            entry = bundle["entry"][position - 1]
            rest = location[2:]
            if rest[:1] == ["resource"] and isinstance(entry.get("resource"), dict):
                kind = entry["resource"].get("resourceType")
                prefix = f"entry {position} ({kind})"
                rest = rest[1:]
            else:
                prefix = f"entry {position}"
            location = rest
        path = _path(location)
        words = _meaning(error["type"], error["msg"])
        said.append(": ".join(part for part in (prefix, path, words) if part))
    return said


def _path(location: list[Any]) -> str:
    path = ""
    for step in location:
        if isinstance(step, int):
            path += f"[{step}]"
        else:
            path += ("." if path else "") + str(step)
    return path


_MEANINGS = {
    "missing": "required",
    "model_field_validation.missing": "required",
    "extra_forbidden": "not an element of this resource",
    "string_type": "not text",
    "bool_type": "not true or false",
    "bool_parsing": "not true or false",
    "int_type": "not a whole number",
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "float_type": "not a number",
    "float_parsing": "not a number",
    "decimal_type": "not a number",
    "decimal_parsing": "not a number",
    "list_type": "not a list",
    "dict_type": "not an object",
    "model_type": "not an object",
    "model_attributes_type": "not an object",
}

_VALUE_MEANINGS = {
    "Decimal value": "not a number",
    "Integer value": "not a whole number",
    "DateTime value": "not a date and time",
    "Date value": "not a date (YYYY, YYYY-MM or YYYY-MM-DD)",
    "Instant value": "not an instant (a date and time with a time zone)",
    "Time value": "not a time",
}


def _meaning(kind: str, message: str) -> str:
    if kind in _MEANINGS:
        return _MEANINGS[kind]
    said = message.removeprefix("Value error, ").removeprefix("Assertion failed, ").rstrip(".")
    for start, meaning in _VALUE_MEANINGS.items():
        if said.startswith(start):
            return meaning
    return said[:1].lower() + said[1:]


def _listed(problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")


def _known(kind: str) -> bool:
    """True when ``kind`` is a resource type of FHIR R5 or R4B."""
    for version in VERSIONS:
        try:
            _resource_model(kind, version)
        except ValueError:
            continue
        return True
    return False


_ABSTRACT = frozenset({"Resource", "DomainResource", "CanonicalResource", "MetadataResource"})


def _resource_model(kind: str, version: str) -> Any:
    """The ``fhir.resources`` model of a resource type (ValueError when there is none)."""
    if version == R5:
        from fhir.resources import get_fhir_model_class
        from fhir.resources.resource import Resource

        model: type[Any] = get_fhir_model_class(kind)
        resource: type[Any] = Resource
    else:
        from fhir.resources.R4B import get_fhir_model_class as get_r4b_model_class
        from fhir.resources.R4B.resource import Resource as R4BResource

        model, resource = get_r4b_model_class(kind), R4BResource
    if kind in _ABSTRACT or not issubclass(model, resource) or model.__name__ != kind:
        raise ValueError(f"{kind} is not a FHIR resource type")
    return model


def _bundle_model(version: str) -> Any:
    if version == R5:
        from fhir.resources.bundle import Bundle

        return Bundle
    if version == R4B:
        from fhir.resources.R4B.bundle import Bundle as R4BBundle

        return R4BBundle
    raise ValueError(f"FHIR {version} is not a version read here")
