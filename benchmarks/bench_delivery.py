"""Delivering signed messages over HTTP on 127.0.0.1, against the raw loopback limit.

Three servers, each a separate uvicorn process on its own port:
  sink        an ASGI app that answers 202 and does nothing (the raw HTTP limit)
  vrm inbox   `vrm serve peer`: the full inbox (bounded read, verify, SQLite replay store)
and two clients in this process, 64 requests in flight:
  aiohttp     vrm's AiohttpTransport (what the Sender uses)
  httpx       httpx.AsyncClient, for comparison

Run: .venv/bin/python benchmarks/bench_delivery.py
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from vrm.protocol import PING, Identity, Ping, compose
from vrm.transport import AiohttpTransport, DeliveryError, Sender
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.serving import run_service

HERE = Path(__file__).parent


def start(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    assert process.stdout is not None
    if "vrm" in command:
        line = process.stdout.readline()
        return process, line.removeprefix("listening on ").strip()
    for line in process.stderr:
        if "Uvicorn running on" in line:
            return process, line.split("running on ")[1].split(" ")[0]
    raise RuntimeError("server did not start")


async def measure(
    count: int, concurrency: int, send: Callable[[int], Awaitable[bool]]
) -> tuple[float, int]:
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> bool:
        async with gate:
            return await send(n)

    started = time.perf_counter()
    results = await asyncio.gather(*(one(n) for n in range(count)))
    return count / (time.perf_counter() - started), sum(results)


async def run(count: int, concurrency: int, rounds: int) -> None:
    home = Path(tempfile.mkdtemp(prefix="vrm-bench-"))
    python = sys.executable
    sink, sink_url = start(
        [
            python,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            "sink:app",
            "--port",
            "0",
            "--log-level",
            "info",
            "--no-access-log",
        ]
    )
    peer, peer_url = start(
        [python, "-m", "vrm", "serve", "peer", "--home", str(home), "--port", "0"]
    )
    try:
        peer_did = Identity.from_seed((home / "identity.seed").read_bytes()).did
        alice = Identity.generate()
        transport = AiohttpTransport(policy=AddressPolicy(allow_loopback=True))
        sender = Sender(transport)
        body = b"x" * 1078
        results: dict[str, tuple[float, int]] = {}
        pending: list[str] = []

        async def inbox(n: int) -> bool:
            try:
                await sender.deliver(f"{peer_url}/inbox", pending[n])
            except DeliveryError:
                return False
            return True

        async def aiohttp_sink(n: int) -> bool:
            reply = await transport.request(
                "POST", f"{sink_url}/inbox", content=body, content_type="application/vrm+jws"
            )
            return reply.status == 202

        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:

            async def httpx_sink(n: int) -> bool:
                reply = await client.post(
                    f"{sink_url}/inbox",
                    content=body,
                    headers={"content-type": "application/vrm+jws"},
                )
                return reply.status_code == 202

            contenders = {
                "raw sink, aiohttp": aiohttp_sink,
                "raw sink, httpx": httpx_sink,
                "vrm inbox, aiohttp": inbox,
            }
            # Round 0 warms connections up and is not counted; then best of the rest,
            # interleaved so the machine's other load hits every contender alike.
            for round_number in range(rounds + 1):
                pending[:] = [
                    compose(
                        alice,
                        type=PING,
                        to=peer_did,
                        body=Ping(comment="y" * 300, response_requested=False),
                    )[1]
                    for _ in range(count)
                ]
                for name, send in contenders.items():
                    rate, ok = await measure(count, concurrency, send)
                    if round_number and rate > results.get(name, (0.0, 0))[0]:
                        results[name] = (rate, ok)
        await transport.aclose()
    finally:
        for process in (sink, peer):
            process.terminate()
            process.wait(10)

    raw = results["raw sink, aiohttp"][0]
    print(
        f"{count} POSTs of ~1 KB, {concurrency} in flight, 127.0.0.1, best of {rounds} rounds,"
        " client and server one core each"
    )
    print(f"{'':24} {'per second':>12} {'vs raw':>8} {'accepted':>9}")
    for name, (per_second, ok) in results.items():
        print(f"{name:24} {per_second:12,.0f} {per_second / raw:8.0%} {ok:9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run_service(run(args.messages, args.concurrency, args.rounds))  # uvloop, as the services use


if __name__ == "__main__":
    main()
