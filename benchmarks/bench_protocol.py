"""Signing and verifying through vrm.protocol versus raw Ed25519 (libsodium), same run.

Measures, on 1 KB messages and one core:
  raw sign / raw verify     PyNaCl (libsodium) on the JWS signing input, nothing else
  vrm sign                  envelope → JSON → compact JWS (compose + sign_message)
  vrm verify (full)         every check: size, parse, header, signature, envelope, times,
                            type, body schema, and the persistent SQLite seen-ids store
  vrm verify (memory)       the same with the in-memory seen-ids store
  joserfc EdDSA verify      a general JOSE library's verify path, for comparison

Each figure is the best of many short rounds (as timeit advises: slower rounds
measure the machine's other load, not the code), the rounds interleaved so that
load hits every contender alike; many short rounds give each contender more
chances of a quiet moment than a few long ones. Run: .venv/bin/python benchmarks/bench_protocol.py
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from joserfc import jws as joserfc_jws
from joserfc.jwk import OKPKey
from nacl.signing import SigningKey

from vrm.protocol import (
    PING,
    Identity,
    MemorySeenIds,
    Ping,
    SeenIds,
    Verifier,
    compose,
    v1_types,
)
from vrm.protocol.encoding import b64url_encode
from vrm.protocol.jws import split_compact
from vrm.transport.seen_ids import SqliteSeenIds


def rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    n = args.messages

    sender, receiver = Identity.generate(), Identity.generate()
    comment = "x" * 300  # makes the compact JWS about 1 KB
    tokens = [
        compose(sender, type=PING, to=receiver.did, body=Ping(comment=comment))[1] for _ in range(n)
    ]
    size = len(tokens[0])
    parts = [split_compact(token) for token in tokens]
    nacl_key = SigningKey(sender.seed)
    verify_key = nacl_key.verify_key
    jwk = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(sender.public_key)})
    scratch = Path(tempfile.mkdtemp(prefix="vrm-bench-"))

    def raw_sign() -> None:
        for part in parts:
            nacl_key.sign(part.signing_input)

    def raw_verify() -> None:
        for part in parts:
            verify_key.verify(part.signing_input, part.signature)

    def vrm_sign() -> None:
        for _ in range(n):
            compose(sender, type=PING, to=receiver.did, body=Ping(comment=comment))

    def vrm_verify_with(store_factory: Callable[[], SeenIds]) -> Callable[[], None]:
        def run() -> None:
            # A fresh store each round: the same tokens must be new to it.
            verifier = Verifier(receiver=receiver.did, types=v1_types(), seen_ids=store_factory())
            for token in tokens:
                verifier.verify(token)

        return run

    stores = itertools.count()

    def joserfc_verify() -> None:
        for token in tokens:
            joserfc_jws.deserialize_compact(token, jwk, algorithms=["Ed25519", "EdDSA"])

    contenders: dict[str, Callable[[], None]] = {
        "raw Ed25519 sign (libsodium)": raw_sign,
        "vrm sign (compose + JWS)": vrm_sign,
        "raw Ed25519 verify (libsodium)": raw_verify,
        "vrm verify (full, SQLite)": vrm_verify_with(
            lambda: SqliteSeenIds(str(scratch / f"seen-{next(stores)}.db"))
        ),
        "vrm verify (full, memory)": vrm_verify_with(MemorySeenIds),
        "joserfc EdDSA verify": joserfc_verify,
    }
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, work in contenders.items():
            results[name].append(rate(n, work))
    best = {name: max(values) for name, values in results.items()}

    raw_verify_rate = best["raw Ed25519 verify (libsodium)"]
    raw_sign_rate = best["raw Ed25519 sign (libsodium)"]
    print(f"{n} messages of {size} bytes, best of {args.rounds} rounds, one core")
    print(f"{'':34} {'per second':>12} {'vs raw':>8}")
    for name, value in best.items():
        base = raw_sign_rate if "sign" in name else raw_verify_rate
        print(f"{name:34} {value:12,.0f} {value / base:8.0%}")


if __name__ == "__main__":
    main()
