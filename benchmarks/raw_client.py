"""The raw side of the fan-out benchmarks: customers posting signed messages directly.

Each vendor accepts the client as a customer (one identity per vendor, its
relationship request proffering terms the vendor accepts), so that what the raw
client then POSTs is applied exactly as the agent's messages are: the same checks,
the same records. Shared by bench_fanout.py and bench_vendor_fanout.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from fanout_agent import PATH, PURPOSE, Side, Timing, Vendor, address, fan_out
from vrm.protocol import (
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    FieldValue,
    Grant,
    Identity,
    ProfileUpdate,
    RelationshipRequest,
    compose,
)
from vrm.terms import Terms, library, proffer

HEADERS = {"content-type": "application/vrm+jws"}


TERMS = Terms(agreement=library().agreement("SD-BASE"), additional=())
"""What the raw client proffers (every endpoint accepts it by default)."""


@dataclass
class Client:
    """The raw client: an accepted customer of each of ``vendors``, one identity each."""

    vendors: list[Vendor]
    identities: list[Identity]
    last_address: dict[str, Any] = field(default_factory=dict)


async def post_all(
    session: aiohttp.ClientSession, messages: list[tuple[str, bytes]], concurrency: int
) -> tuple[float, list[int]]:
    """POST every message, ``concurrency`` at a time; seconds until the last answer, statuses."""
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str, token: bytes) -> int:
        try:
            async with gate, session.post(url, data=token, headers=HEADERS) as reply:
                await reply.read()
                return reply.status
        except aiohttp.ClientError:
            return 0

    started = time.perf_counter()
    statuses = await asyncio.gather(*(one(url, token) for url, token in messages))
    return time.perf_counter() - started, list(statuses)


async def open_client(
    session: aiohttp.ClientSession,
    vendors: list[Vendor],
    concurrency: int,
    reply_to: Callable[[Vendor], str],
) -> Client:
    """A raw client that every vendor has accepted as a customer (its requests POSTed raw)."""
    identities = [Identity.generate() for _ in vendors]
    requests = [
        (
            vendor.inbox,
            compose(
                identity,
                type=RELATIONSHIP_REQUEST,
                to=vendor.did,
                body=RelationshipRequest(
                    reply_to=reply_to(vendor),
                    proffer=proffer(
                        TERMS,
                        identity,
                        person=identity.did,
                        vendor=vendor.did,
                        proffered_by="person",
                        now=int(time.time()),
                    ),
                ),
            )[1].encode(),
        )
        for vendor, identity in zip(vendors, identities, strict=True)
    ]
    _, statuses = await post_all(session, requests, concurrency)
    if any(status != 202 for status in statuses):
        raise RuntimeError(f"relationship requests answered {sorted(set(statuses))}")
    return Client(vendors, identities)


def presigned(client: Client, n: int) -> list[tuple[str, bytes]]:
    """One profile.update per vendor from the client's identity with it, ready to POST."""
    client.last_address = address(n)
    body = ProfileUpdate(
        grant=Grant(purpose=PURPOSE),
        fields=[
            FieldValue(
                path=PATH, version=n + 1, value=client.last_address, changed_time=int(time.time())
            )
        ],
    )
    return [
        (vendor.inbox, compose(identity, type=PROFILE_UPDATE, to=vendor.did, body=body)[1].encode())
        for vendor, identity in zip(client.vendors, client.identities, strict=True)
    ]


async def raw(
    session: aiohttp.ClientSession, messages: list[tuple[str, bytes]], concurrency: int
) -> float | None:
    """Seconds until the last 202; None when one was not accepted (a closed keep-alive)."""
    elapsed, statuses = await post_all(session, messages, concurrency)
    return elapsed if all(status == 202 for status in statuses) else None


async def interleaved_rounds(
    session: aiohttp.ClientSession,
    sides: dict[int, Side],
    clients: dict[int, Client],
    concurrency: int,
    rounds: int,
) -> tuple[dict[int, list[Timing]], dict[int, list[float]]]:
    """Each size's vrm fan-out and raw POSTs, interleaved round by round.

    Round 0 warms up (first values, connections, caches) and is not counted; a round
    in which a POST failed is reported and left out for that contender.
    """
    ours: dict[int, list[Timing]] = {size: [] for size in sides}
    theirs: dict[int, list[float]] = {size: [] for size in sides}
    for round_number in range(rounds + 1):
        for size, side in sides.items():
            messages = presigned(clients[size], round_number)
            timing = await fan_out(side, round_number)
            elapsed = await raw(session, messages, concurrency)
            if not round_number:
                continue
            if timing is None or elapsed is None:
                which = "vrm" if timing is None else "raw"
                print(f"({size} vendors, round {round_number}: a {which} POST failed)")
            if timing is not None:
                ours[size].append(timing)
            if elapsed is not None:
                theirs[size].append(elapsed)
    return ours, theirs
