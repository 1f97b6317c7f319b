"""Intents ingested by the exchange, in process, against raw Ed25519 verification, same run.

Measured on one core, with 10,000 vendor subscriptions spread over the taxonomy:

  raw Ed25519 verify   PyNaCl (libsodium) on each intent's signing input, nothing else
  ingest               what the exchange's inbox does with each intent: verify in full
                       (with the persistent SQLite replay store), store it durably, match
                       it against the subscriptions, queue a delivery per matched vendor
  ingest, group commit the same, the intents stored and matched BATCH to a transaction, as
                       the exchange's inbox does when they arrive together
  match                SubscriptionIndex.match alone: p50 and p99 latency

Best of several rounds (fresh database each), interleaved.
Run: .venv/bin/python benchmarks/bench_exchange.py [--intents 2000] [--subscriptions 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from nacl.signing import VerifyKey

from vrm.exchange.market import Market
from vrm.exchange.matching import WantedSummary
from vrm.exchange.schema import subscriptions, vendors
from vrm.exchange.service import MIGRATIONS
from vrm.intents.taxonomy import taxonomy
from vrm.protocol import Identity, Verifier, compose
from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.jws import decode_header, split_compact
from vrm.protocol.v1.intents import INTENT, intent_types
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport.seen_ids import SqliteSeenIds

BATCH = 100
"""Intents per transaction with group commit (what arrives together under load)."""
COUNTRIES = ["GB", "FR", "DE", "NL", "ES", "IT", "IE", "BE"]


def subscribed_market(folder: Path, count: int, rng: random.Random) -> Market:
    engine = database_engine(folder / "exchange.db")
    migrate_to_newest(engine, MIGRATIONS)
    paths = [c.path for c in taxonomy().categories]
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            vendors.insert(),
            [{"did": f"did:key:v{n}", "name": f"v{n}", "inbox": None, "updated_at": now}
             for n in range(count // 2)],
        )  # fmt: skip
        connection.execute(
            subscriptions.insert(),
            [
                {
                    "vendor": f"did:key:v{n // 2}",
                    "category": "/".join(rng.choice(paths).split("/")[: rng.randint(1, 2)]),
                    "regions": json.dumps(rng.sample(COUNTRIES, rng.randint(0, 2))),
                    "min_price": None,
                    "max_price": None,
                    "currency": None,
                }
                for n in range(count)
            ],
        )
    return Market(engine)


def intents(exchange: Identity, n: int, rng: random.Random) -> list[str]:
    paths = [c.path for c in taxonomy().categories]
    valid = int(time.time()) + 86400
    tokens = []
    for _ in range(n):
        body = {
            "demand": {
                "category": rng.choice(paths),
                "description": "x" * 200,
                "priceSpecification": {"maxPrice": 500, "priceCurrency": "EUR"},
                "areaServed": {"addressCountry": rng.choice(COUNTRIES)},
                "validThrough": valid,
            },
            "terms": ["SD-BASE", "NoStalking"],
        }
        tokens.append(compose(Identity.generate(), type=INTENT, to=exchange.did, body=body)[1])
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - test data
    exchange = Identity.generate()
    tokens = intents(exchange, args.intents, rng)
    parts = [split_compact(token) for token in tokens]
    verify_keys = [
        VerifyKey(ed25519_from_did(did_from_kid(decode_header(p.header_b64)["kid"]))) for p in parts
    ]
    raw_rates, ingest_rates, grouped_rates, matched_counts = [], [], [], []
    latencies: list[float] = []
    for round_number in range(args.rounds):
        started = time.perf_counter()
        for part, key in zip(parts, verify_keys, strict=True):
            key.verify(part.signing_input, part.signature)
        raw_rates.append(len(parts) / (time.perf_counter() - started))

        folder = Path(tempfile.mkdtemp(prefix="vrm-bench-exchange-"))
        market = subscribed_market(folder, args.subscriptions, random.Random(round_number))  # noqa: S311
        verifier = Verifier(
            receiver=exchange.did,
            types=intent_types(),
            seen_ids=SqliteSeenIds(str(folder / "seen.db")),
        )
        started = time.perf_counter()
        matched = 0
        for token in tokens:
            matched += len(market.publish(verifier.verify(token)).vendors)
        ingest_rates.append(len(tokens) / (time.perf_counter() - started))
        matched_counts.append(matched / len(tokens))

        folder = Path(tempfile.mkdtemp(prefix="vrm-bench-exchange-"))
        market = subscribed_market(folder, args.subscriptions, random.Random(round_number))  # noqa: S311
        verifier = Verifier(
            receiver=exchange.did,
            types=intent_types(),
            seen_ids=SqliteSeenIds(str(folder / "seen.db")),
        )
        started = time.perf_counter()
        for first in range(0, len(tokens), BATCH):
            market.publish_many([verifier.verify(t) for t in tokens[first : first + BATCH]])
        grouped_rates.append(len(tokens) / (time.perf_counter() - started))

        reader = Verifier(receiver=exchange.did, types=intent_types(), seen_ids=None)
        for token in tokens[:1000]:
            demand = reader.verify(token).body.demand  # type: ignore[attr-defined]
            wanted = WantedSummary(demand.category, demand.areaServed.country, None, 0, 500, "EUR")
            began = time.perf_counter()
            market.index.match(wanted)
            latencies.append(time.perf_counter() - began)
    raw, ingest, grouped = max(raw_rates), max(ingest_rates), max(grouped_rates)
    latencies.sort()
    p50 = statistics.median(latencies) * 1e3
    p99 = latencies[int(len(latencies) * 0.99)] * 1e3
    print(
        f"{args.intents} signed intents, {args.subscriptions} subscriptions,"
        f" best of {args.rounds} rounds, one core"
    )
    print(f"{'':34} {'per second':>12} {'vs raw':>8}")
    print(f"{'raw Ed25519 verify (libsodium)':34} {raw:12,.0f} {1:8.0%}")
    print(f"{'ingest (verify, store, match, queue)':34} {ingest:12,.0f} {ingest / raw:8.0%}")
    print(f"{f'ingest, group commit of {BATCH}':34} {grouped:12,.0f} {grouped / raw:8.0%}")
    print(f"vendors matched per intent: {statistics.mean(matched_counts):.1f}")
    print(f"match latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
