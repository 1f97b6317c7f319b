"""Vendors in the same process for the agent's tests, and the network between them.

Each vendor is a one-vendor :class:`~vrm.demo.fleet.Fleet` behind its own
discovery document, reached by host name (``https://<host>/``) through
:class:`VendorNetwork`, which the agent uses both to discover vendors and to
deliver its outbox. The network can be told to fail: answer with a refusal, drop
the connection, or lose the answer after the vendor took the message.

Vendors answer nothing by themselves; a test makes a vendor answer with
:func:`from_vendor` / :func:`answer`, which verify the message as the agent's inbox
does and hand it to :meth:`PersonalAgent.receive`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel
from sqlalchemy import Engine

from vrm.agent.api.app import agent_types
from vrm.agent.outbox.worker import DeliveryWorker
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.relationships.service import Relationship
from vrm.demo.fleet import MANUAL, Customer, Fleet, FleetVendor
from vrm.protocol import (
    AGREEMENT_ANSWER,
    RELATIONSHIP_STATE,
    AgreementAnswer,
    Identity,
    Message,
    PartyState,
    RelationshipState,
    Verifier,
    compose,
)
from vrm.terms import Proffer, Terms, accept, proffer
from vrm.transport import (
    PROBLEM_CONTENT_TYPE,
    AsgiTransport,
    HttpReply,
    Sender,
    TransportError,
    create_party_app,
)
from vrm.transport.backoff import Backoff


class Clock:
    """The current time as the test sets it; starts at the real time (vendors check it)."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.now).date()


class _RecordingFleet(Fleet):
    """A one-vendor fleet that also keeps every message its inbox accepted."""

    def __init__(self, name: str) -> None:
        super().__init__(1, base=name.encode(), policy=MANUAL)
        self.received: list[Message] = []

    def apply(self, vendor: FleetVendor, message: Message) -> None:
        self.received.append(message)
        super().apply(vendor, message)


@dataclass
class Vendor:
    """One vendor: its name, host, identity, and what its inbox accepted."""

    name: str
    host: str
    fleet: _RecordingFleet
    transport: AsgiTransport

    @property
    def identity(self) -> Identity:
        return self.fleet.vendors[0].identity

    @property
    def did(self) -> str:
        return self.identity.did

    @property
    def url(self) -> str:
        return f"https://{self.host}/"

    @property
    def inbox(self) -> str:
        return f"https://{self.host}/inbox"

    def received(self, of_type: str | None = None) -> list[Message]:
        """The messages the vendor accepted, oldest first (optionally of one type)."""
        return [m for m in self.fleet.received if of_type is None or m.type == of_type]

    def customer(self, our_did: str) -> Customer:
        """What the vendor holds on the customer with this DID."""
        return self.fleet.vendors[0].customers[our_did]

    def holds(self, our_did: str) -> dict[str, Any]:
        """The field values the vendor holds on this customer."""
        return self.customer(our_did).as_json()["fields"]


LOSE_ANSWER = "lose the answer"
"""Scripted: the vendor takes the message, but its answer never comes back."""

Scripted = HttpReply | TransportError | str


@dataclass
class VendorNetwork:
    """Routes requests to vendors by host; failures can be scripted per host."""

    vendors: dict[str, Vendor] = field(default_factory=dict)
    scripts: dict[str, list[Scripted]] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)

    def add(self, name: str, host: str | None = None) -> Vendor:
        """A new vendor called ``name`` at ``host`` (made from the name by default)."""
        host = host or name.lower().replace(" ", "-") + ".example"
        fleet = _RecordingFleet(f"{name}@{host}")
        app = create_party_app(inbox=fleet.inboxes[0], name=name)
        vendor = Vendor(name, host, fleet, AsgiTransport(app, base_url=f"https://{host}"))
        self.vendors[host] = vendor
        return vendor

    def script(self, vendor: Vendor, *answers: Scripted) -> None:
        """The next requests to ``vendor`` get these answers instead of the vendor's own."""
        self.scripts.setdefault(vendor.host, []).extend(answers)

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> HttpReply:
        host = urlsplit(url).hostname or ""
        vendor = self.vendors.get(host)
        if vendor is None or host in self.down:
            raise TransportError(f"{method} {url}: connection refused")
        scripted = self.scripts.get(host)
        answer = scripted.pop(0) if scripted else None
        if isinstance(answer, HttpReply):
            return answer
        if isinstance(answer, TransportError):
            raise answer
        reply = await vendor.transport.request(
            method, url, content=content, content_type=content_type
        )
        if answer == LOSE_ANSWER:
            raise TransportError(f"{method} {url}: connection reset before the answer")
        return reply

    async def aclose(self) -> None:
        for vendor in self.vendors.values():
            await vendor.transport.aclose()
            await vendor.fleet.aclose()


def refusal(status: int, code: str, *, retry_after: float | None = None) -> HttpReply:
    """A vendor's problem+json answer."""
    body = json.dumps({"type": f"urn:vrm:problem:{code}", "code": code, "detail": code})
    return HttpReply(status, PROBLEM_CONTENT_TYPE, body.encode(), retry_after)


def make_worker(
    agent: PersonalAgent, network: VendorNetwork, clock: Callable[[], float]
) -> DeliveryWorker:
    """A delivery worker over ``network``: backoff without jitter (1, 2, 4 … s, at most 60)."""
    return DeliveryWorker(
        agent.engine,
        agent.sealer,
        Sender(network),
        backoff=Backoff(base=1.0, factor=2.0, cap=60.0, random=lambda: 1.0),
        clock=clock,
    )


async def deliver(worker: DeliveryWorker) -> int:
    """Run delivery rounds until nothing is due now; return how many attempts were made."""
    attempts = 0
    for _ in range(100):
        tried = await worker.run_once()
        if not tried:
            return attempts
        attempts += tried
    raise AssertionError("the outbox never settled")


def from_vendor(
    agent: PersonalAgent,
    sender: Identity,
    to: str,
    body: BaseModel,
    *,
    type: str,
    clock: Callable[[], float],
    thid: str | None = None,
) -> Message:
    """A message ``sender`` signed to the person's ``to``, verified as the agent's inbox does."""
    _, token = compose(sender, type=type, to=to, body=body, thid=thid, now=clock())
    verifier = Verifier(receiver=agent.is_ours, types=agent_types(), seen_ids=None, clock=clock)
    return verifier.verify(token)


def answer(
    agent: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    state: PartyState,
    *,
    clock: Callable[[], float],
) -> Relationship:
    """The vendor answers the relationship request with ``state``; return the relationship."""
    message = from_vendor(
        agent,
        vendor.identity,
        relationship.our_did,
        RelationshipState(state=state),
        type=RELATIONSHIP_STATE,
        clock=clock,
        thid=relationship.request_id,
    )
    agent.receive(message)
    if state == PartyState.ACCEPTED:
        agree(agent, vendor, relationship, clock=clock)
    return agent.vendor(str(relationship.id))


def agree(
    agent: PersonalAgent, vendor: Vendor, relationship: Relationship, *, clock: Callable[[], float]
) -> None:
    """The vendor accepts the terms the person proffered last: both now hold the agreement."""
    proffered = [a for a in agent.agreements(str(relationship.id)) if a.state == "proffered"]
    if not proffered:
        return  # agreed already
    offer = proffered[-1].document
    assert isinstance(offer, Proffer)
    agreement = accept(offer, vendor.identity, now=int(clock()))
    vendor.fleet.vendors[0].customers.setdefault(
        relationship.our_did, Customer()
    ).agreement = agreement.terms
    message = from_vendor(
        agent,
        vendor.identity,
        relationship.our_did,
        AgreementAnswer(
            terms_sha256=agreement.statement.terms_sha256,
            answer="accepted",
            accepted_time=agreement.accepted_time,
            signature=agreement.signatures["vendor"],
        ),
        type=AGREEMENT_ANSWER,
        clock=clock,
        thid=proffered[-1].message_id,
    )
    agent.receive(message)


def files_on_disk(engine: Engine, folder: Path) -> bytes:
    """Every byte of the database files, read before and after a WAL checkpoint."""
    before = b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    after = b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())
    return before + after


def in_clear(secret: str, stored: bytes) -> bool:
    """True when ``secret`` is in ``stored`` as UTF-8 or UTF-16 text."""
    return secret.encode() in stored or secret.encode("utf-16-le") in stored


async def connect(
    agent: PersonalAgent,
    network: VendorNetwork,
    name: str,
    *,
    clock: Callable[[], float],
    state: PartyState | None = PartyState.ACCEPTED,
) -> tuple[Vendor, Relationship]:
    """Add a new vendor called ``name``; it answers with ``state`` (None: not yet)."""
    vendor = network.add(name)
    relationship = await agent.add_vendor(vendor.url, transport=network)
    if state is not None:
        relationship = answer(agent, vendor, relationship, state, clock=clock)
    return vendor, relationship


def terms_answer(
    agent: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    body: AgreementAnswer,
    *,
    clock: Callable[[], float],
    sender: Identity | None = None,
) -> Message:
    """The vendor's ``agreement.answer`` to the person's newest proffer, as the inbox takes it.

    The message is returned, not applied: the test hands it to :meth:`PersonalAgent.receive`.
    ``sender`` signs in the vendor's place (to play another party).
    """
    proffered = [a for a in agent.agreements(str(relationship.id)) if a.proffered_by == "person"]
    return from_vendor(
        agent,
        sender or vendor.identity,
        relationship.our_did,
        body,
        type=AGREEMENT_ANSWER,
        clock=clock,
        thid=proffered[-1].message_id if proffered else None,
    )


def offer_alternative(
    agent: PersonalAgent,
    vendor: Vendor,
    relationship: Relationship,
    terms: Terms,
    *,
    clock: Callable[[], float],
) -> tuple[Message, Proffer]:
    """The vendor answers the person's newest proffer with its own signed ``terms`` instead.

    The vendor remembers its alternative, as a fleet vendor does, so that it takes the
    person's answer when that is delivered. Returns the message (not applied yet) and
    the alternative.
    """
    proffered = [a for a in agent.agreements(str(relationship.id)) if a.proffered_by == "person"]
    alternative = proffer(
        terms,
        vendor.identity,
        person=relationship.our_did,
        vendor=vendor.did,
        proffered_by="vendor",
        now=int(clock()),
    )
    vendor.fleet.vendors[0].customers.setdefault(
        relationship.our_did, Customer()
    ).alternative = alternative
    body = AgreementAnswer(
        terms_sha256=proffered[-1].terms_sha256, answer="alternative", alternative=alternative
    )
    return terms_answer(agent, vendor, relationship, body, clock=clock), alternative
