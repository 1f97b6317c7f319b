"""Agreements: proffering, accepting and verifying terms versus raw Ed25519, same run.

An agreement is checked with two Ed25519 verifications (the person's and the
vendor's) over the RFC 8785 canonical JSON of a statement, after hashing the
canonical JSON of the terms. So the raw ceiling for verifying one agreement is
half the raw verification rate; proffering costs one signature, accepting one
verification and one signature. Measured, on one core:

  raw Ed25519 sign / verify   PyNaCl (libsodium) on a statement's bytes
  terms hash                  Terms.sha256(): canonical JSON (rfc8785) + SHA-256
  proffer                     hash the terms, sign the statement (person)
  accept                      verify the proffer, sign the acceptance (vendor)
  verify agreement            the hash and both signatures, offline

Best of many short interleaved rounds, as in bench_protocol.py.
Run: .venv/bin/python benchmarks/bench_terms.py
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from nacl.signing import SigningKey

from bench_protocol import rate
from vrm.protocol import Identity
from vrm.terms import Terms, accept, library, proffer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agreements", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    n = args.agreements

    found = library()
    terms = Terms(agreement=found.agreement("SD-BASE"), additional=found.terms[:3])
    person, vendor = Identity.generate(), Identity.generate()
    offers = [
        proffer(terms, person, person=person.did, vendor=vendor.did, proffered_by="person", now=i)
        for i in range(n)
    ]
    agreements = [accept(offer, vendor, now=offer.statement.proffered_time) for offer in offers]
    payload = offers[0].statement.proffer_payload()
    nacl_key = SigningKey(person.seed)
    signed = nacl_key.sign(payload)
    verify_key = nacl_key.verify_key

    def raw_sign() -> None:
        for _ in range(n):
            nacl_key.sign(payload)

    def raw_verify() -> None:
        for _ in range(n):
            verify_key.verify(signed)

    def terms_hash() -> None:
        for _ in range(n):
            terms.sha256()

    def make_proffers() -> None:
        for i in range(n):
            proffer(
                terms, person, person=person.did, vendor=vendor.did, proffered_by="person", now=i
            )

    def accept_all() -> None:
        for offer in offers:
            accept(offer, vendor, now=offer.statement.proffered_time)

    def verify_all() -> None:
        for agreement in agreements:
            agreement.verify()

    contenders: dict[str, Callable[[], None]] = {
        "raw Ed25519 sign": raw_sign,
        "raw Ed25519 verify": raw_verify,
        "terms hash (RFC 8785 + SHA-256)": terms_hash,
        "proffer (hash + 1 sign)": make_proffers,
        "accept (hash + 1 verify + 1 sign)": accept_all,
        "verify agreement (hash + 2 verify)": verify_all,
    }
    results: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, work in contenders.items():
            results[name].append(rate(n, work))
    best = {name: max(values) for name, values in results.items()}

    sign, verify = best["raw Ed25519 sign"], best["raw Ed25519 verify"]
    ceilings = {
        "raw Ed25519 sign": sign,
        "raw Ed25519 verify": verify,
        "terms hash (RFC 8785 + SHA-256)": None,
        "proffer (hash + 1 sign)": sign,
        "accept (hash + 1 verify + 1 sign)": 1 / (1 / sign + 1 / verify),
        "verify agreement (hash + 2 verify)": verify / 2,
    }
    size = len(terms.canonical())
    print(f"{n} agreements on {terms.name} ({size} bytes of terms), best of {args.rounds} rounds")
    print(f"{'':36} {'per second':>12} {'raw ceiling':>12} {'vs raw':>8}")
    for name, value in best.items():
        ceiling = ceilings[name]
        shown = f"{ceiling:12,.0f} {value / ceiling:8.0%}" if ceiling else f"{'':12} {'':8}"
        print(f"{name:36} {value:12,.0f} {shown}")


if __name__ == "__main__":
    main()
