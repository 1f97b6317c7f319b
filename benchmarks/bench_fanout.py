"""A profile change fanned out to 100 and 1,000 vendors, against raw POSTs to the same inboxes.

The vendors are small fleet inboxes (vrm.demo.fleet), 250 to a process, each one
verifying every message in full (replay store in memory), accepting relationship
requests and the terms they proffer without answering them. For each size the agent
in this process has one accepted relationship per vendor, with its agreement and
address.home granted, and a round is:

  vrm       PersonalAgent.set_field("address.home", ...): the new version, one signed,
            sealed profile.update per vendor and their audit entries written in one
            transaction (the transactional outbox); then DeliveryWorker.run_once()
            until nothing is due, over the worker's own Sender and AiohttpTransport
            as ``vrm up`` builds them. Timed from the call until the last delivery
            is recorded as acknowledged (202); split into enqueue (sign + seal +
            write + commit) and delivery (read due, POST, record the outcomes).
  raw       the same number of profile.update messages, signed beforehand by a raw
            client each vendor accepted as a customer too (raw_client.py), POSTed to
            the same inboxes by a bare aiohttp session with the same number in flight:
            no outbox, no database, no signing in the timing.

Round 0 warms everything up and is not counted; then the best of the rounds, the
contenders interleaved so the machine's other load hits each alike (a round in
which a POST failed and had to be retried is reported and left out). The agent,
the client and the fleet processes share the machine's cores. At the end every
vendor is asked what it holds: each must have the newest address.

Run: .venv/bin/python benchmarks/bench_fanout.py [--vendors 100 1000] [--concurrency 256]
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

import aiohttp

from fanout_agent import (
    PATH,
    Side,
    Vendor,
    deliver_all,
    open_side,
    spread,
)
from raw_client import interleaved_rounds, open_client
from vrm.agent.outbox.worker import DEFAULT_CONCURRENCY
from vrm.agent.relationships.service import Relationship
from vrm.transport.serving import run_service

PER_FLEET = 250
NOWHERE = "http://127.0.0.1:9/inbox"
"""The raw client's reply_to: the fleet sends no answers."""


@contextmanager
def fleets(count: int) -> Iterator[list[list[Vendor]]]:
    """``count`` vendors in processes of PER_FLEET; each process's vendors, in order."""
    processes: list[subprocess.Popen[str]] = []
    try:
        urls = []
        for number in range(-(-count // PER_FLEET)):
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "vrm.demo.fleet",
                    "--count",
                    str(min(PER_FLEET, count - number * PER_FLEET)),
                    "--port",
                    "0",
                    "--base",
                    f"bench fleet {number}",
                    # Requests and terms are accepted but not answered: the benchmark
                    # records the acceptance itself, so no answers cross the measurement.
                    "--policy",
                    "silent",
                ],
                stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            processes.append(process)
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line.startswith("listening on "):
                raise RuntimeError(f"fleet {number} did not start: {line!r}")
            urls.append(line.removeprefix("listening on ").strip())
        listed = []
        for url in urls:
            with urllib.request.urlopen(f"{url}/fleet", timeout=10) as reply:  # noqa: S310
                listed.append(
                    [Vendor(url, v["index"], v["did"], v["inbox"]) for v in json.load(reply)]
                )
        yield listed
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def check_held(side: Side) -> int:
    """How many vendors hold the newest address for this side's DID with them."""
    async with aiohttp.ClientSession() as session:

        async def holds(vendor: Vendor, relationship: Relationship) -> bool:
            async with session.get(f"{vendor.base}/v/{vendor.index}/customers") as reply:
                customers = await reply.json()
            held = customers.get(relationship.our_did, {}).get("fields", {})
            return bool(held.get(PATH) == side.last_address)

        found = await asyncio.gather(
            *(holds(v, r) for v, r in zip(side.vendors, side.relationships, strict=True))
        )
    return sum(found)


async def run(sizes: list[int], concurrency: int, rounds: int) -> None:
    with ExitStack() as stack:
        listed = stack.enter_context(fleets(max(sizes)))
        started = time.perf_counter()
        sides = {size: open_side(stack, spread(listed, size), concurrency) for size in sizes}
        setup = time.perf_counter() - started
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))
        try:
            for side in sides.values():
                await deliver_all(side)  # the relationship requests
            clients = {
                size: await open_client(session, side.vendors, concurrency, lambda _v: NOWHERE)
                for size, side in sides.items()
            }
            ours, theirs = await interleaved_rounds(session, sides, clients, concurrency, rounds)
            held = {size: await check_held(side) for size, side in sides.items()}
        finally:
            await session.close()
            for side in sides.values():
                await side.worker.sender.transport.aclose()

    print(
        f"one change of {PATH} to N vendors ({len(listed)} fleet processes of up to"
        f" {PER_FLEET}), {concurrency} in flight, 127.0.0.1, {os.cpu_count()} cores,"
        f" best of {rounds} rounds (set-up of {sum(sizes)} relationships: {setup:.1f} s)"
    )
    print(
        f"{'vendors':>7} {'path':8} {'per second':>11} {'vs raw':>7} {'last ack':>9}"
        f" {'enqueue':>9} {'delivery':>9} {'hold it':>8}"
    )
    for size in sizes:
        best = min(ours[size], key=lambda timing: timing.total)
        fastest = min(theirs[size])
        print(
            f"{size:7} {'raw':8} {size / fastest:11,.0f} {1:7.0%} {fastest * 1000:7.0f}ms"
            f" {'':9} {'':9} {'':>8}"
        )
        print(
            f"{size:7} {'vrm':8} {size / best.total:11,.0f} {fastest / best.total:7.0%}"
            f" {best.total * 1000:7.0f}ms {best.enqueue * 1000:7.0f}ms"
            f" {best.deliver * 1000:7.0f}ms {held[size]:8}"
        )
    for size in sizes:
        if held[size] != size:
            raise SystemExit(f"only {held[size]} of {size} vendors hold the new address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run_service(run(args.vendors, args.concurrency, args.rounds))  # uvloop, as the services use


if __name__ == "__main__":
    main()
