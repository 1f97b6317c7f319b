"""Health resources kept sealed: imported from Bundles, listed, shown, exported.

A Bundle is imported whole or not at all: it is validated first
(:func:`vrm.health.fhir.parse_bundle`), then every resource is written in the
caller's transaction. Each resource is kept as it arrived, sealed with its type,
fullUrl and the import's source. The same resource imported again — same type
and same id — replaces the one held and keeps its number; it is found by a keyed
fingerprint, never by the id in clear. A resource without an id is known by its
entry's fullUrl, else by its content.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.health.fhir import Entry, ParsedBundle
from vrm.health.summary import KIND_NAMES, Summary, summarise
from vrm.vault import Sealer

_KEY_PURPOSE = "health-resource"
_ORDER = list(KIND_NAMES)
"""Listing order: the person first, then conditions, allergies, medicines, vaccines, tests."""


@dataclass(frozen=True)
class HealthResource:
    """One FHIR resource the person imported, opened."""

    id: int
    resource_type: str
    fhir_version: str
    """``R5`` or ``R4B``: the version it was validated in."""
    full_url: str | None
    """The Bundle entry's fullUrl, when it had one."""
    source: str
    """Where it came from: the imported file's name, or the label given."""
    imported_at: float
    resource: dict[str, Any]
    """The resource's JSON as it arrived."""

    @cached_property
    def summary(self) -> Summary:
        """What it says, in a person's words."""
        return summarise(self.resource)

    def is_kind(self, kind: str) -> bool:
        """True when ``kind`` names this resource's type (``Condition``) or kind (``allergy``).

        Case is ignored.
        """
        wanted = kind.casefold()
        return wanted in (self.resource_type.casefold(), self.summary.kind)

    def as_json(self, *, with_resource: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: the summary, where it came from and (if asked) the resource."""
        document: dict[str, Any] = {
            "id": self.id,
            "resourceType": self.resource_type,
            "fhir_version": self.fhir_version,
            "source": self.source,
            "imported_at": self.imported_at,
            "summary": self.summary.as_json(),
        }
        if with_resource:
            document["fullUrl"] = self.full_url
            document["resource"] = self.resource
        return document


@dataclass(frozen=True)
class ImportResult:
    """What an import kept: resources by type, how many were new and how many replaced."""

    source: str
    fhir_version: str
    counts: dict[str, int] = field(default_factory=dict)
    added: int = 0
    replaced: int = 0

    @property
    def total(self) -> int:
        """How many resources the import kept."""
        return self.added + self.replaced

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict of the result."""
        return {
            "source": self.source,
            "fhir_version": self.fhir_version,
            "counts": self.counts,
            "imported": self.total,
            "added": self.added,
            "replaced": self.replaced,
        }


def import_bundle(
    connection: Connection, sealer: Sealer, bundle: ParsedBundle, *, source: str, now: float
) -> ImportResult:
    """Keep every resource of a validated Bundle, replacing ones imported before.

    All of it is written in the caller's transaction, with a ``health.imported`` audit
    entry; a resource twice in the Bundle is kept once (the later entry).
    """
    latest: dict[bytes, Entry] = {}
    for entry in bundle.entries:
        latest[_resource_key(sealer, entry)] = entry
    added = replaced = 0
    for key, entry in latest.items():
        sealed = sealer.seal_text(
            json.dumps(
                {
                    "resourceType": entry.resource_type,
                    "fullUrl": entry.full_url,
                    "source": source,
                    "resource": entry.resource,
                },
                ensure_ascii=False,
            ),
            _place(key),
        )
        values = {"key": key, "version": bundle.fhir_version, "now": now, "sealed": sealed}
        updated = connection.execute(
            text(
                "UPDATE health_resources SET fhir_version = :version, imported_at = :now,"
                " sealed_resource = :sealed WHERE resource_key = :key"
            ),
            values,
        ).rowcount
        if updated:
            replaced += 1
            continue
        connection.execute(
            text(
                "INSERT INTO health_resources (resource_key, fhir_version, imported_at,"
                " sealed_resource) VALUES (:key, :version, :now, :sealed)"
            ),
            values,
        )
        added += 1
    counts = dict(sorted(Counter(entry.resource_type for entry in latest.values()).items()))
    result = ImportResult(
        source=source,
        fhir_version=bundle.fhir_version,
        counts=counts,
        added=added,
        replaced=replaced,
    )
    audit.append(
        connection,
        sealer,
        kind="health.imported",
        details={
            "source": source,
            "fhir_version": bundle.fhir_version,
            "counts": counts,
            "added": added,
            "replaced": replaced,
        },
        now=now,
    )
    return result


def resources(
    connection: Connection, sealer: Sealer, *, kind: str | None = None
) -> list[HealthResource]:
    """Every resource held (or those of one ``kind``), the person first, then by type.

    ``kind`` is a resource type (``Condition``) or its word (``allergy``), in any case.
    The types are sealed, so each resource is opened and the choice made in memory.
    """
    found = _select(connection, sealer)
    if kind:
        found = [resource for resource in found if resource.is_kind(kind)]
    return sorted(found, key=_listing_order)


def get_resource(connection: Connection, sealer: Sealer, resource_id: int) -> HealthResource:
    """The resource with this number.

    Raises:
        NotFound: there is none.
    """
    found = _select(connection, sealer, resource_id)
    if not found:
        raise NotFound(f"no health record {resource_id}")
    return found[0]


def chosen(
    connection: Connection, sealer: Sealer, ids: Iterable[int] | None
) -> list[HealthResource]:
    """The resources with these numbers, in that order (every one when ``ids`` is None).

    Raises:
        NotFound: one of the numbers is not a health record.
    """
    if ids is None:
        return resources(connection, sealer)
    held = {resource.id: resource for resource in _select(connection, sealer)}
    wanted = list(dict.fromkeys(ids))
    missing = [str(number) for number in wanted if number not in held]
    if missing:
        raise NotFound(f"no health record {', '.join(missing)}")
    return [held[number] for number in wanted]


def bundle_of(found: list[HealthResource]) -> str:
    """The resources as a FHIR Bundle of type ``collection`` (JSON), validated.

    Raises:
        NotFound: there is nothing to export.
        Conflict: the resources were imported in different FHIR versions (R5 and
            R4B resources cannot share a Bundle).
    """
    from vrm.health.fhir import collection

    if not found:
        raise NotFound("no health records to export: import a FHIR Bundle first")
    versions = sorted({resource.fhir_version for resource in found})
    if len(versions) > 1:
        by_version = "; ".join(
            f"{version}: " + ", ".join(str(r.id) for r in found if r.fhir_version == version)
            for version in versions
        )
        raise Conflict(
            "these health records were imported in different FHIR versions, which one "
            f"Bundle cannot mix ({by_version}): export each version apart with --id"
        )
    return collection([(r.full_url, r.resource) for r in found], versions[0])


def _select(
    connection: Connection, sealer: Sealer, resource_id: int | None = None
) -> list[HealthResource]:
    """Every resource opened, in the order imported (or only the one numbered ``resource_id``)."""
    rows = connection.execute(
        text(
            "SELECT id, resource_key, fhir_version, imported_at, sealed_resource"
            " FROM health_resources WHERE :id IS NULL OR id = :id ORDER BY id"
        ),
        {"id": resource_id},
    ).all()
    found = []
    for row in rows:
        kept = json.loads(sealer.open_text(row.sealed_resource, _place(row.resource_key)))
        found.append(
            HealthResource(
                id=row.id,
                resource_type=kept["resourceType"],
                fhir_version=row.fhir_version,
                full_url=kept["fullUrl"],
                source=kept["source"],
                imported_at=row.imported_at,
                resource=kept["resource"],
            )
        )
    return found


def _listing_order(resource: HealthResource) -> tuple[int, str, int]:
    kind = resource.resource_type
    rank = _ORDER.index(kind) if kind in _ORDER else len(_ORDER)
    return rank, kind, resource.id


def _resource_key(sealer: Sealer, entry: Entry) -> bytes:
    if entry.resource_id:
        identity = f"id\0{entry.resource_id}"
    elif entry.full_url:
        identity = f"url\0{entry.full_url}"
    else:
        content = json.dumps(entry.resource, sort_keys=True, separators=(",", ":"))
        identity = f"content\0{content}"
    return sealer.fingerprint(f"{entry.resource_type}\0{identity}", _KEY_PURPOSE)


def _place(key: bytes) -> str:
    return f"health_resources/{key.hex()}"
