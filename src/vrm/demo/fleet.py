"""Many small vendor inboxes in one process, for tests, demos and benchmarks.

Each vendor keeps, per customer DID, the newest version of every field it was
sent (an older update arriving late changes nothing), drops revoked fields, and
answers relationship requests by its policy (accept, refuse, or leave them
unanswered). It is the least a vendor must do to take part: it keeps nothing on
disk and forwards nothing to a CRM.

Vendor ``i`` has its inbox at ``/v/i/inbox``; vendor 0 is also the party of the
origin (``/.well-known/vrm`` and ``/inbox``). ``GET /fleet`` lists the vendors
and ``GET /v/i/customers`` shows what one holds.

Run one: ``python -m vrm.demo.fleet --count 250 --port 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from starlette.routing import Route

from vrm.protocol import (
    PERSON_STATES,
    PROFILE_REVOKE,
    PROFILE_UPDATE,
    RELATIONSHIP_REQUEST,
    RELATIONSHIP_STATE,
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
from vrm.transport import AiohttpTransport, DeliveryError, Inbox, Sender, mount_party
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.app import install_problem_handlers
from vrm.transport.asgi import InboxEndpoint
from vrm.transport.serving import LocalServer, run_service

ACCEPT, REFUSE, MANUAL = "accept", "refuse", "manual"

log = logging.getLogger(__name__)


@dataclass
class Customer:
    """What a vendor holds on one customer (one pairwise DID)."""

    state: str = "requested"
    """The vendor's own side: requested, accepted or refused."""
    person_state: str = "wants"
    """The person's side, as they last announced it."""
    fields: dict[str, tuple[int, Any]] = field(default_factory=dict)
    applied: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "state": self.state,
            "person_state": self.person_state,
            "fields": {path: value for path, (_, value) in sorted(self.fields.items())},
            "versions": {path: version for path, (version, _) in sorted(self.fields.items())},
            "applied": self.applied,
        }


@dataclass
class FleetVendor:
    """One vendor of the fleet."""

    index: int
    identity: Identity
    customers: dict[str, Customer] = field(default_factory=dict)


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
        address_policy: AddressPolicy | None = None,
        delay: float = 0.0,
    ) -> None:
        self.delay = delay
        self.vendors = [FleetVendor(i, vendor_identity(base, i)) for i in range(count)]
        self.policy = policy
        self.sender = Sender(AiohttpTransport(policy=address_policy))
        self.seen_ids = MemorySeenIds()
        self.types = relationship_types()
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
        if isinstance(body, RelationshipState) and body.state not in PERSON_STATES:
            raise ProtocolError(
                RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
            )
        customer = vendor.customers.setdefault(message.sender, Customer())
        customer.applied.append(message.id)
        if message.type == RELATIONSHIP_REQUEST and isinstance(body, RelationshipRequest):
            if self.policy != MANUAL:
                state = PartyState.ACCEPTED if self.policy == ACCEPT else PartyState.REFUSED
                customer.state = state.value
                self._later(self._answer(vendor, message, body.reply_to, state))
        elif message.type == RELATIONSHIP_STATE and isinstance(body, RelationshipState):
            if body.state not in PERSON_STATES:
                raise ProtocolError(
                    RefusalCode.INVALID_BODY, "a person's state is wants, paused or ended"
                )
            customer.person_state = body.state.value
            if body.state == PartyState.ENDED:
                customer.fields.clear()  # ending withdraws every grant
        elif message.type == PROFILE_UPDATE and isinstance(body, ProfileUpdate):
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

    async def _answer(
        self, vendor: FleetVendor, request: Message, reply_to: str, state: PartyState
    ) -> None:
        _, answer = compose(
            vendor.identity,
            type=RELATIONSHIP_STATE,
            to=request.sender,
            body=RelationshipState(state=state),
            thid=request.id,
        )
        for attempt in range(5):
            try:
                await self.sender.deliver(reply_to, answer)
                return
            except DeliveryError as exc:
                if not exc.retryable:
                    log.warning("cannot answer %s: %s", request.id, exc)
                    return
                await asyncio.sleep(0.2 * 2**attempt)

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
    mount_party(app, inbox=fleet.inboxes[0], name="fleet vendor 0", accepted_terms=[])
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
    parser.add_argument("--policy", choices=(ACCEPT, REFUSE, MANUAL), default=ACCEPT)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each message takes")
    args = parser.parse_args()

    async def serve() -> None:
        fleet = Fleet(
            args.count,
            base=args.base.encode(),
            policy=args.policy,
            address_policy=AddressPolicy(allow_loopback=True),
            delay=args.delay,
        )
        async with LocalServer(create_fleet_app(fleet), host=args.host, port=args.port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    run_service(serve())


if __name__ == "__main__":
    main()
