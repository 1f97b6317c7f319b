"""One address change to 100 and 1,000 vendor endpoints (built-in store), end to end.

The vendors are real vendor endpoints (vrm.vendor.VendorEndpoint), 250 to a process
(benchmarks/vendor_host.py), each with its own identity, its own SQLite store and
seen-ids file, its own records and its own job worker, accepting requests by the
default policy. For each size the agent in this process relates with every vendor
for real: its relationship requests go out through its delivery worker and each
vendor accepts, so each vendor knows the agent's pairwise DID as an accepted customer
(the vendors' answers go to a sink in their own process and are delivered before any
round, so no answer is left retrying while the rounds run). Each vendor's job worker
runs, woken by every message that queues a job; when idle it looks at its store every
60 s here instead of the endpoint's 1 s (--poll): 1,000 idle workers each polling
every second take three quarters of two cores, a load no single endpoint puts on its
machine.
Then address.home is granted to every vendor, and a round is:

  vrm       PersonalAgent.set_field("address.home", ...): the new version, one signed,
            sealed profile.update per vendor and their audit entries written in one
            transaction (the transactional outbox); then DeliveryWorker.run_once()
            until nothing is due, over the worker's own Sender and AiohttpTransport
            as ``vrm up`` builds them. Each vendor's inbox verifies the message,
            applies it to its records and commits before it answers 202. Timed from
            the call until the last 202 is recorded; split into enqueue (sign + seal
            + write + commit) and delivery (read due, POST, record the outcomes).
  raw       the same number of profile.update messages, signed beforehand by a client
            that is itself an accepted customer of each vendor (one per vendor and
            size, related at set-up), POSTed to the same inboxes by a bare aiohttp
            session with the same number in flight: no outbox, no database, no signing
            in the timing; each vendor verifies and stores them exactly as it does the
            agent's.

Round 0 warms everything up and is not counted; then the best of the rounds, the
contenders interleaved so the machine's other load hits each alike (a round in
which a POST failed and had to be retried is reported and left out). The agent,
the client and the vendor processes share the machine's cores. At the end every
vendor's records are read back: each must hold the newest address of every customer
and have no job left pending, or the script fails.

Run: .venv/bin/python benchmarks/bench_vendor_fanout.py [--vendors 100 1000] [--concurrency 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from fanout_agent import (
    PATH,
    Vendor,
    deliver_all,
    open_side,
    spread,
)
from raw_client import interleaved_rounds, open_client
from vrm.agent.outbox.worker import DEFAULT_CONCURRENCY
from vrm.transport.serving import run_service

HERE = Path(__file__).parent
PER_HOST = 250
POLL = 60.0
"""Each vendor's idle job poll in the hosts (the endpoint's own is 1 s; see --poll)."""


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=60) as reply:  # noqa: S310 - our own hosts
        return json.load(reply)


@contextmanager
def hosts(count: int, per_host: int, poll: float) -> Iterator[list[list[Vendor]]]:
    """``count`` vendor endpoints in processes of ``per_host``; each one's vendors, in order."""
    processes: list[subprocess.Popen[str]] = []
    try:
        for number in range(-(-count // per_host)):
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                    [
                        sys.executable,
                        str(HERE / "vendor_host.py"),
                        "--count",
                        str(min(per_host, count - number * per_host)),
                        "--port",
                        "0",
                        "--base",
                        f"bench vendors {number}",
                        "--poll",
                        str(poll),
                    ],
                    stdout=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                )
            )
        urls = []
        for number, process in enumerate(processes):
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("listening on "):
                raise RuntimeError(f"vendor host {number} did not start: {line!r}")
            urls.append(line.removeprefix("listening on ").strip())
        yield [
            [Vendor(url, v["index"], v["did"], v["inbox"]) for v in get_json(f"{url}/fleet")]
            for url in urls
        ]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


def answers_url(vendor: Vendor) -> str:
    """Where the vendor's answers to relationship requests go: its host's sink."""
    return f"{vendor.base}/answers"


def summaries(listed: list[list[Vendor]]) -> dict[tuple[str, int], dict[str, Any]]:
    """What every vendor holds, read from its records, by (host, index)."""
    return {
        (group[0].base, row["index"]): row
        for group in listed
        for row in get_json(f"{group[0].base}/fleet/summary")
    }


async def settle(listed: list[list[Vendor]], timeout: float = 60) -> None:
    """Wait until no vendor has a job pending (its answers to the requests delivered)."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = sum(row["pending_jobs"] for row in summaries(listed).values())
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{waiting} vendor jobs still pending")
        await asyncio.sleep(0.5)


def held(
    held_by: dict[tuple[str, int], dict[str, Any]],
    vendors: list[Vendor],
    dids: list[str],
    value: dict[str, Any],
) -> int:
    """How many of ``vendors`` hold ``value`` as the address of their customer in ``dids``."""
    return sum(
        held_by[vendor.base, vendor.index][PATH].get(did) == value
        for vendor, did in zip(vendors, dids, strict=True)
    )


async def run(sizes: list[int], concurrency: int, rounds: int, per_host: int, poll: float) -> None:
    with ExitStack() as stack:
        started = time.perf_counter()
        listed = stack.enter_context(hosts(max(sizes), per_host, poll))
        hosts_up = time.perf_counter() - started
        started = time.perf_counter()
        sides = {
            size: open_side(stack, spread(listed, size), concurrency, reply_to=answers_url)
            for size in sizes
        }
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
        try:
            for side in sides.values():
                await deliver_all(side)  # the relationship requests: each vendor accepts
            clients = {
                size: await open_client(session, side.vendors, concurrency, answers_url)
                for size, side in sides.items()
            }
            await settle(listed)  # every answer delivered: nothing left to retry
            setup = time.perf_counter() - started
            ours, theirs = await interleaved_rounds(session, sides, clients, concurrency, rounds)
            held_by = summaries(listed)
        finally:
            await session.close()
            for side in sides.values():
                await side.worker.sender.transport.aclose()

    total = sum(len(group) for group in listed)
    print(
        f"one change of {PATH} to N vendor endpoints (built-in SQLite store each;"
        f" {len(listed)} processes of up to {per_host}, idle job poll {poll:g} s),"
        f" {concurrency} in flight, 127.0.0.1, {os.cpu_count()} cores, best of {rounds} rounds"
        f" (vendors up: {hosts_up:.1f} s; {2 * sum(sizes)} relationships: {setup:.1f} s)"
    )
    print(
        f"{'vendors':>7} {'path':8} {'per second':>11} {'vs raw':>7} {'last ack':>9}"
        f" {'enqueue':>9} {'delivery':>9} {'hold it':>8}"
    )
    failures = []
    for size in sizes:
        best = min(ours[size], key=lambda timing: timing.total)
        fastest = min(theirs[size])
        side, client = sides[size], clients[size]
        ours_held = held(
            held_by, side.vendors, [r.our_did for r in side.relationships], side.last_address
        )
        raw_held = held(
            held_by, client.vendors, [i.did for i in client.identities], client.last_address
        )
        print(
            f"{size:7} {'raw':8} {size / fastest:11,.0f} {1:7.0%} {fastest * 1000:7.0f}ms"
            f" {'':9} {'':9} {raw_held:8}"
        )
        print(
            f"{size:7} {'vrm':8} {size / best.total:11,.0f} {fastest / best.total:7.0%}"
            f" {best.total * 1000:7.0f}ms {best.enqueue * 1000:7.0f}ms"
            f" {best.deliver * 1000:7.0f}ms {ours_held:8}"
        )
        if ours_held != size or raw_held != size:
            failures.append(f"{size} vendors: {ours_held} hold the agent's address, {raw_held} raw")
    customers = sum(row["customers"] for row in held_by.values())
    accepted = sum(row["accepted"] for row in held_by.values())
    waiting = sum(row["pending_jobs"] for row in held_by.values())
    print(f"{total} vendors: {customers} customers ({accepted} accepted), {waiting} jobs pending")
    if customers != 2 * sum(sizes) or accepted != customers:
        failures.append(f"{customers} customers, {accepted} accepted, for {2 * sum(sizes)}")
    if waiting:
        failures.append(f"{waiting} vendor jobs pending")
    if failures:
        raise SystemExit("; ".join(failures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-process", type=int, default=PER_HOST, help="vendors per process")
    parser.add_argument(
        "--poll",
        type=float,
        default=POLL,
        help="each vendor's idle job poll in seconds (a worker woken by a message runs at once)",
    )
    args = parser.parse_args()
    run_service(run(args.vendors, args.concurrency, args.rounds, args.per_process, args.poll))


if __name__ == "__main__":
    main()
