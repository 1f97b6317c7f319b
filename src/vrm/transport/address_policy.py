"""Which addresses outgoing calls may reach.

URLs come from other parties (a vendor's discovery document, a ``reply_to``), so
a call must not be steerable at the caller's own machine or network. The policy
is applied where the socket is opened — to every address a name resolves to —
so a name that resolves to a public address when checked and to 127.0.0.1 when
connected (DNS rebinding) is refused too. Loopback and private ranges are
allowed only by configuration (tests and the demo allow loopback).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(OSError):
    """An outgoing call would reach an address the policy does not allow."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """What outgoing calls may reach besides public addresses.

    Attributes:
        allow_loopback: 127.0.0.0/8 and ::1 (the same machine).
        allow_private: private, link-local and unique-local ranges (the local network).
    """

    allow_loopback: bool = False
    allow_private: bool = False

    def check_address(self, address: Address) -> None:
        """Raise :class:`AddressRefused` when ``address`` may not be reached.

        IPv6 forms that carry an IPv4 address (mapped, 6to4, Teredo) are judged by
        that IPv4 address. Unspecified, multicast and reserved addresses are always
        refused; anything else that is not globally routable (private, link-local,
        shared address space such as 100.64.0.0/10) only with ``allow_private``.
        """
        address = _embedded_ipv4(address)
        if (
            address.is_unspecified
            or address.is_multicast
            or address.is_reserved
            or address == _BROADCAST
        ):
            raise AddressRefused(f"{address} is not a routable address")
        if address.is_loopback:
            if not self.allow_loopback:
                raise AddressRefused(f"{address} is a loopback address")
            return
        if not address.is_global:
            if not self.allow_private:
                raise AddressRefused(f"{address} is a private address")
            return

    def check_url(self, url: str) -> None:
        """Check the scheme, and the host when it is an IP literal; names are checked on connect."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError as exc:
            raise AddressRefused(f"{url!r} is not a valid URL") from exc
        if parts.scheme not in ("http", "https"):
            raise AddressRefused(f"{url!r}: only http and https URLs are called")
        if not host:
            raise AddressRefused(f"{url!r} has no host")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if host == "localhost" or host.endswith(".localhost"):
                self.check_address(ipaddress.ip_address("127.0.0.1"))
            return
        self.check_address(address)


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _embedded_ipv4(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
    return address


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that drops every address the policy refuses."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``; refuse when any of its addresses is not allowed."""
        results = await self.inner.resolve(host, port, family)
        for result in results:
            self.policy.check_address(ipaddress.ip_address(result["host"]))
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self.inner.close()
