"""The person's pages: how many of each a signed-in browser gets per second, same run.

The agent is a busy one: 100 vendors with agreements and grants, a profile of a
dozen fields changed 20 times each (so every vendor has 20 deliveries queued and
the audit log holds over 2,000 entries each). Pages are requested one at a time
through the app in process (ASGI, no sockets), as one person's browser would.

The raw limit, measured in the same run, is the same app answering ``/health``:
routing, middleware and the session cookie, and no work of ours — every page
rate is shown as a share of it.

Run: .venv/bin/python benchmarks/bench_pages.py
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from pathlib import Path

import httpx

from vrm.agent.api.app import create_agent_app
from vrm.agent.home import AgentHome
from vrm.agent.personal_agent import PersonalAgent
from vrm.agent.setup import init_agent, unlocked
from vrm.agent.web import SignInLimits
from vrm.demo.prearranged import prearranged_relationship
from vrm.protocol import Discovery, Identity, relationship_types
from vrm.vault import FAST_INSECURE_KDF

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throwaway agent
FIELDS = {
    "name.full": "Ann Example",
    "email.home": "ann@example.org",
    "phone.cell": "+44 7700 900123",
    "address.home": {"streetAddress": "1 Elm Row", "addressLocality": "Leith"},
}
PAGES = ["/", "/profile", "/vendors", "/vendors/1", "/terms", "/intents", "/audit", "/settings"]


def seed(person: PersonalAgent, vendors: int, changes: int) -> None:
    """Vendors with agreements and grants, then the profile changed ``changes`` times."""
    with person.engine.begin() as connection:
        for number in range(vendors):
            identity = Identity.generate()
            url = f"https://vendor{number}.example"
            prearranged_relationship(
                connection,
                person.sealer,
                discovery=Discovery(
                    did=identity.did,
                    inbox=f"{url}/inbox",
                    name=f"Shop {number}",
                    message_types=list(relationship_types()),
                ),
                url=url,
                reply_to="https://agent.example/inbox",
                grant=list(FIELDS),
                purpose="deliveries",
            )
    for version in range(changes):
        person.set_fields(
            {**FIELDS, "email.home": f"ann+{version}@example.org"}, changed_by="benchmark"
        )


async def measure(client: httpx.AsyncClient, path: str, seconds: float) -> float:
    """Pages per second for ``path``, asked one after another for ``seconds``."""
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        reply = await client.get(path)
        if reply.status_code != 200:
            raise SystemExit(f"{path} answered {reply.status_code}")
        count += 1
    return count / (time.perf_counter() - started)


async def run(app: object, seconds: float) -> dict[str, float]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as client:
        form = await client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        signed = await client.post(
            "/sign-in", data={"csrf_token": token.group(1), "passphrase": PASSPHRASE}
        )
        assert signed.status_code == 303
        rates = {"/health": await measure(client, "/health", seconds)}
        for path in PAGES:
            rates[path] = await measure(client, path, seconds)
        return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=100)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = AgentHome(Path(folder))
        init_agent(home, PASSPHRASE, kdf=FAST_INSECURE_KDF)
        with unlocked(home, PASSPHRASE) as opened:
            person = PersonalAgent(opened.engine, opened.sealer)
            seed(person, args.vendors, args.changes)
            entries = len(person.audit_entries())
            app = create_agent_app(
                person,
                api_token=opened.api_token,
                seen_ids_path=Path(folder) / "seen-ids.db",
                database_path=home.database,
                sign_in_limits=SignInLimits(failure_delay=0),
            )
            rates = asyncio.run(run(app, args.seconds))
    floor = rates.pop("/health")
    print(
        f"{args.vendors} vendors, {len(FIELDS)} fields changed {args.changes} times, "
        f"{entries} audit entries; one browser, one page at a time"
    )
    print(f"{'/health (raw limit)':24} {floor:8,.0f}/s")
    for path, value in rates.items():
        print(f"{path:24} {value:8,.0f}/s  {value / floor:6.1%}  {1000 / value:6.1f} ms")


if __name__ == "__main__":
    main()
