"""The main demo: change your address once, and every vendor's CRM has it.

On 127.0.0.1 it starts two CRMs (a SCIM 2.0 server for the grocer, a webhook
receiver for the bank), three vendor endpoints (``vrm serve vendor`` processes:
the grocer forwarding to SCIM, the bank to signed webhooks, the magazine keeping
its built-in store), and the person's agent in this process. The agent relates
with all three, grants them the home address, changes it once, and watches each
CRM until it holds the new address. Every step is reported through a callback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx

from vrm.agent.api.app import create_agent_app
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.demo.child import Child, DemoError
from vrm.demo.two_parties import Step
from vrm.transport.serving import LocalServer

PASSPHRASE_BYTES = 18
_VRM = (sys.executable, "-m", "vrm")
_SCIM_SERVER = (sys.executable, "-m", "scim2_server.testserver.cli", "--hostname", "127.0.0.1")
WAIT_SECONDS = 45.0
"""How long each step may take before the story reports it failed (a loaded machine is slow)."""
FIRST_ADDRESS = {
    "streetAddress": "1 Elm Row",
    "addressLocality": "Leith",
    "postalCode": "EH6 5AB",
    "addressCountry": "GB",
}
NEW_ADDRESS = {
    "streetAddress": "9 Quay Street",
    "addressLocality": "Leith",
    "postalCode": "EH6 6NP",
    "addressCountry": "GB",
}


@dataclass(frozen=True)
class CrmRow:
    """Where one vendor's CRM stands after the change."""

    vendor: str
    crm: str
    street: str | None
    millis: float | None


@dataclass
class StoryReport:
    """What the story did and where everything runs."""

    steps: list[Step] = field(default_factory=list)
    crms: list[CrmRow] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    passphrase: str | None = None
    """The demo agent's passphrase (random): it signs in to the agent's pages."""

    @property
    def all_as_expected(self) -> bool:
        """True when every step went as the story says and every CRM has the new address."""
        return (
            all(step.as_expected for step in self.steps)
            and all(row.street == NEW_ADDRESS["streetAddress"] for row in self.crms)
            and len(self.crms) == 3
        )


@dataclass(frozen=True)
class VendorPlan:
    """One vendor of the story and the CRM it forwards to."""

    key: str
    name: str
    crm: str
    adapters: list[dict[str, Any]]


async def run_story(
    home: Path,
    *,
    on_step: Callable[[Step], None] | None = None,
    keep: Callable[[StoryReport], Awaitable[None]] | None = None,
) -> StoryReport:
    """Run the story with every state under ``home``; ``keep`` runs before shutting down."""
    report = StoryReport()

    def record(step: Step) -> None:
        report.steps.append(step)
        if on_step is not None:
            on_step(step)

    home.mkdir(parents=True, exist_ok=True)
    scim_token = secrets.token_urlsafe(16)
    webhook_secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    async with contextlib.AsyncExitStack() as running:
        started = time.perf_counter()
        scim = await running.enter_async_context(_scim_server(home, scim_token))
        bank_crm = await running.enter_async_context(
            Child(
                [sys.executable, "-m", "vrm.demo.webhook_crm", "--secret", webhook_secret],
                ready="listening on ",
                log=home / "bank-crm.log",
            )
        )
        bank_crm_url = bank_crm.url
        report.urls |= {"grocer's SCIM CRM": scim, "bank's webhook CRM": bank_crm_url}
        record(Step("start two CRMs (SCIM, webhooks)", "running", "running", _ms(started)))

        plans = [
            VendorPlan(
                "grocer",
                "Corner Grocer",
                "SCIM 2.0",
                [{"type": "scim", "base_url": scim, "token": scim_token}],
            ),
            VendorPlan(
                "bank",
                "Harbour Bank",
                "signed webhooks",
                [{"type": "webhook", "url": f"{bank_crm_url}/hooks", "secret": webhook_secret}],
            ),
            VendorPlan("magazine", "Tidewater Magazine", "built-in store", []),
        ]
        started = time.perf_counter()
        started_vendors = await asyncio.gather(*(_start_vendor(home, plan) for plan in plans))
        vendors: dict[str, tuple[str, str]] = {}
        for plan, (child, url, token) in zip(plans, started_vendors, strict=True):
            running.push_async_callback(child.stop)
            vendors[plan.key] = (url, token)
            report.urls[plan.name] = url
        record(Step("start three vendor endpoints", "running", "running", _ms(started)))

        started = time.perf_counter()
        agent, agent_url, report.passphrase = await _start_agent(running, home / "agent")
        report.urls["your agent"] = agent_url
        report.urls["your pages"] = f"{agent_url}/"
        record(Step("start your agent", "running", "running", _ms(started)))

        started = time.perf_counter()
        await anyio.to_thread.run_sync(
            lambda: agent.set_field("address.home", FIRST_ADDRESS, changed_by="demo")
        )
        relationships = [await agent.add_vendor(vendors[p.key][0]) for p in plans]
        accepted = await _until(
            lambda: all(r.active for r in agent.vendors()) or None, WAIT_SECONDS
        )
        signed = [a for a in agent.agreements() if a.state == "active"]
        outcome = f"{len(signed)} agreements" if accepted else "not all accepted"
        record(Step("relate on your terms, signed by both", "3 agreements", outcome, _ms(started)))

        started = time.perf_counter()
        for relationship in relationships:
            grant = functools.partial(
                agent.grant, str(relationship.id), ["address.home"], purpose="deliveries"
            )
            await anyio.to_thread.run_sync(grant)
        record(Step("grant them address.home", "3 grants", "3 grants", _ms(started)))

        changed = time.perf_counter()
        await anyio.to_thread.run_sync(
            lambda: agent.set_field("address.home", NEW_ADDRESS, changed_by="demo")
        )
        record(Step("change the address once", "1 change", "1 change", _ms(changed)))

        watchers = [
            _watch(plan, relationship.our_did, vendors, scim, scim_token, bank_crm_url, changed)
            for plan, relationship in zip(plans, relationships, strict=True)
        ]
        report.crms = list(await asyncio.gather(*watchers))
        arrived = sum(1 for row in report.crms if row.street == NEW_ADDRESS["streetAddress"])
        record(
            Step(
                "every CRM holds the new address",
                "3 of 3",
                f"{arrived} of 3",
                _ms(changed),
            )
        )
        if keep is not None:
            await keep(report)
    return report


async def _start_vendor(home: Path, plan: VendorPlan) -> tuple[Child, str, str]:
    folder = home / plan.key
    folder.mkdir(exist_ok=True)
    config = folder / "vendor.toml"
    config.write_text(_toml(plan), encoding="utf-8")
    child = await Child(
        [*_VRM, "serve", "vendor", "--config", str(config), "--home", str(folder), "--port", "0"],
        ready="listening on ",
        log=folder / "vendor.log",
    ).__aenter__()
    url = child.url
    return child, url, (folder / "api-token").read_text().strip()


def _toml(plan: VendorPlan) -> str:
    lines = [f"name = {json.dumps(plan.name)}", "allow_loopback = true", ""]
    for adapter in plan.adapters:
        lines.append("[[adapters]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in adapter.items()]
        lines.append("")
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def _scim_server(home: Path, token: str) -> AsyncIterator[str]:
    """The grocer's CRM: scim2-server (a SCIM 2.0 server from PyPI) on a free port."""
    for _ in range(3):  # the port may be taken between choosing and binding it
        port = _free_port()
        child = Child(
            [*_SCIM_SERVER, "--port", str(port), f"--bearer-token={token}"],
            ready="Serving SCIM on ",
            log=home / "grocer-crm.log",
        )
        try:
            await child.__aenter__()
        except DemoError:
            continue
        try:
            yield f"http://127.0.0.1:{port}/v2"
        finally:
            await child.stop()
        return
    raise DemoError(f"the SCIM server did not start; see {home / 'grocer-crm.log'}")


async def _start_agent(
    running: contextlib.AsyncExitStack, folder: Path
) -> tuple[PersonalAgent, str, str]:
    where = AgentHome(folder)
    passphrase = secrets.token_urlsafe(PASSPHRASE_BYTES)
    await anyio.to_thread.run_sync(lambda: init_agent(where, passphrase))
    opened = running.enter_context(unlocked(where, passphrase))
    agent = PersonalAgent(opened.engine, opened.sealer)
    await anyio.to_thread.run_sync(agent.set_config, "allow_loopback", "true")
    app = create_agent_app(
        agent,
        api_token=opened.api_token,
        seen_ids_path=folder / "seen-ids.db",
        database_path=where.database,
    )
    server = await running.enter_async_context(LocalServer(app))
    await anyio.to_thread.run_sync(agent.listening_at, server.url)
    return agent, server.url, passphrase


async def _watch(
    plan: VendorPlan,
    did: str,
    vendors: dict[str, tuple[str, str]],
    scim: str,
    scim_token: str,
    bank_crm: str,
    changed: float,
) -> CrmRow:
    """Poll the vendor's CRM until it holds the new address (or time runs out)."""
    async with httpx.AsyncClient(timeout=5) as client:

        async def street() -> str | None:
            if plan.key == "grocer":
                reply = await client.get(
                    f"{scim}/Users",
                    params={"filter": f'externalId eq "{did}"'},
                    headers={"Authorization": f"Bearer {scim_token}"},
                )
                users = reply.json().get("Resources", [])
                addresses = users[0].get("addresses", []) if users else []
                home = [a for a in addresses if a.get("type") == "home"]
                return str(home[0]["streetAddress"]).split("\n")[0] if home else None
            if plan.key == "bank":
                held = (await client.get(f"{bank_crm}/customers")).json().get(did, {})
                value = held.get("fields", {}).get("address.home", {}).get("streetAddress")
                return None if value is None else str(value)
            url, token = vendors[plan.key]
            reply = await client.get(
                f"{url}/api/customers/{did}", headers={"Authorization": f"Bearer {token}"}
            )
            if reply.status_code != 200:
                return None
            held_here = reply.json()["fields"].get("address.home", {}).get("streetAddress")
            return None if held_here is None else str(held_here)

        found = await _until_async(
            lambda: _matches(street(), NEW_ADDRESS["streetAddress"]), WAIT_SECONDS
        )
        held_now = found or await street()
    return CrmRow(plan.name, plan.crm, held_now, _ms(changed) if found else None)


async def _matches(reading: Awaitable[str | None], wanted: str) -> str | None:
    value = await reading
    return value if value == wanted else None


async def _until(check: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = await anyio.to_thread.run_sync(check)
        if result:
            return result
        await asyncio.sleep(0.02)
    return None


async def _until_async(check: Callable[[], Awaitable[Any]], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = await check()
        except (httpx.HTTPError, ValueError, KeyError, AttributeError):
            result = None
        if result:
            return result
        await asyncio.sleep(0.01)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
