"""The inbox in-process: handler failures, media types, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vrm.protocol import PING, Identity, Message, Ping, Verifier, compose, v1_types
from vrm.transport import AsgiTransport, HttpReply, Inbox, create_party_app
from vrm.transport.seen_ids import SqliteSeenIds

pytestmark = pytest.mark.anyio


def build(tmp_path: Path, receiver: Identity, handled: list[Message], fail: list[bool]) -> Inbox:
    async def handler(message: Message) -> None:
        if fail and fail.pop(0):
            raise RuntimeError("the database is down")
        handled.append(message)

    verifier = Verifier(
        receiver=receiver.did, types=v1_types(), seen_ids=SqliteSeenIds(str(tmp_path / "seen.db"))
    )
    return Inbox(identity=receiver, verifier=verifier, handler=handler)


async def test_failed_handler_lets_the_retry_in(tmp_path: Path, alice: Identity) -> None:
    """When handling fails the sender gets 500, and the same message sent again is accepted."""
    bob = Identity.generate()
    handled: list[Message] = []
    inbox = build(tmp_path, bob, handled, fail=[True])
    client = AsgiTransport(create_party_app(inbox=inbox, name="Bob"))
    _, message = compose(alice, type=PING, to=bob.did, body=Ping())
    try:
        first = await client.request(
            "POST", "/inbox", content=message.encode(), content_type="application/vrm+jws"
        )
        second = await client.request(
            "POST", "/inbox", content=message.encode(), content_type="application/vrm+jws"
        )
    finally:
        await client.aclose()
    assert first.status == 500
    assert first.json()["code"] == "handler_failed"
    assert "database" not in first.body.decode(), "internal details must not leak to peers"
    assert second.status == 202
    assert [m.id for m in handled] == [second.json()["id"]]


async def test_media_type_parameters_are_ignored(tmp_path: Path, alice: Identity) -> None:
    """``application/vrm+jws; charset=ascii`` is still a signed message."""
    bob = Identity.generate()
    inbox = build(tmp_path, bob, [], fail=[])
    client = AsgiTransport(create_party_app(inbox=inbox, name="Bob"))
    _, message = compose(alice, type=PING, to=bob.did, body=Ping())
    try:
        reply = await client.request(
            "POST",
            "/inbox",
            content=message.encode(),
            content_type="application/vrm+jws; charset=ascii",
        )
    finally:
        await client.aclose()
    assert reply.status == 202


async def test_unknown_route_is_a_problem_document(tmp_path: Path) -> None:
    """Even a 404 is problem+json, never an HTML page or a traceback."""
    inbox = build(tmp_path, Identity.generate(), [], fail=[])
    client = AsgiTransport(create_party_app(inbox=inbox, name="Bob"))
    try:
        reply = await client.request("GET", "/nowhere")
    finally:
        await client.aclose()
    assert reply.status == 404
    assert reply.content_type == "application/problem+json"
    assert reply.json()["code"] == "not_found"


def test_inbox_refuses_a_verifier_for_someone_else(tmp_path: Path) -> None:
    """An inbox must verify that messages are addressed to its own identity."""
    verifier = Verifier(receiver=Identity.generate().did, types=v1_types(), seen_ids=None)

    async def handler(message: Message) -> None:
        return None

    with pytest.raises(ValueError, match="addressed to this identity"):
        Inbox(identity=Identity.generate(), verifier=verifier, handler=handler)


async def test_openapi_documents_the_inbox(tmp_path: Path) -> None:
    """The OpenAPI document lists the inbox with both message media types."""
    inbox = build(tmp_path, Identity.generate(), [], fail=[])
    client = AsgiTransport(create_party_app(inbox=inbox, name="Bob"))
    try:
        spec = (await client.request("GET", "/openapi.json")).json()
    finally:
        await client.aclose()
    content = spec["paths"]["/inbox"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/vrm+jws", "application/vrm+jwe"}
    assert "/.well-known/vrm" in spec["paths"]


@pytest.mark.services
async def test_inbox_on_a_postgresql_replay_store(postgres_url: str, alice: Identity) -> None:
    """With the PostgreSQL store (run off the event loop) replays are still refused."""
    from vrm.transport.seen_ids import open_seen_ids

    bob = Identity.generate()
    store = open_seen_ids(postgres_url)
    assert store.blocking

    async def handler(message: Message) -> None:
        return None

    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=store)
    client = AsgiTransport(
        create_party_app(inbox=Inbox(identity=bob, verifier=verifier, handler=handler), name="Bob")
    )
    _, message = compose(alice, type=PING, to=bob.did, body=Ping())
    try:
        statuses = [
            (
                await client.request(
                    "POST", "/inbox", content=message.encode(), content_type="application/vrm+jws"
                )
            ).status
            for _ in range(2)
        ]
    finally:
        await client.aclose()
        store.close()
    assert statuses == [202, 409]


async def test_duplicate_during_handling_is_in_progress_not_replay(
    tmp_path: Path, alice: Identity
) -> None:
    """A retry arriving while the first attempt is handled is told to retry, not 'replay'.

    If the first attempt then fails, the message is not lost: the next retry is handled.
    """
    bob = Identity.generate()
    started, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []
    attempts = 0

    async def slow_then_failing(message: Message) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            started.set()
            await release.wait()
            raise RuntimeError("the database went away")
        handled.append(message.id)

    verifier = Verifier(
        receiver=bob.did, types=v1_types(), seen_ids=SqliteSeenIds(str(tmp_path / "seen.db"))
    )
    inbox = Inbox(identity=bob, verifier=verifier, handler=slow_then_failing)
    client = AsgiTransport(create_party_app(inbox=inbox, name="Bob"))
    _, message = compose(alice, type=PING, to=bob.did, body=Ping())

    async def post() -> HttpReply:
        return await client.request(
            "POST", "/inbox", content=message.encode(), content_type="application/vrm+jws"
        )

    try:
        first = asyncio.create_task(post())
        await started.wait()
        duplicate = await post()
        release.set()
        failed = await first
        retried = await post()
        again = await post()
    finally:
        await client.aclose()
    assert (duplicate.status, duplicate.json()["code"]) == (503, "in_progress")
    assert failed.status == 500
    assert retried.status == 202
    assert (again.status, again.json()["code"]) == (409, "replay")
    assert handled == [retried.json()["id"]]


@pytest.mark.parametrize("length", ["\u00b2", "1" * 5000, "-1", "12a"])
async def test_unusable_content_length_is_a_client_error(
    tmp_path: Path, alice: Identity, length: str
) -> None:
    """A Content-Length that is not a plain decimal number is refused with 400, not a 500."""
    from vrm.transport import InboxEndpoint

    bob = Identity.generate()
    endpoint = InboxEndpoint(build(tmp_path, bob, [], fail=[]))
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(event: dict[str, object]) -> None:
        sent.append(event)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/inbox",
        "headers": [
            (b"content-type", b"application/vrm+jws"),
            (b"content-length", length.encode("latin-1", "replace")),
        ],
    }
    await endpoint(scope, receive, send)
    assert sent[0]["status"] == 400


async def test_in_progress_answer_carries_retry_after(tmp_path: Path, alice: Identity) -> None:
    """The sender learns from an in_progress refusal how long to wait (Retry-After)."""
    from vrm.transport import DeliveryError, Sender

    bob = Identity.generate()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(message: Message) -> None:
        started.set()
        await release.wait()

    verifier = Verifier(receiver=bob.did, types=v1_types(), seen_ids=None)
    client = AsgiTransport(
        create_party_app(inbox=Inbox(identity=bob, verifier=verifier, handler=slow), name="Bob")
    )
    sender = Sender(client)
    _, message = compose(alice, type=PING, to=bob.did, body=Ping())
    try:
        first = asyncio.create_task(sender.deliver("/inbox", message))
        await started.wait()
        with pytest.raises(DeliveryError) as busy:
            await sender.deliver("/inbox", message)
        release.set()
        assert await first is True
    finally:
        await client.aclose()
    assert (busy.value.code, busy.value.retryable, busy.value.retry_after) == (
        "in_progress",
        True,
        1.0,
    )
