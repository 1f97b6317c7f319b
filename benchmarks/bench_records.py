"""The person's records at the vendor's side, against their raw limits in the same run.

payment notices   a payee's endpoint takes a payer's signed notice: verify it (one Ed25519
                  verification), keep it, sign a receipt (one signature), encrypt it to the
                  payer (X25519 + AES-GCM) and queue it — one transaction per notice, as the
                  inbox does. Raw ceiling: one verification and one signature back to back;
                  and a bare SQLite insert + commit of the same notice.

membership codes  the till checks a scanned QR code offline: the vendor's own signature on the
                  credential, the holder's proof (two Ed25519 verifications in all), dates,
                  its own revocation list (one read of its database) and the proof's nonce
                  (one write to the shared seen-proofs file). Raw ceiling: two verifications.

Best of several interleaved rounds, one core, as in bench_protocol.py.
Run: .venv/bin/python benchmarks/bench_records.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nacl.signing import SigningKey

from bench_protocol import rate
from vrm.protocol import (
    PAYMENT_NOTICE,
    Identity,
    PaymentNotice,
    Verifier,
    compose,
    payment_types,
)
from vrm.protocol.v1.membership_presentations import present_membership
from vrm.protocol.v1.memberships import issue_membership
from vrm.storage import database_engine, migrate_to_newest
from vrm.vendor.checkout import Checkout, SeenProofs
from vrm.vendor.endpoint import MIGRATIONS
from vrm.vendor.outgoing import Outgoing
from vrm.vendor.payments import PaymentsReceived

TERMS = ["no fund-drive calls", "no resale of my contact"]


def notices(payee: Identity, count: int) -> list[str]:
    """``count`` notices from as many payers, signed, as they reach the inbox."""
    tokens = []
    for n in range(count):
        body = PaymentNotice(
            payment=f"vrm-paid-{n:016x}",
            month="2026-11",
            amount="6.00",
            currency="EUR",
            provider="stripe",
            reference=f"pi_{n:024x}",
            terms=TERMS,
            reply_to="https://agent.example/inbox",
        )
        tokens.append(compose(Identity.generate(), type=PAYMENT_NOTICE, to=payee.did, body=body)[1])
    return tokens


def codes(vendor: Identity, count: int) -> list[str]:
    """``count`` members' codes, each a fresh credential with its holder's proof."""
    found = []
    for _ in range(count):
        holder = Identity.generate()
        credential = issue_membership(
            vendor,
            subject=holder.did,
            program="Corner Grocer Club",
            tier="gold",
            member_since=dt.date(2024, 3, 1),
            benefits=["5 % off fresh bread", "free delivery"],
            valid_from=int(time.time()) - 60,
        )
        shown = present_membership(credential.token, holder, audience=vendor.did, now=time.time())
        found.append(shown.text)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.notices
    payee = Identity.generate()
    scratch = Path(tempfile.mkdtemp(prefix="vrm-bench-records-"))
    key = SigningKey(payee.seed)
    signed = key.sign(b"x" * 600)

    def raw_verify_and_sign() -> None:
        for _ in range(n):
            key.verify_key.verify(signed)
            key.sign(b"x" * 600)

    def raw_sqlite(round_no: int) -> Callable[[], None]:
        connection = sqlite3.connect(scratch / f"raw-{round_no}.db", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE t (payer TEXT, payment TEXT, notice TEXT, UNIQUE (payer, payment))"
        )
        rows = [(f"did:key:{i}", f"p{i}", "x" * 600) for i in range(n)]

        def work() -> None:
            for row in rows:
                connection.execute("BEGIN")
                connection.execute("INSERT INTO t VALUES (?, ?, ?)", row)
                connection.execute("COMMIT")

        return work

    def ingest(round_no: int) -> Callable[[], None]:
        engine = database_engine(scratch / f"vendor-{round_no}.db")
        migrate_to_newest(engine, MIGRATIONS)
        station = PaymentsReceived(
            engine, outgoing=Outgoing(payee, 3600, time.time), payee="Radio Leith"
        )
        verifier = Verifier(receiver=payee.did, types=payment_types(), seen_ids=None)
        tokens = notices(payee, n)

        def work() -> None:
            for token in tokens:
                station.receive(verifier.verify(token))

        return work

    def raw_two_verifications() -> None:
        for _ in range(n):
            key.verify_key.verify(signed)
            key.verify_key.verify(signed)

    def till(round_no: int) -> Callable[[], None]:
        engine = database_engine(scratch / f"till-{round_no}.db")
        migrate_to_newest(engine, MIGRATIONS)
        checkout = Checkout(
            engine, vendor=payee.did, seen=SeenProofs(scratch / f"seen-{round_no}.db")
        )
        scanned = codes(payee, n)

        def work() -> None:
            for text in scanned:
                checkout.verify(text)

        return work

    best: dict[str, float] = {}
    for round_no in range(args.rounds):
        contenders = {
            "raw Ed25519 verify + sign": raw_verify_and_sign,
            "raw SQLite insert + commit": raw_sqlite(round_no),
            "payment notice taken, receipt queued": ingest(round_no),
            "raw Ed25519 verify x2": raw_two_verifications,
            "membership code checked at the till": till(round_no),
        }
        for name, work in contenders.items():
            best[name] = max(best.get(name, 0.0), rate(n, work))
    crypto, disk = best["raw Ed25519 verify + sign"], best["raw SQLite insert + commit"]
    ours = best["payment notice taken, receipt queued"]
    print(f"{n} payment notices per round, best of {args.rounds} rounds")
    for name, value in best.items():
        print(f"  {name:40} {value:10,.0f}/s")
    print(
        f"  notices vs raw crypto ceiling: {ours / crypto:.0%}; "
        f"vs raw SQLite commit: {ours / disk:.0%}"
    )
    print(f"  vs both in series (1 / (1/crypto + 1/disk)): {ours * (1 / crypto + 1 / disk):.0%}")
    checked, two = best["membership code checked at the till"], best["raw Ed25519 verify x2"]
    print(f"  membership codes vs two raw verifications: {checked / two:.0%}")


if __name__ == "__main__":
    main()
