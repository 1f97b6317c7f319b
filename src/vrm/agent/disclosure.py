"""Disclosure: sending granted profile fields to vendors, and withdrawing them.

Every function here runs inside the caller's transaction, so a profile change and
the ``profile.update`` messages it causes are written together (a transactional
outbox): after a crash either both exist or neither. Each disclosure is recorded
in the audit log with the fields, the vendor, the grants and the message id.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Connection

from vrm.agent.audit import service as audit
from vrm.agent.grants.service import GrantRecord, active_grants_of_field, grants_of
from vrm.agent.outbox.store import DEFAULT_MAX_AGE, enqueue
from vrm.agent.profile.service import FieldVersion, latest_version
from vrm.agent.relationships.service import (
    Relationship,
    get_relationship,
    identity_of,
)
from vrm.protocol import (
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    FieldValue,
    Grant,
    ProfileRevoke,
    ProfileUpdate,
)
from vrm.vault import Sealer


def disclose(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    grants: Iterable[GrantRecord],
    versions: dict[str, FieldVersion | None] | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Queue the current values of granted fields for the vendor; return the message ids.

    Nothing is sent while the relationship is not active (it is sent when the vendor
    accepts or the person resumes), nor for fields that never had a value. Fields
    granted under the same purpose and end date go in one message.
    """
    now = time.time() if now is None else now
    if not relationship.active:
        return []
    versions = {} if versions is None else versions
    groups: dict[tuple[str, str | None], list[tuple[GrantRecord, FieldVersion]]] = defaultdict(list)
    for grant in grants:
        if grant.path not in versions:
            versions[grant.path] = latest_version(connection, sealer, path=grant.path)
        version = versions[grant.path]
        if version is not None:
            groups[(grant.purpose, grant.until)].append((grant, version))
    if not groups:
        return []
    sender = identity_of(connection, sealer, relationship)
    message_ids = []
    for (purpose, until), members in groups.items():
        message_id = enqueue(
            connection,
            sealer,
            sender=sender,
            to=relationship.vendor.did,
            inbox=relationship.vendor.inbox,
            type=PROFILE_UPDATE,
            body=ProfileUpdate(
                grant=Grant(purpose=purpose, until=until),
                fields=[
                    FieldValue(
                        path=version.path,
                        version=version.version,
                        value=version.value,
                        changed_time=int(version.changed_at),
                    )
                    for _, version in members
                ],
            ),
            vendor_id=relationship.id,
            max_age=max_age,
            now=now,
        )
        audit.append(
            connection,
            sealer,
            kind="disclosure",
            details={
                "vendor": relationship.id,
                "fields": [version.path for _, version in members],
                "versions": [version.version for _, version in members],
                "grants": [grant.id for grant, _ in members],
                "message": message_id,
            },
            now=now,
        )
        message_ids.append(message_id)
    return message_ids


def disclose_all_granted(
    connection: Connection,
    sealer: Sealer,
    relationship: Relationship,
    *,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Queue every field in force for this vendor (when it accepts, or the person resumes)."""
    now = time.time() if now is None else now
    today = _today(now)
    grants = [g for g in grants_of(connection, sealer, relationship.id) if g.active_on(today)]
    return disclose(
        connection, sealer, relationship=relationship, grants=grants, max_age=max_age, now=now
    )


def propagate_change(
    connection: Connection,
    sealer: Sealer,
    *,
    paths: Iterable[str],
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> list[str]:
    """Queue the new values of changed fields for every vendor granted them."""
    now = time.time() if now is None else now
    today = _today(now)
    by_vendor: dict[int, list[GrantRecord]] = defaultdict(list)
    for path in dict.fromkeys(paths):
        for grant in active_grants_of_field(connection, sealer, path, today=today):
            by_vendor[grant.vendor_id].append(grant)
    versions: dict[str, FieldVersion | None] = {}
    message_ids = []
    for vendor_id, grants in by_vendor.items():
        relationship = get_relationship(connection, sealer, vendor_id)
        message_ids += disclose(
            connection,
            sealer,
            relationship=relationship,
            grants=grants,
            versions=versions,
            max_age=max_age,
            now=now,
        )
    return message_ids


def send_revocation(
    connection: Connection,
    sealer: Sealer,
    *,
    relationship: Relationship,
    paths: list[str],
    reason: str | None = None,
    max_age: float = DEFAULT_MAX_AGE,
    now: float | None = None,
) -> str | None:
    """Queue a signed ``profile.revoke`` for fields the vendor may have received.

    A vendor that never accepted was never sent anything, so it is not told.
    """
    if relationship.vendor_state not in ("accepted",) or not paths:
        return None
    return enqueue(
        connection,
        sealer,
        sender=identity_of(connection, sealer, relationship),
        to=relationship.vendor.did,
        inbox=relationship.vendor.inbox,
        type=PROFILE_REVOKE,
        body=ProfileRevoke(fields=paths, reason=reason),
        vendor_id=relationship.id,
        max_age=max_age,
        now=now,
    )


def _today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now).date()
