"""Appending to the audit log and proving it whole.

Each entry carries a MAC over its content and the previous entry's MAC, keyed
from the vault's data key: editing, reordering or removing an entry breaks every
MAC after it, and nobody without the passphrase can compute new ones. The newest
entry's number and MAC are also kept, under their own MAC, in ``settings``, so
cutting entries off the end is detected too. (Rolling the whole database back to
an older copy is not detectable from inside it; a backup's own age is the guard.)
Details are sealed: the log says to whom what was disclosed, so it is personal.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from vrm.vault import DamagedData, Sealer

HEAD_SETTING = "audit_head"
_PURPOSE = "audit-chain"
_HEAD_PURPOSE = "audit-head"
_GENESIS = bytes(32)
_INSERT = text(
    "INSERT INTO audit_entries (seq, at, kind, sealed_details, mac) "
    "VALUES (:seq, :at, :kind, :sealed, :mac)"
)
_READ_HEAD = text("SELECT value FROM settings WHERE name = :name")
_WRITE_HEAD = text(
    "INSERT INTO settings (name, value) VALUES (:name, :value) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
)


@dataclass(frozen=True)
class AuditEntry:
    """One thing that happened: what kind, when, and its details."""

    seq: int
    at: float
    kind: str
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditVerdict:
    """The result of checking the chain."""

    intact: bool
    entries: int
    problem: str | None = None
    first_bad_seq: int | None = None


def append(
    connection: Connection,
    sealer: Sealer,
    *,
    kind: str,
    details: dict[str, Any],
    now: float | None = None,
) -> AuditEntry:
    """Add an entry in the caller's transaction (so it commits with what it records)."""
    return append_all(connection, sealer, [(kind, details)], now=now)[0]


def append_all(
    connection: Connection,
    sealer: Sealer,
    records: Sequence[tuple[str, dict[str, Any]]],
    *,
    now: float | None = None,
) -> list[AuditEntry]:
    """Add ``(kind, details)`` entries in order, in the caller's transaction.

    The same entries as :func:`append` once per record, with the log's head read
    and written once and the entries inserted together (a change sent to many
    vendors records one disclosure per vendor).
    """
    if not records:
        return []
    head = _read_head(connection)
    seq, previous = (head[0] + 1, head[1]) if head else (1, _GENESIS)
    if seq < 1:
        raise DamagedData("the audit log's record of its newest entry is damaged")
    at = time.time() if now is None else now
    rows = []
    written = []
    for kind, details in records:
        sealed = sealer.seal_text(json.dumps(details, sort_keys=True), f"audit/{seq}")
        previous = sealer.mac(_chained(previous, seq, at, kind, sealed), _PURPOSE)
        rows.append({"seq": seq, "at": at, "kind": kind, "sealed": sealed, "mac": previous})
        written.append(AuditEntry(seq=seq, at=at, kind=kind, details=details))
        seq += 1
    connection.execute(_INSERT, rows)
    _write_head(connection, sealer, seq - 1, previous)
    return written


def entries(connection: Connection, sealer: Sealer) -> list[AuditEntry]:
    """Every entry, oldest first (details opened)."""
    rows = connection.execute(
        text("SELECT seq, at, kind, sealed_details FROM audit_entries ORDER BY seq")
    ).all()
    return [_opened(sealer, *row) for row in rows]


def latest(
    connection: Connection,
    sealer: Sealer,
    *,
    limit: int,
    before: int | None = None,
    group: str | None = None,
) -> list[AuditEntry]:
    """Up to ``limit`` entries, newest first, older than entry ``before`` when given.

    ``group`` keeps the entries whose kind is it or starts with ``group.``
    (``grant`` keeps ``grant.added`` and ``grant.revoked``). Only the entries
    shown are opened.
    """
    rows = connection.execute(
        text(
            "SELECT seq, at, kind, sealed_details FROM audit_entries"
            " WHERE (:before IS NULL OR seq < :before)"
            " AND (:group IS NULL OR kind = :group OR kind LIKE :prefix ESCAPE '\\')"
            " ORDER BY seq DESC LIMIT :limit"
        ),
        {
            "before": before,
            "group": group,
            "prefix": None if group is None else _like_escaped(group) + ".%",
            "limit": limit,
        },
    ).all()
    return [_opened(sealer, *row) for row in rows]


def newest(connection: Connection) -> tuple[int, bytes] | None:
    """The newest entry's number and chain MAC as recorded (None for an empty log).

    It changes with every entry added: a verdict of :func:`verify` holds while it
    does not (and nothing else was altered).
    """
    head = _read_head(connection)
    return None if head is None else (head[0], head[1])


def groups(connection: Connection) -> list[str]:
    """The groups of kinds the log holds (``grant``, ``profile``, ...), sorted."""
    kinds = connection.execute(text("SELECT DISTINCT kind FROM audit_entries")).scalars()
    return sorted({kind.split(".", 1)[0] for kind in kinds})


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _opened(sealer: Sealer, seq: int, at: float, kind: str, sealed: bytes) -> AuditEntry:
    details = json.loads(sealer.open_text(sealed, f"audit/{seq}"))
    return AuditEntry(seq=seq, at=at, kind=kind, details=details)


def verify(connection: Connection, sealer: Sealer) -> AuditVerdict:
    """Check every MAC in order and the recorded head; say where the chain breaks."""
    rows = connection.execute(
        text("SELECT seq, at, kind, sealed_details, mac FROM audit_entries ORDER BY seq")
    ).all()
    previous, expected_seq = _GENESIS, 1
    for seq, at, kind, sealed, mac in rows:
        if seq != expected_seq:
            return AuditVerdict(False, len(rows), f"entry {expected_seq} is missing", expected_seq)
        if sealer.mac(_chained(previous, seq, at, kind, sealed), _PURPOSE) != mac:
            return AuditVerdict(False, len(rows), f"entry {seq} was altered", seq)
        try:
            sealer.open_text(sealed, f"audit/{seq}")
        except DamagedData:
            return AuditVerdict(False, len(rows), f"entry {seq} does not open", seq)
        previous, expected_seq = mac, seq + 1
    head = _read_head(connection)
    last = rows[-1][0] if rows else 0
    if head is None:
        # Every agent's log starts with its creation, so an absent head is never normal.
        return AuditVerdict(False, len(rows), "the record of the newest entry is missing", last)
    head_seq, head_mac, head_check = head
    if sealer.mac(_head_bytes(head_seq, head_mac), _HEAD_PURPOSE) != head_check:
        return AuditVerdict(False, len(rows), "the record of the newest entry was altered", last)
    if head_seq != last or head_mac != previous:
        problem = f"entries after {last} were removed (the log had {head_seq})"
        return AuditVerdict(False, len(rows), problem, last + 1)
    return AuditVerdict(True, len(rows))


def _chained(previous: bytes, seq: int, at: float, kind: str, sealed: bytes) -> bytes:
    return previous + struct.pack(">qd", seq, at) + kind.encode() + b"\0" + sealed


def _read_head(connection: Connection) -> tuple[int, bytes, bytes] | None:
    """The recorded newest entry: (seq, its MAC, the MAC over both), or None."""
    stored = connection.execute(_READ_HEAD, {"name": HEAD_SETTING}).scalar()
    if stored is None:
        return None
    try:
        seq_text, mac_hex, head_mac_hex = str(stored).split(":")
        return int(seq_text), bytes.fromhex(mac_hex), bytes.fromhex(head_mac_hex)
    except ValueError:
        return -1, b"", b""


def _write_head(connection: Connection, sealer: Sealer, seq: int, mac: bytes) -> None:
    head_mac = sealer.mac(_head_bytes(seq, mac), _HEAD_PURPOSE)
    connection.execute(
        _WRITE_HEAD, {"name": HEAD_SETTING, "value": f"{seq}:{mac.hex()}:{head_mac.hex()}"}
    )


def _head_bytes(seq: int, mac: bytes) -> bytes:
    return struct.pack(">q", seq) + mac
