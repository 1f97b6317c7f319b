"""The inbox over real HTTP: a ``vrm serve peer`` process, messages sent from this one."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PeerProcess, start_peer
from vrm.demo.peer import create_peer
from vrm.protocol import (
    PING,
    PING_RESPONSE,
    Identity,
    Ping,
    Verifier,
    compose,
    encrypt_for,
    new_envelope,
    sign_compact,
    sign_message,
    v1_types,
)
from vrm.protocol.encoding import b64url_decode, b64url_encode
from vrm.transport import AiohttpTransport, DeliveryError, Sender, fetch_discovery
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.serving import LocalServer

pytestmark = pytest.mark.anyio


def loopback_transport() -> AiohttpTransport:
    return AiohttpTransport(policy=AddressPolicy(allow_loopback=True), timeout=10)


async def post(url: str, content: bytes, content_type: str) -> tuple[int, str, dict[str, object]]:
    transport = loopback_transport()
    try:
        reply = await transport.request("POST", url, content=content, content_type=content_type)
    finally:
        await transport.aclose()
    return reply.status, reply.content_type, reply.json()


def signed(alice: Identity, to: str, **overrides: object) -> str:
    envelope = new_envelope(type=PING, sender=alice.did, to=to, body=Ping(response_requested=False))
    if overrides:
        envelope = envelope.model_validate({**envelope.model_dump(by_alias=True), **overrides})
    return sign_message(envelope, alice)


async def test_discovery_document(peer: PeerProcess) -> None:
    """A peer publishes its DID, an absolute inbox URL and the types it understands."""
    transport = loopback_transport()
    try:
        discovery = await fetch_discovery(transport, peer.url)
    finally:
        await transport.aclose()
    assert discovery.did == peer.did
    assert discovery.inbox == peer.inbox
    assert PING in discovery.message_types
    assert discovery.protocol_versions == ["1"]
    assert discovery.accepted_terms == []


async def test_signed_message_accepted(peer: PeerProcess, alice: Identity) -> None:
    """A well-formed signed message gets 202 with its id."""
    message = signed(alice, peer.did)
    status, _, body = await post(peer.inbox, message.encode(), "application/vrm+jws")
    assert status == 202
    assert body["status"] == "accepted"
    assert body["id"] == json.loads(b64url_decode(message.split(".")[1]))["id"]


async def test_encrypted_message_accepted(peer: PeerProcess, alice: Identity) -> None:
    """A message encrypted to the peer (JWE) is decrypted, verified and accepted."""
    status, _, _ = await post(
        peer.inbox, encrypt_for(peer.did, signed(alice, peer.did)).encode(), "application/vrm+jwe"
    )
    assert status == 202


def _forged(alice: Identity, to: str) -> str:
    header, _, signature = signed(alice, to).split(".")
    return f"{header}.{signed(alice, to).split('.')[1]}.{signature}"


def _impostor(alice: Identity, to: str) -> str:
    envelope = new_envelope(type=PING, sender=alice.did, to=to, body=Ping())
    return sign_compact(envelope.to_json(), Identity.generate())


def _legacy_hs256(alice: Identity, to: str) -> str:
    header = b64url_encode(json.dumps({"alg": "HS256", "kid": alice.kid}).encode())
    _, payload, signature = signed(alice, to).split(".")
    return f"{header}.{payload}.{signature}"


REFUSALS: list[tuple[str, Callable[[Identity, str], str], int]] = [
    ("bad_signature", _forged, 401),
    ("sender_mismatch", _impostor, 401),
    ("wrong_recipient", lambda a, to: signed(a, Identity.generate().did), 403),
    ("expired", lambda a, to: signed(a, to, created_time=1, expires_time=2), 401),
    (
        "created_in_future",
        lambda a, to: signed(
            a, to, created_time=int(time.time()) + 900, expires_time=int(time.time()) + 1900
        ),
        401,
    ),
    ("unknown_type", lambda a, to: signed(a, to, type="vrm/1/unheard-of"), 422),
    ("invalid_body", lambda a, to: signed(a, to, body={"comment": ["not", "text"]}), 422),
    ("malformed", lambda a, to: "not a message at all", 400),
    ("unsupported_algorithm", _legacy_hs256, 400),
    ("oversize", lambda a, to: signed(a, to, body={"comment": "x" * (300 * 1024)}), 413),
]


@pytest.mark.parametrize(("code", "make", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_refusals_are_problem_documents(
    peer: PeerProcess, alice: Identity, code: str, make: Callable[[Identity, str], str], status: int
) -> None:
    """Each refusal answers its status with an RFC 9457 problem naming its code."""
    got_status, content_type, problem = await post(
        peer.inbox, make(alice, peer.did).encode(), "application/vrm+jws"
    )
    assert (got_status, problem["code"]) == (status, code)
    assert content_type == "application/problem+json"
    assert problem["type"] == f"urn:vrm:problem:{code}"
    assert problem["status"] == status
    assert problem["detail"]


async def test_replay_refused_with_409(peer: PeerProcess, alice: Identity) -> None:
    """The same message posted twice is accepted once, then refused as a replay."""
    message = signed(alice, peer.did).encode()
    first, _, _ = await post(peer.inbox, message, "application/vrm+jws")
    second, _, problem = await post(peer.inbox, message, "application/vrm+jws")
    assert (first, second, problem["code"]) == (202, 409, "replay")


async def test_wrong_media_type_refused(peer: PeerProcess, alice: Identity) -> None:
    """A body that is not application/vrm+jws or +jwe is refused with 415."""
    status, _, problem = await post(peer.inbox, signed(alice, peer.did).encode(), "text/plain")
    assert (status, problem["code"]) == (415, "unsupported_media_type")


async def test_garbage_jwe_refused(peer: PeerProcess, alice: Identity) -> None:
    """An encrypted body that does not decrypt is refused, not accepted or crashed on."""
    jwe = encrypt_for(peer.did, signed(alice, peer.did))
    header, key, iv, ciphertext, tag = jwe.split(".")
    tampered = f"{header}.{key}.{iv}.{ciphertext[:-4]}AAAA.{tag}"
    status, _, problem = await post(peer.inbox, tampered.encode(), "application/vrm+jwe")
    assert (status, problem["code"]) == (400, "undecryptable")


def _read_status(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def test_one_mib_declared_body_refused_before_it_is_sent(peer: PeerProcess) -> None:
    """A request declaring 1 MiB gets 413 at once: the server never waits to read it."""
    host, port = peer.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/vrm+jws\r\n"
            b"Content-Length: 1048576\r\n\r\n"
        )
        assert _read_status(sock) == 413


def test_one_mib_streamed_body_refused_part_way(peer: PeerProcess) -> None:
    """A 1 MiB chunked upload is refused once the limit passes, long before its end."""
    host, port = peer.url.removeprefix("http://").split(":")
    chunk = b"A" * 65536
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/vrm+jws\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.settimeout(0.05)
        status = None
        while sent < 1024 * 1024 and status is None:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            try:
                status = _read_status(sock)
            except TimeoutError:
                continue
        if status is None:
            sock.settimeout(5)
            status = _read_status(sock)
    assert status == 413
    assert sent < 1024 * 1024, "the server read the whole upload before refusing it"


async def test_ping_answered_over_http_to_reply_to(
    peer: PeerProcess, alice: Identity, tmp_path: Path
) -> None:
    """A ping with reply_to gets a ping.response signed by the peer, in our own inbox."""
    me = create_peer(
        name="me", home=tmp_path, identity=alice, policy=AddressPolicy(allow_loopback=True)
    )
    async with LocalServer(me.app) as server:
        envelope, message = compose(
            alice, type=PING, to=peer.did, body=Ping(reply_to=f"{server.url}/inbox")
        )
        await me.sender.deliver(peer.inbox, message)
        answer = await me.log.wait_for(envelope.id, timeout=10)
    assert answer.type == PING_RESPONSE
    assert answer.sender == peer.did
    Verifier(receiver=alice.did, types=v1_types(), seen_ids=None).verify(answer.compact)


async def test_replay_refused_after_restart(tmp_path: Path, alice: Identity) -> None:
    """The seen-ids store is persistent: a replay is refused even after the peer restarts."""
    first = start_peer(tmp_path)
    message = signed(alice, first.did).encode()
    try:
        assert (await post(first.inbox, message, "application/vrm+jws"))[0] == 202
    finally:
        first.stop()
    second = start_peer(tmp_path)
    try:
        status, _, problem = await post(second.inbox, message, "application/vrm+jws")
    finally:
        second.stop()
    assert (status, problem["code"]) == (409, "replay")


async def test_refused_delivery_raises_with_code(peer: PeerProcess, alice: Identity) -> None:
    """The sender reports a refusal with the receiver's code, and says it is not retryable."""
    sender = Sender(loopback_transport())
    try:
        with pytest.raises(DeliveryError) as refused:
            await sender.deliver(peer.inbox, signed(alice, Identity.generate().did))
    finally:
        await sender.transport.aclose()
    assert (refused.value.status, refused.value.code, refused.value.retryable) == (
        403,
        "wrong_recipient",
        False,
    )


async def test_unreachable_inbox_is_retryable(alice: Identity) -> None:
    """A delivery to a port nobody listens on fails as retryable, not as a refusal."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = Sender(loopback_transport())
    try:
        with pytest.raises(DeliveryError) as failed:
            await sender.deliver(f"http://127.0.0.1:{port}/inbox", signed(alice, alice.did))
    finally:
        await sender.transport.aclose()
    assert failed.value.retryable
    assert failed.value.status is None


async def test_deliver_all_keeps_order_and_reports_each(peer: PeerProcess, alice: Identity) -> None:
    """A burst of deliveries reports one outcome per message, in order."""
    good = [(peer.inbox, signed(alice, peer.did)) for _ in range(40)]
    bad = (peer.inbox, signed(alice, Identity.generate().did))
    sender = Sender(loopback_transport())
    try:
        results = await sender.deliver_all([*good[:20], bad, *good[20:]], concurrency=8)
    finally:
        await sender.transport.aclose()
    assert [r.accepted for r in results] == [True] * 20 + [False] + [True] * 20
    assert results[20].error is not None
    assert results[20].error.code == "wrong_recipient"


async def test_replay_answer_counts_as_delivered(peer: PeerProcess, alice: Identity) -> None:
    """Sending the same message again (a retry after a lost answer) reports it as delivered."""
    sender = Sender(loopback_transport())
    message = signed(alice, peer.did)
    try:
        first = await sender.deliver(peer.inbox, message)
        again = await sender.deliver(peer.inbox, message)
    finally:
        await sender.transport.aclose()
    assert (first, again) == (True, False)


async def test_refused_address_is_not_retryable(alice: Identity) -> None:
    """A URL the address policy forbids fails at once and is not worth retrying."""
    sender = Sender(AiohttpTransport())
    try:
        with pytest.raises(DeliveryError) as refused:
            await sender.deliver("http://127.0.0.1:9/inbox", signed(alice, alice.did))
    finally:
        await sender.transport.aclose()
    assert refused.value.retryable is False


async def test_discovery_is_read_at_the_origin_root(peer: PeerProcess) -> None:
    """Given a URL with a path, discovery is still read from /.well-known/vrm (RFC 8615)."""
    transport = loopback_transport()
    try:
        discovery = await fetch_discovery(transport, f"{peer.url}/some/shop/page")
    finally:
        await transport.aclose()
    assert discovery.did == peer.did


async def test_method_not_allowed_problem_keeps_its_status(peer: PeerProcess) -> None:
    """GET on the inbox answers 405, and the problem document says 405 too."""
    transport = loopback_transport()
    try:
        reply = await transport.request("GET", peer.inbox)
    finally:
        await transport.aclose()
    assert reply.status == 405
    assert reply.json()["status"] == 405


def _raw_request(peer: PeerProcess, request: bytes) -> bytes:
    host, port = peer.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b'"code"' in answer and answer.rstrip().endswith(b"}"):
                break
    return answer


def test_deeply_nested_header_is_malformed_not_a_crash(peer: PeerProcess) -> None:
    """A protected header nested 100,000 deep is refused as malformed (400), not a 500."""
    header = b64url_encode(b"[" * 100_000)
    body = f"{header}.{b64url_encode(b'{}')}.{'A' * 86}".encode()
    answer = _raw_request(
        peer,
        b"POST /inbox HTTP/1.1\r\nHost: x\r\nContent-Type: application/vrm+jws\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body),
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert b'"code": "malformed"' in answer or b'"code":"malformed"' in answer


def test_unusable_host_header_is_a_client_error(peer: PeerProcess) -> None:
    """Discovery with a Host that makes no valid URL is a 400 problem, not a 500."""
    answer = _raw_request(
        peer,
        b"GET /.well-known/vrm HTTP/1.1\r\nHost: " + b"h" * 3000 + b"\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in answer


async def test_get_on_the_inbox_says_allow_post(peer: PeerProcess) -> None:
    """A 405 from the inbox names the allowed method, as HTTP requires."""
    answer = _raw_request(peer, b"GET /inbox HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 405")
    assert b"\r\nallow: post" in head


async def test_public_url_is_what_discovery_publishes(tmp_path: Path) -> None:
    """Behind a proxy, discovery names the configured public URL, whatever the Host header."""
    running = start_peer(tmp_path, "--public-url", "https://peer.example/")
    transport = loopback_transport()
    try:
        discovery = await fetch_discovery(transport, running.url)
    finally:
        await transport.aclose()
        running.stop()
    assert discovery.inbox == "https://peer.example/inbox"
