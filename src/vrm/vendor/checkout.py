"""The checkout: a membership code a person shows, verified with nothing from the network.

What it needs is in the vendor's home folder: its key (to know its own DID), its
database (the revoked and replaced credentials), and ``checkout-seen.db``, the proofs
seen within their lifetime. The endpoint's API and console verify through it, and so
does ``vrm vendor verify-membership`` at a till while the endpoint is stopped or
unreachable: it opens the key file and the database read-only
(:func:`open_offline`). Both write the proofs they saw to the same file, so a code
shown at one is refused at the other (SQLite takes writers from several processes).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, select

from vrm.keyfile import SEED_FILE
from vrm.protocol import CredentialStanding, Identity, VerifiedMembership, verify_membership
from vrm.transport.seen_ids import digest
from vrm.vendor.schema import memberships, revoked_memberships

SEEN_FILE = "checkout-seen.db"
_PRUNE_EVERY = 60.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS checkout_seen (
    key_digest BLOB PRIMARY KEY,
    expires_time INTEGER NOT NULL
) WITHOUT ROWID;
"""


class CheckoutUnavailable(OSError):
    """The vendor's home folder has no key or no database to verify against."""


class SeenProofs:
    """The holder's proofs seen, until they expire, in an SQLite file several processes share.

    Unlike the inbox's seen-ids store, the file is not held exclusively: the endpoint
    and a till's command write to it at the same time.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._next_prune = 0.0
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        # WAL with synchronous=NORMAL, as the inbox's seen ids: a proof recorded survives
        # the process crashing; a power cut may lose the last few, which could then be
        # shown once more within their two minutes. An fsync per scan cost 60 % of a check.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)

    def remember(self, message_key: str, expires_time: int) -> bool:
        """Record a proof's key until ``expires_time``; False if it was there already."""
        with self._lock:
            now = self._clock()
            if now >= self._next_prune:
                self._db.execute("DELETE FROM checkout_seen WHERE expires_time < ?", (int(now),))
                self._next_prune = now + _PRUNE_EVERY
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO checkout_seen VALUES (?, ?)",
                (digest(message_key), expires_time),
            )
            return cursor.rowcount == 1

    def contains(self, message_key: str) -> bool:
        """True when the proof's key is recorded and not expired."""
        with self._lock:
            found = self._db.execute(
                "SELECT 1 FROM checkout_seen WHERE key_digest = ? AND expires_time >= ?",
                (digest(message_key), int(self._clock())),
            ).fetchone()
            return found is not None

    def close(self) -> None:
        """Release the file."""
        with self._lock:
            self._db.close()


@dataclass
class Checkout:
    """Verifies membership codes as one vendor.

    Args:
        engine: the vendor's database (read-only will do).
        vendor: the vendor's DID, which issued the credentials.
        seen: the proofs seen.
        clock: the time now, in Unix seconds.
    """

    engine: Engine
    vendor: str
    seen: SeenProofs
    clock: Callable[[], float] = time.time

    def verify(self, text: str) -> VerifiedMembership:
        """The membership a scanned code shows.

        Raises:
            MembershipRefused: with the reason (tampered, another_vendor, wrong_holder,
                stale, expired, revoked, replayed…).
        """
        return verify_membership(
            text, verifier=self.vendor, now=self.clock(), standing=self.standing, seen=self.seen
        )

    def standing(self, credential_id: str, credential_digest: str) -> CredentialStanding:
        """What the vendor's own lists say of a credential it signed."""
        with self.engine.connect() as connection:
            revoked = connection.execute(
                select(revoked_memberships.c.id).where(revoked_memberships.c.id == credential_id)
            ).first()
            current = connection.execute(
                select(memberships.c.digest).where(memberships.c.id == credential_id)
            ).scalar()
        if revoked is not None:
            return CredentialStanding.REVOKED
        if current is not None and current != credential_digest:
            return CredentialStanding.SUPERSEDED
        return CredentialStanding.GOOD

    def close(self) -> None:
        """Release the seen proofs' file."""
        self.seen.close()


def verdict(checked: VerifiedMembership) -> dict[str, Any]:
    """A verified membership as the API answers it and the console shows it."""
    credential = checked.credential
    subject = credential.credentialSubject
    return {
        "valid": True,
        "member": {
            "customer": subject.id,
            "credential": credential.id,
            "programName": subject.programName,
            "tier": subject.tier,
            "benefits": list(subject.benefits),
            "memberSince": subject.memberSince,
            "membershipNumber": subject.membershipNumber,
            "validUntil": credential.validUntil,
            "last_day": last_day(credential.valid_until()),
        },
    }


def last_day(until: int | None) -> str | None:
    """The last day (UTC) a credential holds, for people: ``validUntil`` is its first second out."""
    if until is None:
        return None
    return dt.datetime.fromtimestamp(until - 1, dt.UTC).date().isoformat()


def open_offline(home: Path, *, database: str | None = None) -> Checkout:
    """A checkout from the vendor's home folder, its key and database opened read-only.

    ``database`` is the settings' database URL when it is not ``vendor.db`` in ``home``.

    Raises:
        CheckoutUnavailable: no key file, or no database, in ``home``.
    """
    seed = home / SEED_FILE
    if not seed.is_file():
        raise CheckoutUnavailable(f"{home} holds no vendor key ({SEED_FILE}): is it the home?")
    identity = Identity.from_seed(seed.read_bytes())
    return Checkout(
        _read_only(home, database), vendor=identity.did, seen=SeenProofs(home / SEEN_FILE)
    )


def _read_only(home: Path, database: str | None) -> Engine:
    if database and "://" in database and not database.startswith("sqlite:///"):
        return create_engine(database, execution_options={"postgresql_readonly": True})
    # vendor.db: vrm.vendor.endpoint.DATABASE_FILE (that module imports this one)
    path = Path(database.removeprefix("sqlite:///")) if database else home / "vendor.db"
    if not path.is_file():
        raise CheckoutUnavailable(f"{path} does not exist: has the endpoint run in {home}?")
    return create_engine(
        URL.create("sqlite", database=f"file:{path}?mode=ro", query={"uri": "true"})
    )
