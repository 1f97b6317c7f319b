"""The HTTP clients read whole answers, within limits, and fail only as TransportError."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from vrm.transport import AiohttpTransport, AsgiTransport, TransportError
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.client import parse_retry_after
from vrm.transport.serving import LocalServer

pytestmark = pytest.mark.anyio


def slow_app() -> FastAPI:
    app = FastAPI()

    @app.get("/pieces")
    async def pieces() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b'{"text": "' + b"a" * 1000
            await asyncio.sleep(0.2)
            yield b"b" * 19000 + b'"}'

        return StreamingResponse(body(), media_type="application/json")

    @app.get("/huge")
    async def huge() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b"x" * 65536

        return StreamingResponse(body(), media_type="application/octet-stream")

    @app.get("/never")
    async def never() -> None:
        await asyncio.sleep(30)

    return app


async def test_answer_arriving_in_pieces_is_read_whole() -> None:
    """A reply sent in two pieces with a pause between them is read completely."""
    async with LocalServer(slow_app()) as server:
        transport = AiohttpTransport(policy=AddressPolicy(allow_loopback=True))
        try:
            reply = await transport.request("GET", f"{server.url}/pieces")
        finally:
            await transport.aclose()
    assert len(reply.json()["text"]) == 20000


async def test_oversize_answer_is_refused() -> None:
    """A reply longer than the limit is a non-retryable TransportError, not a truncation."""
    async with LocalServer(slow_app()) as server:
        transport = AiohttpTransport(
            policy=AddressPolicy(allow_loopback=True), max_response_bytes=1024 * 1024
        )
        try:
            with pytest.raises(TransportError, match="over") as refused:
                await transport.request("GET", f"{server.url}/huge")
        finally:
            await transport.aclose()
    assert refused.value.retryable is False


async def test_in_process_transport_has_the_same_limits() -> None:
    """The in-process transport also enforces its timeout and size limit."""
    transport = AsgiTransport(slow_app(), timeout=0.5, max_response_bytes=1024)
    try:
        with pytest.raises(TransportError, match="no answer"):
            await transport.request("GET", "/never")
        with pytest.raises(TransportError, match="over"):
            await transport.request("GET", "/huge")
    finally:
        await transport.aclose()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_in_both_forms(value: str | None, seconds: float | None) -> None:
    """Retry-After is understood as delay-seconds or as an HTTP-date; nonsense is ignored."""
    now = 1445412420.0  # Wed, 21 Oct 2015 07:27:00 GMT
    assert parse_retry_after(value, now=now) == seconds
