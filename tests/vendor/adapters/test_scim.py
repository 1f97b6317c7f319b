"""The SCIM adapter against a real SCIM service (scim2-server in its own process)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vrm.protocol import Identity
from vrm.vendor.adapters import AdapterError, ChangeKind, CustomerChange
from vrm.vendor.adapters.scim import ScimAdapter, patch_operations, scim_address

TOKEN = "crm-scim-token"
HOME = {
    "streetAddress": "1 Main St",
    "addressLocality": "Springfield",
    "addressRegion": "IL",
    "postalCode": "62701",
    "addressCountry": "US",
}


@dataclass
class ScimServer:
    """scim2-server listening on 127.0.0.1 in a separate process."""

    process: subprocess.Popen[str]
    url: str
    """The SCIM root, ``http://127.0.0.1:PORT/v2``."""

    def users(self, did: str) -> list[dict[str, Any]]:
        """The users whose externalId is ``did``, read through the server's own SCIM API."""
        reply = httpx.get(
            f"{self.url}/Users",
            params={"filter": f"externalId eq {json.dumps(did)}"},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        reply.raise_for_status()
        resources: list[dict[str, Any]] = reply.json().get("Resources", [])
        return resources

    def user(self, did: str) -> dict[str, Any]:
        """The one user whose externalId is ``did``."""
        found = self.users(did)
        assert len(found) == 1, found
        return found[0]

    def stop(self) -> None:
        """Stop the process and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def start_scim_server(log: Path) -> ScimServer:
    """Start ``scim2-server`` (its own CLI) on a free port; return once it answers."""
    for _ in range(3):  # another process may take the port between probe and bind
        port = free_port()
        with log.open("w") as stderr:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                [
                    sys.executable,
                    "-m",
                    "scim2_server.testserver.cli",
                    "--hostname",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--bearer-token",
                    TOKEN,
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket is bound
        if line.startswith("Serving SCIM on "):
            server = ScimServer(process, f"http://127.0.0.1:{port}/v2")
            wait_until_answering(server)
            return server
        process.wait(10)
        process.stdout.close()
    pytest.fail(f"scim2-server did not start: {log.read_text()[-2000:]}")


def wait_until_answering(server: ScimServer) -> None:
    """Poll the discovery endpoint until the server answers (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(
                f"{server.url}/ServiceProviderConfig",
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=1,
            ).raise_for_status()
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                server.stop()
                raise
            time.sleep(0.05)
        else:
            return


@pytest.fixture(scope="module")
def scim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimServer]:
    """One SCIM server per test module (tests use distinct customer DIDs)."""
    server = start_scim_server(tmp_path_factory.mktemp("scim") / "server.log")
    yield server
    server.stop()


@pytest.fixture
async def adapter(scim_server: ScimServer) -> AsyncIterator[ScimAdapter]:
    """An adapter pointed at the SCIM server, with its bearer token."""
    scim = ScimAdapter(name="crm", base_url=scim_server.url, token=TOKEN)
    yield scim
    await scim.aclose()


@pytest.fixture
def customer() -> str:
    """A fresh pairwise DID, so tests sharing the server never meet."""
    return Identity.generate().did


def change(kind: ChangeKind, customer: str, **fields: Any) -> CustomerChange:
    """A change for ``customer``; field paths are given with ``__`` for ``.``."""
    return CustomerChange(
        event_id=str(uuid.uuid4()),
        kind=kind,
        customer=customer,
        occurred_at=time.time(),
        fields={path.replace("__", "."): value for path, value in fields.items()},
    )


def typed(entries: list[dict[str, Any]] | None, label: str) -> list[dict[str, Any]]:
    """The entries of a multi-valued attribute whose type is ``label``."""
    return [entry for entry in entries or [] if entry.get("type") == label]


@pytest.mark.anyio
async def test_created_twice_is_one_active_user(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """A retried creation (same event, and a fresh adapter) finds the user instead."""
    created = change(ChangeKind.CREATED, customer)
    await adapter.deliver(created)
    await adapter.deliver(created)
    again = ScimAdapter(name="crm", base_url=scim_server.url, token=TOKEN)
    try:
        await again.deliver(created)
    finally:
        await again.aclose()
    user = scim_server.user(customer)
    assert user["userName"] == customer
    assert user["externalId"] == customer
    assert user["active"] is True


@pytest.mark.anyio
async def test_created_when_the_username_is_taken_adopts_that_user(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """A 409 on creation means the user exists: it is found by userName and given the externalId."""
    httpx.post(
        f"{scim_server.url}/Users",
        json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": customer},
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"},
        timeout=10,
    ).raise_for_status()
    await adapter.deliver(change(ChangeKind.CREATED, customer))
    assert scim_server.user(customer)["userName"] == customer


@pytest.mark.anyio
async def test_update_maps_the_fields(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """Names, an e-mail, a phone and an address land on the core User attributes."""
    await adapter.deliver(change(ChangeKind.CREATED, customer))
    await adapter.deliver(
        change(
            ChangeKind.UPDATED,
            customer,
            name__given="Ada",
            name__family="Lovelace",
            email__home="ada@example.org",
            phone__mobile="+44 20 7946 0000",
            address__home=HOME,
        )
    )
    user = scim_server.user(customer)
    assert user["name"] == {"givenName": "Ada", "familyName": "Lovelace"}
    assert user["emails"] == [{"value": "ada@example.org", "type": "home"}]
    assert user["phoneNumbers"] == [{"value": "+44 20 7946 0000", "type": "mobile"}]
    assert user["addresses"] == [
        {
            "type": "home",
            "streetAddress": "1 Main St",
            "locality": "Springfield",
            "region": "IL",
            "postalCode": "62701",
            "country": "US",
            "formatted": "1 Main St\nSpringfield, IL 62701\nUS",
        }
    ]


@pytest.mark.anyio
async def test_update_without_creation_creates_the_user(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """An update for a customer the CRM does not hold creates the user first."""
    await adapter.deliver(change(ChangeKind.UPDATED, customer, name__given="Grace"))
    user = scim_server.user(customer)
    assert user["active"] is True
    assert user["name"] == {"givenName": "Grace"}


@pytest.mark.anyio
async def test_second_update_replaces_the_address(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """A new address.home replaces the whole entry; other labels stay."""
    await adapter.deliver(change(ChangeKind.UPDATED, customer, address__home=HOME))
    await adapter.deliver(
        change(ChangeKind.UPDATED, customer, address__work={"addressLocality": "Chicago"})
    )
    moved = {"streetAddress": "9 Elm Rd", "postalCode": "SW1A 1AA", "addressCountry": "GB"}
    await adapter.deliver(change(ChangeKind.UPDATED, customer, address__home=moved))
    addresses = scim_server.user(customer)["addresses"]
    assert typed(addresses, "home") == [
        {
            "type": "home",
            "streetAddress": "9 Elm Rd",
            "postalCode": "SW1A 1AA",
            "country": "GB",
            "formatted": "9 Elm Rd\nSW1A 1AA\nGB",
        }
    ]
    assert typed(addresses, "work") == [
        {"type": "work", "locality": "Chicago", "formatted": "Chicago"}
    ]


@pytest.mark.anyio
async def test_replayed_update_changes_nothing(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """Delivering the same update again sends no PATCH: the user's version stays."""
    updated = change(ChangeKind.UPDATED, customer, email__work="ada@work.example")
    await adapter.deliver(updated)
    version = scim_server.user(customer)["meta"]["version"]
    await adapter.deliver(updated)
    user = scim_server.user(customer)
    assert user["meta"]["version"] == version
    assert user["emails"] == [{"value": "ada@work.example", "type": "work"}]


@pytest.mark.anyio
async def test_cleared_fields_are_removed(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """A value None removes the attribute or the entry of that label, and nothing else."""
    await adapter.deliver(
        change(
            ChangeKind.UPDATED,
            customer,
            name__given="Ada",
            name__family="Lovelace",
            email__home="ada@example.org",
            email__work="ada@work.example",
        )
    )
    await adapter.deliver(change(ChangeKind.UPDATED, customer, name__given=None, email__home=None))
    user = scim_server.user(customer)
    assert user["name"] == {"familyName": "Lovelace"}
    assert user["emails"] == [{"value": "ada@work.example", "type": "work"}]


@pytest.mark.anyio
async def test_revoked_fields_are_removed(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """Withdrawn fields disappear from the user; the rest stays."""
    await adapter.deliver(
        change(
            ChangeKind.UPDATED,
            customer,
            name__full="Ada Lovelace",
            phone__mobile="+44 20 7946 0000",
            address__home=HOME,
            email__home="ada@example.org",
        )
    )
    await adapter.deliver(
        change(
            ChangeKind.REVOKED, customer, phone__mobile=None, address__home=None, name__full=None
        )
    )
    user = scim_server.user(customer)
    for removed in ("phoneNumbers", "addresses", "name", "displayName"):
        assert removed not in user
    assert user["emails"] == [{"value": "ada@example.org", "type": "home"}]


@pytest.mark.anyio
async def test_ended_deactivates_the_user(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """An ended relationship sets active false and keeps the user; a new one reactivates."""
    await adapter.deliver(change(ChangeKind.CREATED, customer))
    await adapter.deliver(change(ChangeKind.ENDED, customer))
    assert scim_server.user(customer)["active"] is False
    await adapter.deliver(change(ChangeKind.CREATED, customer))
    assert scim_server.user(customer)["active"] is True


@pytest.mark.anyio
async def test_deleted_removes_the_user_and_a_repeat_is_done(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """An erased customer's user is deleted from the CRM; deleting it again succeeds."""
    other = Identity.generate().did
    await adapter.deliver(change(ChangeKind.UPDATED, customer, email__home="ada@example.org"))
    await adapter.deliver(change(ChangeKind.CREATED, other))
    deleted = change(ChangeKind.DELETED, customer)
    await adapter.deliver(deleted)
    assert scim_server.users(customer) == []
    assert scim_server.user(other)["active"] is True  # only that customer's user goes
    await adapter.deliver(deleted)  # retried after a lost answer: nothing left, done
    await adapter.deliver(change(ChangeKind.DELETED, Identity.generate().did))  # never held


@pytest.mark.anyio
async def test_deleting_a_user_already_gone_counts_as_done(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """A user deleted by someone else between the search and the DELETE: the 404 is success."""
    await adapter.deliver(change(ChangeKind.CREATED, customer))
    user_id = scim_server.user(customer)["id"]
    headers = {"Authorization": f"Bearer {TOKEN}"}
    httpx.delete(f"{scim_server.url}/Users/{user_id}", headers=headers, timeout=10)
    reply = httpx.delete(f"{scim_server.url}/Users/{user_id}", headers=headers, timeout=10)
    assert reply.status_code == 404  # what the adapter meets in that race

    class Stale(ScimAdapter):  # found the user just before it went
        async def _find_user(self, attribute: str, value: str) -> dict[str, Any] | None:
            return {"id": user_id, "externalId": value}

    stale = Stale(name="crm", base_url=scim_server.url, token=TOKEN)
    try:
        await stale.deliver(change(ChangeKind.DELETED, customer))
    finally:
        await stale.aclose()


@pytest.mark.anyio
async def test_revoked_or_ended_for_an_unknown_customer_does_nothing(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """There is no user to change, and none is created."""
    await adapter.deliver(change(ChangeKind.REVOKED, customer, email__home=None))
    await adapter.deliver(change(ChangeKind.ENDED, customer))
    assert scim_server.users(customer) == []


@pytest.mark.anyio
async def test_other_fields_map_or_are_ignored(
    adapter: ScimAdapter, scim_server: ScimServer, customer: str
) -> None:
    """Full name, nickname, language, own labels; birth date and preferences have no place."""
    await adapter.deliver(
        change(
            ChangeKind.UPDATED,
            customer,
            name__full="Ada King, Countess of Lovelace",
            name__nickname="Ada",
            language="en-GB",
            email__primary="ada@example.org",
            phone__boat="+44 1234 567890",
            address__shipping={"streetAddress": "1 Dock Rd", "postOfficeBoxNumber": "42"},
            birth_date="1815-12-10",
            preference__newsletter="weekly",
        )
    )
    user = scim_server.user(customer)
    assert user["name"] == {"formatted": "Ada King, Countess of Lovelace"}
    assert user["displayName"] == "Ada King, Countess of Lovelace"
    assert user["nickName"] == "Ada"
    assert user["preferredLanguage"] == "en-GB"
    assert user["emails"] == [{"value": "ada@example.org", "type": "primary", "primary": True}]
    assert user["phoneNumbers"] == [{"value": "+44 1234 567890", "type": "boat"}]
    assert user["addresses"] == [
        {
            "type": "shipping",
            "streetAddress": "1 Dock Rd\nPO Box 42",
            "formatted": "1 Dock Rd\nPO Box 42",
        }
    ]


def test_address_parts_and_formatted_lines() -> None:
    """schema.org parts become SCIM sub-attributes; formatted follows RFC 7643's example."""
    assert scim_address({"postOfficeBoxNumber": "PO Box 7", "addressCountry": "FR"}) == {
        "streetAddress": "PO Box 7",
        "country": "FR",
        "formatted": "PO Box 7\nFR",
    }
    assert scim_address({"addressRegion": "CA", "postalCode": "91608"})["formatted"] == "CA 91608"


def test_clearing_what_the_user_lacks_sends_nothing() -> None:
    """Operations are computed from the user as held: nothing to remove, nothing sent."""
    user = {"id": "1", "emails": [{"value": "a@example.org", "type": "Work"}]}
    assert patch_operations({"email.home": None, "name.given": None}, user) == []
    assert patch_operations({"email.work": None}, user) == [
        {"op": "remove", "path": 'emails[type eq "work"]'}
    ]


@pytest.mark.anyio
async def test_unknown_base_path_is_not_retryable(scim_server: ScimServer, customer: str) -> None:
    """A 404 for the base URL is a configuration error: retrying will not help."""
    base = scim_server.url.removesuffix("/v2") + "/nowhere"
    scim = ScimAdapter(name="crm", base_url=base, token=TOKEN)
    try:
        with pytest.raises(AdapterError, match="404") as raised:
            await scim.deliver(change(ChangeKind.CREATED, customer))
    finally:
        await scim.aclose()
    assert raised.value.retryable is False


@pytest.mark.anyio
async def test_wrong_token_is_not_retryable(scim_server: ScimServer, customer: str) -> None:
    """A 401 needs a new token, not another attempt."""
    scim = ScimAdapter(name="crm", base_url=scim_server.url, token="not-the-token")
    try:
        with pytest.raises(AdapterError, match="401") as raised:
            await scim.deliver(change(ChangeKind.CREATED, customer))
    finally:
        await scim.aclose()
    assert raised.value.retryable is False
    assert scim_server.users(customer) == []


@pytest.mark.anyio
async def test_server_down_is_retryable(customer: str) -> None:
    """Nothing listening: a network error, worth retrying."""
    scim = ScimAdapter(name="crm", base_url=f"http://127.0.0.1:{free_port()}/v2", timeout=2)
    try:
        with pytest.raises(AdapterError, match="unreachable") as raised:
            await scim.deliver(change(ChangeKind.CREATED, customer))
    finally:
        await scim.aclose()
    assert raised.value.retryable is True


Responder = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Any]


async def start_bare_server(respond: Responder) -> tuple[asyncio.Server, str]:
    """A bare HTTP server on 127.0.0.1 answering every request with ``respond``."""
    server = await asyncio.start_server(respond, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/v2"


def canned(status: str, content_type: str, body: bytes) -> Responder:
    """A responder that reads the request head and answers ``status`` with ``body``."""

    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    return respond


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        ("503 Service Unavailable", "text/html", b"<h1>maintenance</h1>"),
        (
            "429 Too Many Requests",
            "application/scim+json",
            json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "status": "429",
                    "detail": "slow down",
                }
            ).encode(),
        ),
        ("408 Request Timeout", "text/plain", b"timeout"),
    ],
)
async def test_overloaded_server_is_retryable(
    customer: str, status: str, content_type: str, body: bytes
) -> None:
    """5xx, 429 and 408 (SCIM error or not) are worth retrying."""
    server, url = await start_bare_server(canned(status, content_type, body))
    scim = ScimAdapter(name="crm", base_url=url)
    try:
        with pytest.raises(AdapterError, match=status[:3]) as raised:
            await scim.deliver(change(ChangeKind.CREATED, customer))
    finally:
        await scim.aclose()
        server.close()
        await server.wait_closed()
    assert raised.value.retryable is True


@pytest.mark.anyio
async def test_timeout_is_retryable(customer: str) -> None:
    """A server that never answers within the timeout: retryable."""
    release = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()
        await writer.wait_closed()

    server, url = await start_bare_server(hang)
    scim = ScimAdapter(name="crm", base_url=url, timeout=0.2)
    try:
        with pytest.raises(AdapterError, match="unreachable") as raised:
            await scim.deliver(change(ChangeKind.CREATED, customer))
    finally:
        await scim.aclose()
        release.set()
        server.close()
        await server.wait_closed()
    assert raised.value.retryable is True
