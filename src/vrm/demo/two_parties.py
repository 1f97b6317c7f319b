"""The demo story: Alice and Bob, two processes, exchanging signed messages over HTTP.

Alice runs inside the calling process; Bob is a separate ``vrm serve peer``
process. Alice discovers Bob, pings him (signed, then encrypted), gets his signed
answers back in her own inbox, then shows each way a message is refused, and
finally sends a burst to measure delivery throughput. Every step is reported
through a callback so a CLI (or a test) can show it as it happens.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vrm.demo.child import Child
from vrm.demo.peer import Peer, create_peer
from vrm.protocol import (
    PING,
    Identity,
    Ping,
    compose,
    encrypt_for,
    new_envelope,
    sign_compact,
    sign_message,
)
from vrm.transport import (
    JWE_MEDIA_TYPE,
    JWS_MEDIA_TYPE,
    Sender,
    TransportError,
    fetch_discovery,
)
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.inbox import ACCEPTED
from vrm.transport.serving import LocalServer

ANSWER_TIMEOUT = 10.0


@dataclass(frozen=True)
class Step:
    """One thing the demo did, what should happen, and what did."""

    title: str
    expected: str
    outcome: str
    millis: float

    @property
    def as_expected(self) -> bool:
        """True when the outcome is the expected one."""
        return self.outcome == self.expected


@dataclass
class DemoReport:
    """Everything the demo did."""

    alice_did: str = ""
    alice_url: str = ""
    bob_did: str = ""
    bob_url: str = ""
    steps: list[Step] = field(default_factory=list)
    burst_count: int = 0
    burst_seconds: float = 0.0

    @property
    def all_as_expected(self) -> bool:
        """True when every step turned out as expected."""
        return all(step.as_expected for step in self.steps)


@contextlib.asynccontextmanager
async def alice_and_bob(home: Path) -> AsyncIterator[tuple[Peer, str, Child, str]]:
    """Start Alice (in this process) and Bob (a child process); yield both and their URLs."""
    command = [sys.executable, "-m", "vrm", "serve", "peer", "--name", "Bob", "--port", "0"]
    command += ["--home", str(home / "bob"), "--allow-loopback"]
    async with Child(command, ready="listening on ") as bob:
        alice = create_peer(
            name="Alice", home=home / "alice", policy=AddressPolicy(allow_loopback=True)
        )
        try:
            async with LocalServer(alice.app) as alice_server:
                yield alice, alice_server.url, bob, bob.url
        finally:
            await alice.aclose()


async def run_demo(
    home: Path,
    *,
    on_step: Callable[[Step], None] = lambda step: None,
    burst: int = 1000,
    keep: Callable[[DemoReport], Any] | None = None,
) -> DemoReport:
    """Run the whole story with state under ``home``; return the report.

    ``keep``, when given, is awaited with the report while both parties still
    run (the CLI's ``--keep`` waits there until interrupted).
    """
    report = DemoReport()

    def record(step: Step) -> None:
        report.steps.append(step)
        on_step(step)

    async with alice_and_bob(home) as (alice, alice_url, _, bob_url):
        report.alice_did, report.alice_url, report.bob_url = alice.identity.did, alice_url, bob_url
        script = _Script(alice, alice_url, bob_url, record)
        report.bob_did = await script.discover()
        await script.conversation()
        await script.refusals()
        report.burst_count, report.burst_seconds = await script.burst(burst)
        if keep is not None:
            await keep(report)
    return report


class _Script:
    """The steps of the story, each recorded as a :class:`Step`."""

    def __init__(
        self, alice: Peer, alice_url: str, bob_url: str, record: Callable[[Step], None]
    ) -> None:
        self.alice = alice
        self.reply_to = f"{alice_url}/inbox"
        self.bob_url = bob_url
        self.record = record
        self.sender: Sender = alice.sender
        self.bob_did = ""
        self.inbox = ""
        self.first_ping = ""

    async def discover(self) -> str:
        started = time.perf_counter()
        discovery = await fetch_discovery(self.sender.transport, self.bob_url)
        self.bob_did, self.inbox = discovery.did, discovery.inbox
        self.record(
            Step(
                "Alice discovers Bob at /.well-known/vrm",
                "found",
                "found",
                _ms(started),
            )
        )
        return discovery.did

    async def conversation(self) -> None:
        for encrypted in (False, True):
            started = time.perf_counter()
            ping = Ping(comment="hello Bob", reply_to=self.reply_to)
            envelope, signed = compose(self.alice.identity, type=PING, to=self.bob_did, body=ping)
            message = encrypt_for(self.bob_did, signed) if encrypted else signed
            outcome = await self._post(message, encrypted=encrypted)
            if outcome == "202 accepted":
                try:
                    await self.alice.log.wait_for(envelope.id, ANSWER_TIMEOUT)
                    outcome = "answered"
                except TimeoutError:
                    outcome = "no answer"
            kind = "Encrypted ping (JWE)" if encrypted else "Signed ping (JWS)"
            self.record(
                Step(
                    f"{kind}, answered by Bob",
                    "answered",
                    outcome,
                    _ms(started),
                )
            )
            if not encrypted:
                self.first_ping = signed

    async def refusals(self) -> None:
        alice = self.alice.identity
        mallory, carol = Identity.generate(), Identity.generate()
        now = time.time()
        header, _, signature = self.first_ping.split(".")
        _, other = compose(alice, type=PING, to=self.bob_did, body=Ping(comment="a different one"))
        tampered = f"{header}.{other.split('.')[1]}.{signature}"
        impostor = sign_compact(
            new_envelope(type=PING, sender=alice.did, to=self.bob_did, body=Ping()).to_json(),
            mallory,
        )
        cases = [
            ("The same ping sent again (replay)", self.first_ping, "409 replay"),
            ("A ping with its body swapped (forgery)", tampered, "401 bad_signature"),
            ("Mallory signs a ping as Alice", impostor, "401 sender_mismatch"),
            ("A ping addressed to Carol", self._ping(to=carol.did), "403 wrong_recipient"),
            ("A ping that expired an hour ago", self._ping(now=now - 7200), "401 expired"),
            (
                "A ping created ten minutes in the future",
                self._ping(now=now + 600),
                "401 created_in_future",
            ),
            (
                "A message of a type Bob does not know",
                self._ping(type="vrm/1/nonsense"),
                "422 unknown_type",
            ),
            (
                "A ping whose body breaks its schema",
                self._ping(body={"comment": 42}),
                "422 invalid_body",
            ),
            ("A 300 KiB message", self._ping(body={"comment": "x" * 300_000}), "413 oversize"),
        ]
        for title, message, expected in cases:
            started = time.perf_counter()
            outcome = await self._post(message)
            self.record(Step(title, expected, outcome, _ms(started)))
        started = time.perf_counter()
        reply = await self.sender.transport.request(
            "POST", self.inbox, content=b"hello", content_type="text/plain"
        )
        outcome = f"{reply.status} {reply.json().get('code')}"
        self.record(
            Step(
                "Plain text posted to the inbox",
                "415 unsupported_media_type",
                outcome,
                _ms(started),
            )
        )

    async def burst(self, count: int) -> tuple[int, float]:
        messages = [
            (self.inbox, self._ping(body=Ping(comment=f"burst {n}", response_requested=False)))
            for n in range(count)
        ]
        started = time.perf_counter()
        results = await self.sender.deliver_all(messages, concurrency=64)
        seconds = time.perf_counter() - started
        accepted = sum(result.accepted for result in results)
        self.record(
            Step(
                f"{count} signed pings, 64 in flight",
                f"{count} accepted",
                f"{accepted} accepted",
                seconds * 1000,
            )
        )
        return accepted, seconds

    def _ping(
        self,
        *,
        to: str | None = None,
        now: float | None = None,
        type: str = PING,
        body: Ping | dict[str, Any] | None = None,
    ) -> str:
        envelope = new_envelope(
            type=type, sender=self.alice.identity.did, to=to or self.bob_did, body=Ping(), now=now
        )
        if body is not None:
            payload = body.model_dump(mode="json") if isinstance(body, Ping) else body
            envelope = envelope.model_copy(update={"body": payload})
        return sign_message(envelope, self.alice.identity)

    async def _post(self, message: str, *, encrypted: bool = False) -> str:
        """POST as is and report the raw answer (the Sender would hide a 409 replay)."""
        media_type = JWE_MEDIA_TYPE if encrypted else JWS_MEDIA_TYPE
        try:
            reply = await self.sender.transport.request(
                "POST", self.inbox, content=message.encode("ascii"), content_type=media_type
            )
        except TransportError as exc:
            return f"unreachable: {exc}"
        if reply.status == ACCEPTED:
            return "202 accepted"
        return f"{reply.status} {reply.json().get('code')}"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
