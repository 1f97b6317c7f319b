"""Grants: the person lets one vendor have one profile field, for a purpose, maybe until a date.

A grant's field and purpose are sealed; the field is also kept as the profile's
keyed fingerprint, so "who was granted address.home" is one indexed look-up.
Revoked and expired grants are kept (with when) for the record.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.agent.audit import service as audit
from vrm.agent.errors import Conflict, NotFound
from vrm.agent.profile.fields import check_path
from vrm.agent.profile.service import path_key
from vrm.agent.relationships.service import Relationship
from vrm.protocol import PartyState
from vrm.vault import Sealer


@dataclass(frozen=True)
class GrantRecord:
    """One field granted to one vendor."""

    id: int
    vendor_id: int
    path: str
    purpose: str
    until: str | None
    created_at: float
    revoked_at: float | None

    def active_on(self, today: dt.date) -> bool:
        """True when not revoked and not past its end date on ``today``."""
        if self.revoked_at is not None:
            return False
        return self.until is None or dt.date.fromisoformat(self.until) >= today

    def as_json(self, today: dt.date | None = None) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "vendor_id": self.vendor_id,
            "field": self.path,
            "purpose": self.purpose,
            "until": self.until,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "active": self.active_on(today or dt.date.today()),
        }


def add_grants(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    paths: list[str],
    purpose: str,
    until: dt.date | None = None,
    now: float | None = None,
) -> list[GrantRecord]:
    """Grant ``paths`` to the vendor; a field already granted gets the new purpose and date.

    Raises:
        InvalidField: a path is not a profile field.
        Conflict: the relationship has ended, the purpose is empty, or the date is past.
    """
    now = time.time() if now is None else now
    if relationship.person_state == PartyState.ENDED:
        raise Conflict(f"the relationship with vendor {relationship.id} has ended")
    purpose = purpose.strip()
    if not purpose:
        raise Conflict("say what the fields are for: --purpose TEXT")
    if len(purpose) > 1024:
        raise Conflict("the purpose is longer than 1024 characters")
    if until is not None and until < dt.datetime.fromtimestamp(now).date():
        raise Conflict(f"the grant would end in the past ({until.isoformat()})")
    granted = []
    for path in dict.fromkeys(check_path(path) for path in paths):
        key = path_key(sealer, path)
        sealed = sealer.seal_text(
            json.dumps({"path": path, "purpose": purpose}), _place(relationship.id, key)
        )
        parameters = {
            "vendor_id": relationship.id,
            "key": key,
            "sealed": sealed,
            "until": until.isoformat() if until else None,
            "now": now,
        }
        updated = connection.execute(
            text(
                "UPDATE grants SET sealed_grant = :sealed, until = :until WHERE vendor_id ="
                " :vendor_id AND path_key = :key AND revoked_at IS NULL RETURNING id"
            ),
            parameters,
        ).scalar()
        if updated is None:
            connection.execute(
                text(
                    "INSERT INTO grants (vendor_id, path_key, sealed_grant, until, created_at)"
                    " VALUES (:vendor_id, :key, :sealed, :until, :now)"
                ),
                parameters,
            )
        granted.append(path)
    audit.append(
        connection,
        sealer,
        kind="grant.added",
        details={
            "vendor": relationship.id,
            "fields": granted,
            "purpose": purpose,
            "until": until.isoformat() if until else None,
        },
        now=now,
    )
    return [
        g
        for g in grants_of(connection, sealer, relationship.id)
        if g.path in granted and g.revoked_at is None
    ]


def revoke_grants(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    paths: list[str] | None,
    reason: str = "revoked",
    now: float | None = None,
) -> list[GrantRecord]:
    """Revoke the vendor's grants of ``paths`` (every one of them when None).

    Raises:
        NotFound: a named field is not granted to this vendor.
    """
    now = time.time() if now is None else now
    granted = grants_of(connection, sealer, relationship.id)
    active = {grant.path: grant for grant in granted if grant.revoked_at is None}
    wanted = list(active) if paths is None else list(dict.fromkeys(map(check_path, paths)))
    missing = [path for path in wanted if path not in active]
    if missing:
        raise NotFound(f"vendor {relationship.id} has no grant of {', '.join(missing)}")
    if wanted:
        connection.execute(
            text("UPDATE grants SET revoked_at = :now WHERE id = :id"),
            [{"now": now, "id": active[path].id} for path in wanted],
        )
        audit.append(
            connection,
            sealer,
            kind="grant.revoked",
            details={"vendor": relationship.id, "fields": wanted, "reason": reason},
            now=now,
        )
    return [active[path] for path in wanted]


def grants_of(connection: Connection, sealer: Sealer, vendor_id: int) -> list[GrantRecord]:
    """Every grant to one vendor, revoked ones too, oldest first."""
    return _select(connection, sealer, "WHERE vendor_id = :vendor_id", {"vendor_id": vendor_id})


def all_grants(connection: Connection, sealer: Sealer) -> list[GrantRecord]:
    """Every grant to every vendor, oldest first."""
    return _select(connection, sealer, "", {})


def active_grants_of_field(
    connection: Connection, sealer: Sealer, path: str, *, today: dt.date
) -> list[GrantRecord]:
    """The grants of ``path`` in force ``today``, to any vendor."""
    found = _select(
        connection,
        sealer,
        "WHERE path_key = :key AND revoked_at IS NULL",
        {"key": path_key(sealer, check_path(path))},
    )
    return [grant for grant in found if grant.active_on(today)]


def lapsed_grants(connection: Connection, sealer: Sealer, *, today: dt.date) -> list[GrantRecord]:
    """Grants whose end date has passed but that are not yet marked revoked."""
    found = _select(
        connection,
        sealer,
        "WHERE revoked_at IS NULL AND until IS NOT NULL AND until < :today",
        {"today": today.isoformat()},
    )
    return found


_SELECT = "SELECT id, vendor_id, path_key, sealed_grant, until, created_at, revoked_at FROM grants "


def _select(
    connection: Connection, sealer: Sealer, where: str, parameters: dict[str, Any]
) -> list[GrantRecord]:
    rows = connection.execute(
        text(_SELECT + where + " ORDER BY id"),
        parameters,
    ).all()
    grants = []
    for row_id, vendor_id, key, sealed, until, created_at, revoked_at in rows:
        opened = json.loads(sealer.open_text(sealed, _place(vendor_id, key)))
        grants.append(
            GrantRecord(
                row_id, vendor_id, opened["path"], opened["purpose"], until, created_at, revoked_at
            )
        )
    return grants


def _place(vendor_id: int, key: bytes) -> str:
    return f"grants/{vendor_id}/{key.hex()}"
