"""Many small vendor inboxes in one process, for tests, demos and benchmarks.

Each vendor keeps, per customer DID, the newest version of every field it was
sent (an older update arriving late changes nothing), drops revoked fields, and
answers relationship requests by its policy (accept, refuse, or leave them
unanswered) and the terms proffered with them by its terms policy (accept them,
reject them, or answer with one alternative agreement). It is the least a vendor
must do to take part: it keeps nothing on disk and forwards nothing to a CRM.

Vendor ``i`` has its inbox at ``/v/i/inbox``; vendor 0 is also the party of the
origin (``/.well-known/vrm`` and ``/inbox``). ``GET /fleet`` lists the vendors
and ``GET /v/i/customers`` shows what one holds.

Run one: ``python -m vrm.demo.fleet --count 250 --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.routing import Route

from vrm.protocol import (
    AGREEMENT_ANSWER,
    PERSON_STATES,
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
    AgreementAnswer,
    AgreementProffer,
    Identity,
    MemorySeenIds,
    Message,
    PartyState,
    ProfileRevoke,
    ProfileUpdate,
    ProtocolError,
    RefusalCode,
    RelationshipRequest,
    RelationshipState,
    Verifier,
    compose,
    relationship_types,
)
from vrm.protocol.encoding import b64url_decode
from vrm.protocol.v1.intents import IntentMatch, IntentWithdraw, intent_types
from vrm.terms import AgreementInvalid, Proffer, Terms, accept, countersigned, library, proffer
from vrm.transport import AiohttpTransport, DeliveryError, Inbox, Sender, mount_party
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.app import install_problem_handlers
from vrm.transport.asgi import InboxEndpoint
from vrm.transport.serving import LocalServer, run_service

ACCEPT, REFUSE, MANUAL = "accept", "refuse", "manual"
SILENT = "silent"
"""Accept requests and the terms they proffer, but send no answers (benchmarks record
the acceptance on the agent's side themselves, so no answers cross the measurement)."""
REJECT = "reject"
ALTERNATIVE_PREFIX = "alternative="

log = logging.getLogger(__name__)


@dataclass
class Customer:
    """What a vendor holds on one customer (one pairwise DID)."""

    state: str = "requested"
    reply_to: str | None = None
    """The vendor's own side: requested, accepted or refused."""
    person_state: str = "wants"
    """The person's side, as they last announced it."""
    fields: dict[str, tuple[int, Any]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)
    agreement: Terms | None = None
    """The terms agreed with the customer, once both signed."""
    alternative: Proffer | None = None
    """The vendor's alternative, while the customer has not answered it."""

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "state": self.state,
            "person_state": self.person_state,
            "fields": {path: value for path, (_, value) in sorted(self.fields.items())},
            "versions": {path: version for path, (version, _) in sorted(self.fields.items())},
            "applied": self.applied,
            "agreement": None if self.agreement is None else self.agreement.ids(),
        }


@dataclass
class FleetVendor:
    """One vendor of the fleet."""

    index: int
    identity: Identity
    customers: dict[str, Customer] = field(default_factory=dict)
    matches: list[dict[str, Any]] = field(default_factory=list)
    """Intents an exchange matched to this vendor, as it sent them."""


def vendor_identity(base: bytes, index: int) -> Identity:
    """The identity of vendor ``index`` in a fleet made from ``base`` (reproducible)."""
    return Identity.from_seed(hashlib.sha256(base + index.to_bytes(4, "big")).digest())


class Fleet:
    """The vendors, their inboxes, and the policy they answer requests by."""

    def __init__(
        self,
        count: int,
        *,
        base: bytes = b"vrm fleet",
        policy: str = ACCEPT,
        terms: str = ACCEPT,
        address_policy: AddressPolicy | None = None,
        delay: float = 0.0,
    ) -> None:
        self.delay = delay
        self.terms = terms
        self.vendors = [FleetVendor(i, vendor_identity(base, i)) for i in range(count)]
        self.policy = policy
        self.sender = Sender(AiohttpTransport(policy=address_policy))
        self.seen_ids = MemorySeenIds()
        self.types = relationship_types()
        self.types.update(intent_types())
        self.inboxes = [self._inbox(vendor) for vendor in self.vendors]
        self._replies: set[asyncio.Task[None]] = set()

    def _inbox(self, vendor: FleetVendor) -> Inbox:
        verifier = Verifier(receiver=vendor.identity.did, types=self.types, seen_ids=self.seen_ids)

        async def handle(message: Message) -> None:
            if self.delay:
                await asyncio.sleep(self.delay)  # a slow CRM behind the inbox
            self.apply(vendor, message)

        return Inbox(identity=vendor.identity, verifier=verifier, handler=handle)

    def apply(self, vendor: FleetVendor, message: Message) -> None:
        """Apply one verified message to the vendor's records (idempotent by version)."""
        body = message.body
        if isinstance(body, IntentMatch):
            intent_id = json.loads(b64url_decode(body.intent.split(".")[1]))["id"]
            vendor.matches.append(
                {"exchange": message.sender, "intent_id": intent_id, **body.model_dump()}
            )
            return
        if isinstance(body, IntentWithdraw):  # only exchanges tell vendors of withdrawals
            for match in vendor.matches:
                if match["exchange"] == message.sender and match["intent_id"] == body.intent:
                    match["withdrawn"] = True
            return
        if isinstance(body, RelationshipState) and body.state not in PERSON_STATES:
            raise ProtocolError(
                RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
            )
        customer = vendor.customers.setdefault(message.sender, Customer())
        customer.applied.append(message.id)
        if message.type == RELATIONSHIP_REQUEST and isinstance(body, RelationshipRequest):
            customer.reply_to = body.reply_to
            if self.policy != MANUAL:
                state = PartyState.REFUSED if self.policy == REFUSE else PartyState.ACCEPTED
                customer.state = state.value
                answers: list[tuple[str, Any]] = [
                    (RELATIONSHIP_STATE, RelationshipState(state=state))
                ]
                if state == PartyState.ACCEPTED and body.proffer is not None:
                    answers.append(
                        (AGREEMENT_ANSWER, self._terms_answer(vendor, customer, body.proffer))
                    )
                if self.policy != SILENT:
                    self._later(self._answer(vendor, message, body.reply_to, answers))
        elif isinstance(body, AgreementProffer):
            answer = self._terms_answer(vendor, customer, body.proffer)
            self._later(
                self._answer(vendor, message, customer.reply_to, [(AGREEMENT_ANSWER, answer)])
            )
        elif isinstance(body, AgreementAnswer):
            self._alternative_answered(customer, body)
        elif message.type == RELATIONSHIP_STATE and isinstance(body, RelationshipState):
            if body.state not in PERSON_STATES:
                raise ProtocolError(
                    RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
                )
            customer.person_state = body.state.value
            if body.state == PartyState.ENDED:
                customer.fields.clear()  # ending withdraws every grant
        elif message.type == PROFILE_UPDATE and isinstance(body, ProfileUpdate):
            if customer.agreement is None:
                raise ProtocolError(RefusalCode.NO_AGREEMENT, "no agreement covers this data")
            for value in body.fields:
                held = customer.fields.get(value.path)
                if held is None or held[0] < value.version:
                    customer.fields[value.path] = (value.version, value.value)
        elif message.type == PROFILE_REVOKE and isinstance(body, ProfileRevoke):
            for path in body.fields:
                customer.fields.pop(path, None)

    def _later(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    def _terms_answer(
        self, vendor: FleetVendor, customer: Customer, offer: Proffer
    ) -> AgreementAnswer:
        """Answer proffered terms by the fleet's terms policy."""
        sha = offer.statement.terms_sha256
        if offer.statement.vendor != vendor.identity.did:
            raise ProtocolError(RefusalCode.INVALID_BODY, "the proffer names another vendor")
        if self.terms.startswith(ALTERNATIVE_PREFIX):
            alternative = Terms(
                agreement=library().agreement(self.terms.removeprefix(ALTERNATIVE_PREFIX)),
                additional=offer.terms.additional,
            )
            customer.alternative = proffer(
                alternative,
                vendor.identity,
                person=offer.statement.person,
                vendor=vendor.identity.did,
                proffered_by="vendor",
                now=int(time.time()),
            )
            return AgreementAnswer(
                terms_sha256=sha, answer="alternative", alternative=customer.alternative
            )
        if self.terms == REJECT:
            return AgreementAnswer(terms_sha256=sha, answer="rejected", reason="not these terms")
        try:
            agreement = accept(offer, vendor.identity, now=int(time.time()))
        except AgreementInvalid as exc:
            raise ProtocolError(RefusalCode.INVALID_BODY, str(exc)) from exc
        customer.agreement = agreement.terms
        return AgreementAnswer(
            terms_sha256=sha,
            answer="accepted",
            accepted_time=agreement.accepted_time,
            signature=agreement.signatures["vendor"],
        )

    def _alternative_answered(self, customer: Customer, body: AgreementAnswer) -> None:
        offer = customer.alternative
        if offer is None or offer.statement.terms_sha256 != body.terms_sha256:
            raise ProtocolError(RefusalCode.INVALID_BODY, "no alternative with this terms hash")
        customer.alternative = None
        if body.answer == "accepted" and body.signature and body.accepted_time is not None:
            try:
                agreed = countersigned(
                    offer, accepted_time=body.accepted_time, signature=body.signature
                )
            except AgreementInvalid as exc:
                raise ProtocolError(RefusalCode.INVALID_BODY, str(exc)) from exc
            customer.agreement = agreed.terms

    async def _answer(
        self,
        vendor: FleetVendor,
        request: Message,
        reply_to: str | None,
        answers: list[tuple[str, Any]],
    ) -> None:
        """Send the answers to ``request``, in order, retrying each a few times."""
        if reply_to is None:
            return
        for kind, body in answers:
            _, answer = compose(
                vendor.identity, type=kind, to=request.sender, body=body, thid=request.id
            )
            if not await self._deliver(reply_to, answer):
                log.warning("cannot answer %s", request.id)
                return

    async def _deliver(self, reply_to: str, answer: str) -> bool:
        for attempt in range(5):
            try:
                await self.sender.deliver(reply_to, answer)
                return True
            except DeliveryError as exc:
                if not exc.retryable:
                    return False
                await asyncio.sleep(0.2 * 2**attempt)
        return False

    async def aclose(self) -> None:
        """Finish sending answers and close connections."""
        if self._replies:
            await asyncio.wait(self._replies, timeout=5)
        await self.sender.transport.aclose()


class _FleetInbox:
    """Routes ``/v/{index}/inbox`` to vendor ``index``'s inbox without a route per vendor."""

    def __init__(self, fleet: Fleet) -> None:
        self.endpoints = [InboxEndpoint(inbox) for inbox in fleet.inboxes]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        index = scope["path_params"]["index"]
        if not 0 <= index < len(self.endpoints):
            raise HTTPException(404, f"no vendor {index}")
        await self.endpoints[index](scope, receive, send)


def create_fleet_app(fleet: Fleet) -> FastAPI:
    """The fleet's HTTP face."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await fleet.aclose()

    app = FastAPI(title="vrm vendor fleet", lifespan=lifespan, redirect_slashes=False)
    install_problem_handlers(app)
    mount_party(
        app,
        inbox=fleet.inboxes[0],
        name="fleet vendor 0",
        accepted_terms=[t.id for t in library().agreements],
    )
    app.router.routes.append(
        Route("/v/{index:int}/inbox", _FleetInbox(fleet), methods=["POST"], name="fleet_inbox")
    )

    @app.get("/fleet")
    async def vendors(request: Request) -> list[dict[str, Any]]:
        """Every vendor: its number, DID and inbox URL."""
        base = str(request.base_url).rstrip("/")
        return [
            {"index": v.index, "did": v.identity.did, "inbox": f"{base}/v/{v.index}/inbox"}
            for v in fleet.vendors
        ]

    @app.get("/fleet/summary")
    async def summary() -> list[dict[str, int]]:
        """Per vendor: customers, messages applied, and ids applied more than once."""
        rows = []
        for vendor in fleet.vendors:
            applied = [i for customer in vendor.customers.values() for i in customer.applied]
            rows.append(
                {
                    "index": vendor.index,
                    "customers": len(vendor.customers),
                    "applied": len(applied),
                    "applied_twice": len(applied) - len(set(applied)),
                }
            )
        return rows

    @app.get("/v/{index}/matches")
    async def matches(index: int) -> list[dict[str, Any]]:
        """The intents exchanges matched to vendor ``index``, oldest first."""
        if not 0 <= index < len(fleet.vendors):
            raise HTTPException(404, f"no vendor {index}")
        return fleet.vendors[index].matches

    @app.get("/v/{index}/customers")
    async def customers(index: int) -> dict[str, Any]:
        """What vendor ``index`` holds, by customer DID."""
        if not 0 <= index < len(fleet.vendors):
            raise HTTPException(404, f"no vendor {index}")
        held = fleet.vendors[index].customers
        return {did: customer.as_json() for did, customer in held.items()}

    return app


def main() -> None:
    """Serve a fleet; prints 'listening on URL' when ready."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--base", default="vrm fleet", help="seed text of the vendors' keys")
    parser.add_argument("--policy", choices=(ACCEPT, REFUSE, MANUAL, SILENT), default=ACCEPT)
    parser.add_argument(
        "--terms",
        default=ACCEPT,
        help="accept, reject, or alternative=AGREEMENT (e.g. alternative=SD-BASE-DP)",
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each message takes")
    args = parser.parse_args()

    async def serve() -> None:
        fleet = Fleet(
            args.count,
            base=args.base.encode(),
            policy=args.policy,
            terms=args.terms,
            address_policy=AddressPolicy(allow_loopback=True),
            delay=args.delay,
        )
        async with LocalServer(create_fleet_app(fleet), host=args.host, port=args.port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    run_service(serve())


if __name__ == "__main__":
    main()
