"""Reading and changing the profile: every change is a new sealed version.

Nothing personal is stored in clear: a field's path is kept sealed and looked up
by its keyed fingerprint, each value is sealed under a context naming the field
and version, and even who made a change is plain only because it is not personal
("cli", "api", "vcard import").
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.profile.fields import InvalidField, check_path, check_value
from vrm.vault import Sealer

_FINGERPRINT_PURPOSE = "profile-path"


@dataclass(frozen=True)
class FieldVersion:
    """One version of one field: the value (None when cleared), when, and by whom."""

    path: str
    version: int
    value: Any
    changed_at: float
    changed_by: str


def set_field(
    connection: Connection,
    sealer: Sealer,
    *,
    path: str,
    value: Any,
    changed_by: str,
    now: float | None = None,
) -> FieldVersion:
    """Give ``path`` a new value; return the version written (unchanged values too)."""
    written = _write(connection, sealer, path, check_value(path, value), changed_by, now)
    _audit(connection, sealer, "profile.set", written)
    return written


def clear_field(
    connection: Connection, sealer: Sealer, *, path: str, changed_by: str, now: float | None = None
) -> FieldVersion:
    """Remove ``path``'s value, keeping its history."""
    if current_value(connection, sealer, path=check_path(path)) is None:
        raise InvalidField(f"{path} has no value to clear")
    written = _write(connection, sealer, path, None, changed_by, now)
    _audit(connection, sealer, "profile.clear", written)
    return written


def path_key(sealer: Sealer, path: str) -> bytes:
    """The keyed fingerprint a field's path is stored and looked up under."""
    return sealer.fingerprint(path, _FINGERPRINT_PURPOSE)


def latest_version(connection: Connection, sealer: Sealer, *, path: str) -> FieldVersion | None:
    """The newest version of ``path`` (its value None when cleared), or None if never set."""
    history = field_history(connection, sealer, path=path)
    return history[-1] if history else None


def current_value(connection: Connection, sealer: Sealer, *, path: str) -> Any:
    """The current value of ``path``, or None."""
    history = field_history(connection, sealer, path=path)
    return history[-1].value if history else None


def profile(connection: Connection, sealer: Sealer) -> dict[str, Any]:
    """Every field that has a value, by path, sorted."""
    rows = connection.execute(
        text(
            "SELECT f.sealed_path, f.path_key, v.version, v.sealed_value FROM profile_fields f "
            "JOIN profile_versions v ON v.path_key = f.path_key "
            "AND v.version = (SELECT max(version) FROM profile_versions "
            "WHERE path_key = f.path_key)"
        )
    ).all()
    values: dict[str, Any] = {}
    for sealed_path, key, version, sealed_value in rows:
        path = sealer.open_text(sealed_path, _path_place(key))
        value = _open_value(sealer, key, version, sealed_value)
        if value is not None:
            values[path] = value
    return dict(sorted(values.items()))


def field_history(connection: Connection, sealer: Sealer, *, path: str) -> list[FieldVersion]:
    """Every version of ``path``, oldest first."""
    key = path_key(sealer, check_path(path))
    rows = connection.execute(
        text(
            "SELECT version, sealed_value, changed_at, changed_by FROM profile_versions "
            "WHERE path_key = :path_key ORDER BY version"
        ),
        {"path_key": key},
    ).all()
    return [
        FieldVersion(
            path=path,
            version=version,
            value=_open_value(sealer, key, version, sealed_value),
            changed_at=changed_at,
            changed_by=changed_by,
        )
        for version, sealed_value, changed_at, changed_by in rows
    ]


def _write(
    connection: Connection,
    sealer: Sealer,
    path: str,
    value: Any,
    changed_by: str,
    now: float | None,
) -> FieldVersion:
    key = path_key(sealer, path)
    connection.execute(
        text(
            "INSERT INTO profile_fields (path_key, sealed_path) VALUES (:path_key, :sealed_path) "
            "ON CONFLICT (path_key) DO NOTHING"
        ),
        {"path_key": key, "sealed_path": sealer.seal_text(path, _path_place(key))},
    )
    version = 1 + (
        connection.execute(
            text("SELECT coalesce(max(version), 0) FROM profile_versions WHERE path_key = :k"),
            {"k": key},
        ).scalar_one()
    )
    changed_at = time.time() if now is None else now
    sealed_value = sealer.seal_text(json.dumps(value), _value_place(key, version))
    connection.execute(
        text(
            "INSERT INTO profile_versions (path_key, version, sealed_value, changed_at, changed_by)"
            " VALUES (:path_key, :version, :sealed_value, :changed_at, :changed_by)"
        ),
        {
            "path_key": key,
            "version": version,
            "sealed_value": sealed_value,
            "changed_at": changed_at,
            "changed_by": changed_by,
        },
    )
    return FieldVersion(path, version, value, changed_at, changed_by)


def _audit(connection: Connection, sealer: Sealer, kind: str, written: FieldVersion) -> None:
    details = {"field": written.path, "version": written.version, "by": written.changed_by}
    audit.append(connection, sealer, kind=kind, details=details, now=written.changed_at)


def _open_value(sealer: Sealer, key: bytes, version: int, sealed: bytes) -> Any:
    return json.loads(sealer.open_text(sealed, _value_place(key, version)))


def _path_place(key: bytes) -> str:
    return f"profile/path/{key.hex()}"


def _value_place(key: bytes, version: int) -> str:
    return f"profile/value/{key.hex()}/{version}"
