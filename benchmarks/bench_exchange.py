"""Intents ingested by the exchange, in process, against raw Ed25519 verification, same run.

Measured on one core, with 10,000 vendor subscriptions spread over the taxonomy:

  raw Ed25519 verify   PyNaCl (libsodium) on each intent's signing input, nothing else
  ingest               what the exchange's inbox does with each intent: verify in full
                       (the persistent SQLite replay store is open, as in the exchange), store it
                       durably, match it against the subscriptions, queue a delivery per
                       matched vendor with an inbox; one transaction per intent
  ingest, group commit the same, the intents stored and matched BATCH to a transaction, as
                       the exchange's inbox does when they arrive together

An intent's row is its replay record (one pseudonym, one intent), written in the same
transaction: the inbox does not write intents to the seen-ids store as well.
Half the vendors have an inbox (pushed a delivery each), half fetch.
  fan-out              the deliveries of the intents just taken written by the pushers'
                       side (Market.fan_out), off the path that answers the person
  match                SubscriptionIndex.match alone: p50 and p99 latency
  offers routed        Market.post_offer: a JWE offer kept in its pseudonym's mailbox,
                       against a bare SQLite insert and commit of the same bytes

Rates are per CPU-second of this process (one core's work); match latency is wall time.
Best of several rounds (fresh database each), interleaved.
Run: .venv/bin/python benchmarks/bench_exchange.py [--intents 2000] [--subscriptions 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from nacl.signing import VerifyKey
from sqlalchemy import Engine, func, select

from vrm.exchange.market import Market
from vrm.exchange.matching import WantedSummary
from vrm.exchange.schema import deliveries, subscriptions, vendors
from vrm.exchange.service import MIGRATIONS
from vrm.intents.taxonomy import taxonomy
from vrm.protocol import Identity, Verifier, compose, encrypt_for
from vrm.protocol.did import did_from_kid, ed25519_from_did
from vrm.protocol.jws import CompactParts, decode_header, split_compact
from vrm.protocol.v1.intents import INTENT, intent_types
from vrm.storage import database_engine, migrate_to_newest
from vrm.transport.seen_ids import SqliteSeenIds

cpu = time.process_time
"""Rates are per second of this process's CPU time: one core's work, whatever else the
machine runs meanwhile (a wall clock on a shared machine made every ratio drift)."""
BATCH = 100
"""Intents per transaction with group commit (what arrives together under load)."""
COUNTRIES = ["GB", "FR", "DE", "NL", "ES", "IT", "IE", "BE"]


def subscribe(engine: Engine, count: int, rng: random.Random, *, inboxes: bool) -> None:
    """``count`` subscriptions of ``count // 2`` vendors over the taxonomy, into ``engine``.

    With ``inboxes`` every other vendor has one (and is pushed); otherwise all fetch.
    """
    paths = [c.path for c in taxonomy().categories]
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            vendors.insert(),
            [{"did": f"did:key:v{n}", "name": f"v{n}", "updated_at": now,
              "inbox": f"https://v{n}.example/inbox" if inboxes and n % 2 else None}
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


def subscribed_market(folder: Path, count: int, rng: random.Random) -> Market:
    engine = database_engine(folder / "exchange.db")
    migrate_to_newest(engine, MIGRATIONS)
    subscribe(engine, count, rng, inboxes=True)
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


def exchange_verifier(exchange: Identity, folder: Path) -> Verifier:
    """The verifier as the exchange builds it: intents are their own replay record."""
    return Verifier(
        receiver=exchange.did,
        types=intent_types(),
        seen_ids=SqliteSeenIds(str(folder / "seen.db")),
        replays_kept_by_handler={INTENT},
    )


def verify_keys_did(part: CompactParts) -> str:
    """The DID that signed a compact JWS (each intent's pseudonym)."""
    return did_from_kid(decode_header(part.header_b64)["kid"])


def route_offers(market: Market, folder: Path, offers: list[str]) -> tuple[float, float]:
    """Offers kept per second by the market, and by a bare SQLite insert and commit."""
    started = cpu()
    for offer in offers:
        market.post_offer(offer)
    routed = len(offers) / (cpu() - started)
    bare = sqlite3.connect(folder / "bare.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute("PRAGMA synchronous=NORMAL")
    bare.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, recipient TEXT, message TEXT)")
    started = cpu()
    for offer in offers:
        bare.execute("BEGIN")
        bare.execute("INSERT INTO kept (recipient, message) VALUES (?, ?)", ("r", offer))
        bare.execute("COMMIT")
    raw = len(offers) / (cpu() - started)
    bare.close()
    return routed, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=2000)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--offers", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - test data
    exchange = Identity.generate()
    tokens = intents(exchange, args.intents, rng)
    parts = [split_compact(token) for token in tokens]
    verify_keys = [
        VerifyKey(ed25519_from_did(did_from_kid(decode_header(p.header_b64)["kid"]))) for p in parts
    ]
    raw_rates, ingest_rates, grouped_rates, matched_counts = [], [], [], []
    fan_out_rates, offer_rates, raw_store_rates = [], [], []
    offers = [
        encrypt_for(pseudonym, "x" * 1500)
        for pseudonym in (verify_keys_did(p) for p in parts[: args.offers])
    ]
    latencies: list[float] = []
    for round_number in range(args.rounds):
        started = cpu()
        for part, key in zip(parts, verify_keys, strict=True):
            key.verify(part.signing_input, part.signature)
        raw_rates.append(len(parts) / (cpu() - started))

        folder = Path(tempfile.mkdtemp(prefix="vrm-bench-exchange-"))
        market = subscribed_market(folder, args.subscriptions, random.Random(round_number))  # noqa: S311
        verifier = exchange_verifier(exchange, folder)
        started = cpu()
        matched = 0
        for token in tokens:
            matched += len(market.publish(verifier.verify(token, record=False)).vendors)
        ingest_rates.append(len(tokens) / (cpu() - started))
        matched_counts.append(matched / len(tokens))

        folder = Path(tempfile.mkdtemp(prefix="vrm-bench-exchange-"))
        market = subscribed_market(folder, args.subscriptions, random.Random(round_number))  # noqa: S311
        verifier = exchange_verifier(exchange, folder)
        started = cpu()
        for first in range(0, len(tokens), BATCH):
            batch = tokens[first : first + BATCH]
            market.publish_many([verifier.verify(token, record=False) for token in batch])
        grouped_rates.append(len(tokens) / (cpu() - started))

        started, written = cpu(), 0
        with market.engine.begin() as connection:
            while market.fan_out(connection):
                pass
            written = connection.execute(select(func.count()).select_from(deliveries)).scalar()
        fan_out_rates.append((written or 0) / (cpu() - started))

        offers_rate, raw_store_rate = route_offers(market, folder, offers)
        offer_rates.append(offers_rate)
        raw_store_rates.append(raw_store_rate)

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
    print(f"fan-out: {max(fan_out_rates):,.0f} deliveries written per second")
    offer, raw_store = max(offer_rates), max(raw_store_rates)
    print(
        f"offers routed: {offer:,.0f}/s, {offer / raw_store:.0%} of a bare SQLite insert"
        f" and commit of the same JWE ({raw_store:,.0f}/s)"
    )
    print(f"match latency: p50 {p50:.3f} ms, p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
