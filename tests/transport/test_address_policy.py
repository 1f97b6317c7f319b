"""Outgoing calls cannot be steered at loopback or private addresses unless allowed."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from vrm.transport import AiohttpTransport, TransportError
from vrm.transport.address_policy import AddressPolicy, AddressRefused, GuardedResolver

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/inbox",
        "http://[::1]:9/inbox",
        "http://localhost:9/",
        "http://10.1.2.3/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://100.100.100.200/latest/meta-data",
        "http://100.64.0.1/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://255.255.255.255/",
        "http://[ff02::1]/",
        "http://[fd00::1]/",
        "ftp://example.org/",
        "http://[::1/inbox",
        "http://[not-an-ip]/x",
        "file:///etc/passwd",
    ],
)
def test_default_policy_refuses(url: str) -> None:
    """By default no loopback, private, link-local, unspecified or non-HTTP URL is called."""
    with pytest.raises(AddressRefused):
        AddressPolicy().check_url(url)


def test_public_address_allowed() -> None:
    """A public address passes the default policy."""
    AddressPolicy().check_url("https://93.184.216.34/inbox")


def test_loopback_allowed_only_when_configured() -> None:
    """allow_loopback opens 127.0.0.1 but not the private network."""
    policy = AddressPolicy(allow_loopback=True)
    policy.check_url("http://127.0.0.1:8000/")
    with pytest.raises(AddressRefused):
        policy.check_url("http://10.0.0.1/")


class FixedResolver(AbstractResolver):
    """Stands in for DNS (there is no internet here): every name resolves to one address."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host, host=self.address, port=port, family=family, proto=0, flags=0
            )
        ]

    async def close(self) -> None:
        return None


async def test_name_resolving_to_loopback_is_refused_at_connect() -> None:
    """A public-looking name that resolves to 127.0.0.1 (DNS rebinding) is refused."""
    resolver = GuardedResolver(AddressPolicy(), FixedResolver("127.0.0.1"))
    with pytest.raises(AddressRefused):
        await resolver.resolve("vendor.example", 80)


async def test_name_resolving_to_public_address_passes() -> None:
    """The guarded resolver hands back public addresses untouched."""
    resolver = GuardedResolver(AddressPolicy(), FixedResolver("93.184.216.34"))
    results = await resolver.resolve("vendor.example", 443)
    assert ipaddress.ip_address(results[0]["host"]) == ipaddress.ip_address("93.184.216.34")


async def test_transport_refuses_loopback_by_default() -> None:
    """The production HTTP client will not call 127.0.0.1 unless its policy allows it."""
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError, match="loopback"):
            await transport.request("GET", "http://127.0.0.1:9/.well-known/vrm")
    finally:
        await transport.aclose()


@pytest.mark.parametrize(
    "url", ["http://0.0.0.0:8000/", "http://[::]:8000/", "http://[::ffff:0.0.0.0]/"]
)
def test_unspecified_address_refused_even_when_private_allowed(url: str) -> None:
    """0.0.0.0 and :: reach the local machine; no configuration lets them through."""
    with pytest.raises(AddressRefused):
        AddressPolicy(allow_loopback=False, allow_private=True).check_url(url)


async def test_invalid_url_is_a_transport_error_not_a_crash() -> None:
    """A malformed URL from another party fails as a non-retryable TransportError."""
    transport = AiohttpTransport()
    try:
        with pytest.raises(TransportError) as failed:
            await transport.request("POST", "http://[::1/inbox", content=b"x")
    finally:
        await transport.aclose()
    assert failed.value.retryable is False
