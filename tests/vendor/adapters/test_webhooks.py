"""The webhook adapter's requests verify with the Standard Webhooks library, over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vrm.transport.serving import LocalServer
from vrm.vendor.adapters.base import AdapterError, ChangeKind, CustomerChange
from vrm.vendor.adapters.webhooks import WebhookAdapter

pytestmark = pytest.mark.anyio


def new_secret(size: int = 32) -> str:
    return "whsec_" + base64.b64encode(os.urandom(size)).decode()


def address_change(event_id: str = "evt_01") -> CustomerChange:
    return CustomerChange(
        event_id=event_id,
        kind=ChangeKind.UPDATED,
        customer="did:key:z6MkCustomer",
        occurred_at=1_600_000_000.25,
        fields={"address.home": {"street": "1 Rue de l'Église", "city": "Paris"}},
        versions={"address.home": 3},
        purpose="delivery",
    )


@dataclass
class Received:
    """One request as the receiver saw it."""

    body: bytes
    headers: dict[str, str]
    verified: bool


@dataclass
class Receiver:
    """A CRM's webhook endpoint: verifies and records each request, answers ``status``."""

    secret: str
    status: int = 204
    requests: list[Received] = field(default_factory=list)

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            headers = dict(request.headers)
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
            self.requests.append(Received(body, headers, verified))
            return Response(status_code=self.status if verified else 401)

        async def answer(request: Request) -> Response:
            return Response(status_code=int(request.path_params["status"]))

        async def moved(request: Request) -> Response:
            return Response(status_code=307, headers={"location": "/hook"})

        async def slow(request: Request) -> Response:
            await asyncio.sleep(1)
            return Response(status_code=204)

        async def huge(request: Request) -> Response:
            return Response(b"x" * (2 * 1024 * 1024), status_code=200)

        return Starlette(
            routes=[
                Route("/hook", hook, methods=["POST"]),
                Route("/status/{status:int}", answer, methods=["POST"]),
                Route("/moved", moved, methods=["POST"]),
                Route("/slow", slow, methods=["POST"]),
                Route("/huge", huge, methods=["POST"]),
            ]
        )


@asynccontextmanager
async def adapter_for(
    url: str, secret: str, *, timeout: float = 10.0
) -> AsyncIterator[WebhookAdapter]:
    adapter = WebhookAdapter(name="crm-webhook", url=url, secret=secret, timeout=timeout)
    try:
        yield adapter
    finally:
        await adapter.aclose()


@asynccontextmanager
async def posting_to(
    receiver: Receiver, path: str, *, secret: str | None = None, timeout: float = 10.0
) -> AsyncIterator[WebhookAdapter]:
    """An adapter sending to ``path`` on the receiver, served on 127.0.0.1 meanwhile."""
    async with (
        LocalServer(receiver.app()) as server,
        adapter_for(f"{server.url}{path}", secret or receiver.secret, timeout=timeout) as adapter,
    ):
        yield adapter


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(secret=new_secret())


async def test_webhook_verifies_with_the_standard_library(receiver: Receiver) -> None:
    """The receiver's standardwebhooks.Webhook(secret).verify accepts the request."""
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(address_change())
    [request] = receiver.requests
    assert request.verified
    assert request.headers["content-type"] == "application/json"


async def test_payload_carries_the_change(receiver: Receiver) -> None:
    """The body is {type, timestamp, data} with the whole change in data."""
    change = address_change()
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(change)
    [request] = receiver.requests
    payload = Webhook(receiver.secret).verify(request.body, request.headers)
    assert payload["type"] == "customer.updated"
    assert payload["timestamp"] == "2020-09-13T12:26:40.250000Z"
    assert payload["data"] == change.as_json()
    assert CustomerChange.from_json(payload["data"]) == change


async def test_timestamp_header_is_the_attempt_not_the_event(receiver: Receiver) -> None:
    """webhook-timestamp is when the request was sent, in whole seconds."""
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(address_change())
    sent_at = int(receiver.requests[0].headers["webhook-timestamp"])
    assert abs(sent_at - time.time()) < 30


async def test_tampered_body_or_wrong_secret_fails_verification(receiver: Receiver) -> None:
    """The signature covers the body and depends on the secret."""
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(address_change())
    [request] = receiver.requests
    tampered = request.body.replace(b'"Paris"', b'"Lyon"')
    assert tampered != request.body
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secret).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.body, request.headers)


async def test_receiver_with_another_secret_refuses(receiver: Receiver) -> None:
    """Signed with a secret the receiver does not hold: refused, and not worth retrying."""
    async with posting_to(receiver, "/hook", secret=new_secret()) as adapter:
        with pytest.raises(AdapterError, match="401") as refused:
            await adapter.deliver(address_change())
    assert receiver.requests[0].verified is False
    assert refused.value.retryable is False


async def test_retry_keeps_the_webhook_id(receiver: Receiver) -> None:
    """Two attempts at one change carry the same webhook-id: the event id."""
    change = address_change("evt_retried")
    async with posting_to(receiver, "/hook") as adapter:
        receiver.status = 503
        with pytest.raises(AdapterError):
            await adapter.deliver(change)
        receiver.status = 200
        await adapter.deliver(change)
    assert [r.headers["webhook-id"] for r in receiver.requests] == ["evt_retried"] * 2
    assert all(r.verified for r in receiver.requests)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (410, False)],
)
async def test_failure_status_says_whether_to_retry(
    receiver: Receiver, status: int, retryable: bool
) -> None:
    """5xx, 408 and 429 are worth retrying; other 4xx are not."""
    async with posting_to(receiver, f"/status/{status}") as adapter:
        with pytest.raises(AdapterError, match=str(status)) as failed:
            await adapter.deliver(address_change())
    assert failed.value.retryable is retryable


async def test_redirect_is_not_followed(receiver: Receiver) -> None:
    """A 3xx is a failure that needs a corrected URL, and the target gets nothing."""
    async with posting_to(receiver, "/moved") as adapter:
        with pytest.raises(AdapterError, match="307") as failed:
            await adapter.deliver(address_change())
    assert failed.value.retryable is False
    assert receiver.requests == []


async def test_receiver_down_is_retryable(receiver: Receiver) -> None:
    """Nothing listening on the port: a retryable failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with adapter_for(f"http://127.0.0.1:{port}/hook", receiver.secret) as adapter:
        with pytest.raises(AdapterError) as failed:
            await adapter.deliver(address_change())
    assert failed.value.retryable is True


async def test_slow_receiver_times_out_retryably(receiver: Receiver) -> None:
    """No answer within the timeout: a retryable failure."""
    async with posting_to(receiver, "/slow", timeout=0.2) as adapter:
        with pytest.raises(AdapterError, match="no answer") as failed:
            await adapter.deliver(address_change())
    assert failed.value.retryable is True


async def test_long_answer_is_not_read_whole(receiver: Receiver) -> None:
    """A 2xx with a long body is a delivery; the body is not needed."""
    async with posting_to(receiver, "/huge") as adapter:
        await adapter.deliver(address_change())


async def test_event_id_with_a_dot_is_refused(receiver: Receiver) -> None:
    """The id is part of the signed 'id.timestamp.body', so it may not contain a dot."""
    async with adapter_for("http://127.0.0.1:9/hook", receiver.secret) as adapter:
        with pytest.raises(AdapterError, match=r"'\.'") as refused:
            await adapter.deliver(address_change("evt.1"))
    assert refused.value.retryable is False


async def test_unpadded_secret_is_accepted(receiver: Receiver) -> None:
    """A secret whose base64 lacks its padding works (the library pads it too)."""
    receiver.secret = "whsec_" + base64.b64encode(os.urandom(32)).decode().rstrip("=")
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(address_change())
    assert receiver.requests[0].verified


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (base64.b64encode(b"k" * 32).decode(), "starts with"),
        ("whsec_not base64 at all!", "base64"),
        ("whsec_", "this one 0"),
        ("whsec_" + base64.b64encode(b"k" * 16).decode(), "this one 16"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "this one 65"),
    ],
)
def test_unusable_secret_is_refused(secret: str, reason: str) -> None:
    """A secret that is not whsec_ + base64 of 24 to 64 bytes: ValueError, secret not echoed."""
    with pytest.raises(ValueError, match=reason) as refused:
        WebhookAdapter(name="crm-webhook", url="https://crm.example/hook", secret=secret)
    if secret.removeprefix("whsec_"):
        assert secret.removeprefix("whsec_") not in str(refused.value)


@pytest.mark.parametrize("url", ["ftp://crm.example/hook", "crm.example/hook", "https:///hook"])
def test_url_must_be_http(url: str) -> None:
    """The receiver's URL is checked when the adapter is made."""
    with pytest.raises(ValueError, match="http"):
        WebhookAdapter(name="crm-webhook", url=url, secret=new_secret())


async def test_an_erased_customer_is_sent_as_customer_deleted(receiver: Receiver) -> None:
    """Erasure reaches the receiver as a signed event of type customer.deleted, no fields."""
    deleted = CustomerChange(
        event_id="evt_erased",
        kind=ChangeKind.DELETED,
        customer="did:key:z6MkCustomer",
        occurred_at=1_600_000_000.0,
    )
    async with posting_to(receiver, "/hook") as adapter:
        await adapter.deliver(deleted)
    [request] = receiver.requests
    payload = Webhook(receiver.secret).verify(request.body, request.headers)
    assert payload["type"] == "customer.deleted"
    assert payload["data"]["customer"] == "did:key:z6MkCustomer"
    assert payload["data"]["fields"] == {}
