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
from typing import Any

from sqlalchemy import Connection

from vrm.agent.audit import service as audit
from vrm.agent.errors import NotFound
from vrm.agent.grants.service import GrantRecord, active_grants_of_field, grants_of
from vrm.agent.outbox.store import DEFAULT_MAX_AGE, NewMessage, enqueue, enqueue_all
from vrm.agent.profile.service import FieldVersion, latest_version
from vrm.agent.relationships.service import (
    Relationship,
    get_relationships,
    identities_of,
    identity_of,
)
from vrm.protocol import (
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    FieldValue,
    Grant,
    Identity,
    PartyState,
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
    groups = _groups(connection, sealer, grants, versions)
    if not groups:
        return []
    sender = identity_of(connection, sealer, relationship)
    return _queue(connection, sealer, [(relationship, sender, groups)], max_age=max_age, now=now)


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
    """Queue the new values of changed fields for every vendor granted them.

    The same messages and audit entries as :func:`disclose` for each vendor in
    turn, with the relationships and identities read in one query each and the
    messages and entries written together: one change may go to a thousand vendors.
    """
    now = time.time() if now is None else now
    today = _today(now)
    by_vendor: dict[int, list[GrantRecord]] = defaultdict(list)
    for path in dict.fromkeys(paths):
        for grant in active_grants_of_field(connection, sealer, path, today=today):
            by_vendor[grant.vendor_id].append(grant)
    if not by_vendor:
        return []
    relationships = get_relationships(connection, sealer, by_vendor)
    senders = identities_of(connection, sealer, [r for r in relationships.values() if r.active])
    versions: dict[str, FieldVersion | None] = {}
    planned: list[_Planned] = []
    for vendor_id, grants in by_vendor.items():
        relationship = relationships.get(vendor_id)
        if relationship is None:
            raise NotFound(f"no vendor {vendor_id}")
        if not relationship.active:
            continue
        groups = _groups(connection, sealer, grants, versions)
        if not groups:
            continue
        sender = senders.get(relationship.id)
        if sender is None:
            raise NotFound(f"the identity of vendor {relationship.id} is missing")
        planned.append((relationship, sender, groups))
    return _queue(connection, sealer, planned, max_age=max_age, now=now)


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

    Only a vendor whose side is ``accepted`` is told: one that never answered was
    sent nothing, and one that ended the relationship takes no more messages from it
    (docs/protocol.md 7.4.5).
    """
    if relationship.vendor_state != PartyState.ACCEPTED or not paths:
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


_Group = list[tuple[GrantRecord, FieldVersion]]
_Groups = dict[tuple[str, str | None], _Group]
_Planned = tuple[Relationship, Identity, _Groups]


def _groups(
    connection: Connection,
    sealer: Sealer,
    grants: Iterable[GrantRecord],
    versions: dict[str, FieldVersion | None],
) -> _Groups:
    """The grants with a value to send, by (purpose, end date); ``versions`` caches values."""
    groups: _Groups = defaultdict(list)
    for grant in grants:
        if grant.path not in versions:
            versions[grant.path] = latest_version(connection, sealer, path=grant.path)
        version = versions[grant.path]
        if version is not None:
            groups[(grant.purpose, grant.until)].append((grant, version))
    return groups


def _queue(
    connection: Connection,
    sealer: Sealer,
    planned: list[_Planned],
    *,
    max_age: float,
    now: float,
) -> list[str]:
    """Sign and queue one profile.update per group of each vendor, and audit each."""
    bodies: dict[tuple[str, str | None, tuple[tuple[str, int], ...]], ProfileUpdate] = {}
    messages: list[NewMessage] = []
    for relationship, sender, groups in planned:
        for (purpose, until), members in groups.items():
            # Vendors granted the same fields for the same purpose get the same body.
            key = (purpose, until, tuple((v.path, v.version) for _, v in members))
            body = bodies.get(key)
            if body is None:
                body = bodies[key] = ProfileUpdate(
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
                )
            messages.append(
                NewMessage(
                    sender=sender,
                    to=relationship.vendor.did,
                    inbox=relationship.vendor.inbox,
                    type=PROFILE_UPDATE,
                    body=body,
                    vendor_id=relationship.id,
                )
            )
    message_ids = enqueue_all(connection, sealer, messages, max_age=max_age, now=now)
    records: list[tuple[str, dict[str, Any]]] = []
    numbered = iter(message_ids)
    for relationship, _, groups in planned:
        for members in groups.values():
            records.append(
                (
                    "disclosure",
                    {
                        "vendor": relationship.id,
                        "fields": [version.path for _, version in members],
                        "versions": [version.version for _, version in members],
                        "grants": [grant.id for grant, _ in members],
                        "message": next(numbered),
                    },
                )
            )
    audit.append_all(connection, sealer, records, now=now)
    return message_ids


def _today(now: float) -> dt.date:
    return dt.datetime.fromtimestamp(now).date()
