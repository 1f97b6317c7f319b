"""Intents ingested by the exchange over HTTP, against a bare ASGI endpoint in the same run.

Every server is a separate process on 127.0.0.1, served by uvicorn through
vrm.transport.serving.LocalServer (uvloop, httptools, no access log), as
``vrm serve exchange`` serves the exchange; the client is this process, one aiohttp
session with N requests in flight (uvloop), POSTing intents signed beforehand (one
fresh pseudonym each, a random category of the taxonomy, a random country:
bench_exchange.intents), never signing inside the timing:

  bare ASGI         benchmarks/sink.py under LocalServer: reads the body, answers 202
                    (the raw ceiling of the server and the client on this machine)
  SQLite            ``vrm serve exchange``, one process, its own SQLite store
  PostgreSQL, one   ``vrm serve exchange --database postgresql+psycopg://...`` (the
                    second process below stays up, idle)
  PostgreSQL, two   two such processes on one database (same key, same store), the
                    client alternating between them; the same number of intents

Each exchange holds 10,000 subscriptions of 5,000 vendors that fetch (no inbox, so
nothing is pushed), written into its store before it starts. Every intent must be
answered 202 (taken and durable); any other answer makes the run fail, and at the end
each store must hold every intent it answered 202 for.

Round 0 warms up and is not counted; then the best of the rounds, the contenders
interleaved so the machine's other load hits each alike. The SQLite exchange starts
on a fresh store each round (warmed with a short burst before it is timed); the
PostgreSQL processes run on one fresh schema for the whole run (dropped at the end),
each round's intents from fresh pseudonyms. The client, the servers and PostgreSQL
share the machine's cores.

Run: .venv/bin/python benchmarks/bench_exchange_http.py [--intents 3000] [--in-flight 64]
     [--rounds 3] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from bench_exchange import intents, subscribe
from vrm.exchange.schema import intents as intents_table
from vrm.exchange.service import DATABASE_FILE, MIGRATIONS
from vrm.keyfile import SEED_FILE
from vrm.protocol import Identity
from vrm.storage import database_engine, migrate_to_newest

HEADERS = {"content-type": "application/vrm+jws"}
SUBSCRIPTIONS = 10_000
POSTGRES_URL = os.environ.get(
    "VRM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BARE, SQLITE, PG_ONE, PG_TWO = (
    "bare ASGI (LocalServer)",
    "exchange, SQLite, 1 process",
    "exchange, PostgreSQL, 1 process",
    "exchange, PostgreSQL, 2 processes",
)


class Refused(RuntimeError):
    """A request was answered with something other than 202: the run is invalid."""


@dataclass
class Server:
    """A server process of the run: where it listens and where its output goes."""

    process: subprocess.Popen[str]
    url: str
    log: Path
    did: str | None = None


@dataclass(frozen=True)
class Measured:
    """One contender in one round: requests per second, CPU seconds per request."""

    rate: float
    server_cpu: float
    client_cpu: float


@dataclass
class Figures:
    """Each contender's measurements over the counted rounds."""

    rounds: dict[str, list[Measured]] = field(default_factory=dict)

    def add(self, name: str, measured: Measured) -> None:
        self.rounds.setdefault(name, []).append(measured)

    def best(self, name: str) -> Measured:
        return max(self.rounds[name], key=lambda measured: measured.rate)


@contextmanager
def serving(command: list[str], log: Path) -> Iterator[Server]:
    """Run ``command`` (a server printing 'listening on URL') until the block ends."""
    with log.open("w") as errors:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, text=True
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("listening on "):
            process.wait(10)
            raise RuntimeError(f"{command[2:5]} did not start: {line!r}\n{log.read_text()}")
        server = Server(process, line.removeprefix("listening on ").strip(), log)
        if "exchange" in command:
            server.did = process.stdout.readline().removeprefix("exchange DID: ").strip()
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def bare_server(folder: Path) -> AbstractContextManager[Server]:
    return serving([sys.executable, __file__, "--serve-bare"], folder / "bare.log")


def exchange_server(
    home: Path, database: str | None = None, number: int = 0
) -> AbstractContextManager[Server]:
    command = [sys.executable, "-m", "vrm", "serve", "exchange", "--home", str(home)]
    command += ["--port", "0"]
    if database is not None:
        command += ["--database", database]
    return serving(command, home / f"exchange-{number}.log")


def exchange_home(folder: Path, identity: Identity) -> Path:
    """A fresh exchange home holding ``identity``'s key (so its DID is known beforehand)."""
    folder.mkdir(parents=True)
    descriptor = os.open(folder / SEED_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as seed_file:
        seed_file.write(identity.seed)
    return folder


def subscribe_vendors(where: str | Path, count: int, rng: random.Random) -> None:
    """Migrate the store at ``where`` and give it ``count`` subscriptions of fetching vendors.

    The same subscriptions as bench_exchange.subscribed_market, in any store.
    """
    engine = database_engine(where)
    try:
        migrate_to_newest(engine, MIGRATIONS)
        subscribe(engine, count, rng, inboxes=False)
    finally:
        engine.dispose()


def stored_intents(where: str | Path) -> int:
    engine = database_engine(where)
    try:
        with engine.begin() as connection:
            return int(
                connection.execute(select(func.count()).select_from(intents_table)).scalar_one()
            )
    finally:
        engine.dispose()


@contextmanager
def postgres_schema(url: str) -> Iterator[str | None]:
    """``url`` with a fresh schema as its search_path, dropped afterwards; None when unreachable.

    Prints why the PostgreSQL part is skipped when it is.
    """
    try:
        import psycopg
    except ImportError:
        print("PostgreSQL part skipped: psycopg is not installed")
        yield None
        return
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL part skipped: {plain} is unreachable ({str(exc).splitlines()[0]})")
        yield None
        return
    schema = f"bench_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in url else "?"
            yield f"{url}{separator}options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


async def post(
    session: aiohttp.ClientSession, servers: list[Server], tokens: list[bytes], in_flight: int
) -> Measured:
    """POST ``tokens`` to the servers' inboxes in turn, ``in_flight`` at a time.

    Raises:
        Refused: an answer was not 202 (or a request failed); says how many and why.
    """
    urls = [f"{server.url}/inbox" for server in servers]
    statuses: Counter[int] = Counter()
    details: dict[int, str] = {}
    queue = iter(enumerate(tokens))

    async def worker() -> None:
        for n, token in queue:
            try:
                async with session.post(urls[n % len(urls)], data=token, headers=HEADERS) as reply:
                    answer = await reply.read()
                    status = reply.status
            except aiohttp.ClientError as exc:
                status, answer = 0, repr(exc).encode()
            statuses[status] += 1
            if status != 202:
                details.setdefault(status, answer.decode(errors="replace")[:300])

    server_cpu = sum(cpu_seconds(server.process.pid) for server in servers)
    client_cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(in_flight, len(tokens)))))
    elapsed = time.perf_counter() - started
    client_cpu = time.process_time() - client_cpu
    server_cpu = sum(cpu_seconds(server.process.pid) for server in servers) - server_cpu
    if set(statuses) != {202}:
        refused = {status: count for status, count in statuses.items() if status != 202}
        raise Refused(f"{refused} of {len(tokens)} not answered 202 by {urls}: {details}")
    return Measured(len(tokens) / elapsed, server_cpu / len(tokens), client_cpu / len(tokens))


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (user + system; 0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def encoded(exchange: Identity, n: int, rng: random.Random) -> list[bytes]:
    return [token.encode() for token in intents(exchange, n, rng)]


async def run(args: argparse.Namespace, folder: Path) -> None:
    identity = Identity.generate()  # every exchange of the run holds this key
    rng = random.Random(7)  # noqa: S311 - test data
    warm_up = 2 * args.in_flight
    figures = Figures()
    load = os.getloadavg()
    async with AsyncExitStack() as stack:
        # Idle connections are dropped after 1 s, before uvicorn's keep-alive (5 s) closes
        # them from its side: a request written as the server closes would fail.
        connector = aiohttp.TCPConnector(limit=args.in_flight, keepalive_timeout=1.0)
        session = aiohttp.ClientSession(connector=connector)
        stack.push_async_callback(session.close)
        bare = stack.enter_context(bare_server(folder))
        pg_url = stack.enter_context(postgres_schema(args.postgres))
        pg: list[Server] = []
        if pg_url is not None:
            subscribe_vendors(pg_url, SUBSCRIPTIONS, random.Random(0))  # noqa: S311
            pg_home = exchange_home(folder / "pg", identity)
            # One after the other: each runs the (idempotent) migrations as it starts.
            pg = [stack.enter_context(exchange_server(pg_home, pg_url, n)) for n in range(2)]
            if any(server.did != identity.did for server in pg):
                raise SystemExit(f"the exchanges answer as {[s.did for s in pg]}")
        for round_number in range(args.rounds + 1):
            tokens = encoded(identity, args.intents, rng)
            measured = {BARE: await post(session, [bare], tokens, args.in_flight)}

            home = exchange_home(folder / f"sqlite-{round_number}", identity)
            subscribe_vendors(home / DATABASE_FILE, SUBSCRIPTIONS, random.Random(0))  # noqa: S311
            with exchange_server(home) as sqlite:
                if sqlite.did != identity.did:
                    raise SystemExit(f"the exchange answers as {sqlite.did}")
                await post(session, [sqlite], encoded(identity, warm_up, rng), args.in_flight)
                measured[SQLITE] = await post(session, [sqlite], tokens, args.in_flight)
            stored = stored_intents(home / DATABASE_FILE)
            if stored != args.intents + warm_up:
                raise SystemExit(f"SQLite holds {stored} intents, not {args.intents + warm_up}")

            # One and two processes take turns going first, so drift hits both alike.
            for name in [PG_ONE, PG_TWO][:: -1 if round_number % 2 else 1] if pg else []:
                servers = pg[:1] if name == PG_ONE else pg
                tokens = encoded(identity, args.intents, rng)
                measured[name] = await post(session, servers, tokens, args.in_flight)
            if round_number:
                for name, one in measured.items():
                    figures.add(name, one)
            print(
                f"round {round_number}{'' if round_number else ' (warm-up)'}: "
                + ", ".join(f"{name} {one.rate:,.0f}/s" for name, one in measured.items()),
                flush=True,
            )
        if pg_url is not None:
            stored = stored_intents(pg_url)
            expected = 2 * (args.rounds + 1) * args.intents
            if stored != expected:
                raise SystemExit(f"PostgreSQL holds {stored} intents, not {expected}")
    report(args, figures, load)


def report(args: argparse.Namespace, figures: Figures, load: tuple[float, ...]) -> None:
    bare = figures.best(BARE).rate
    print(
        f"\n{args.intents} signed intents over HTTP, {args.in_flight} in flight, 127.0.0.1,"
        f" {SUBSCRIPTIONS:,} subscriptions (vendors that fetch), best of {args.rounds} rounds;"
        f" {os.cpu_count()} cores shared by the client, the servers and PostgreSQL"
        f" (load average {load[0]:.1f} before, {os.getloadavg()[0]:.1f} after)"
    )
    print(
        f"{'':34} {'per second':>11} {'vs bare':>8} {'all rounds':>14}"
        f" {'server CPU':>11} {'client CPU':>11}"
    )
    for name in [name for name in (BARE, SQLITE, PG_ONE, PG_TWO) if name in figures.rounds]:
        best = figures.best(name)
        rates = [measured.rate for measured in figures.rounds[name]]
        print(
            f"{name:34} {best.rate:11,.0f} {best.rate / bare:8.0%}"
            f" {f'{min(rates):,.0f} - {max(rates):,.0f}':>14}"
            f" {best.server_cpu * 1e6:8,.0f} µs {best.client_cpu * 1e6:8,.0f} µs"
        )
    if PG_TWO in figures.rounds:
        ratios = [
            two.rate / one.rate
            for one, two in zip(figures.rounds[PG_ONE], figures.rounds[PG_TWO], strict=True)
        ]
        best_ratio = figures.best(PG_TWO).rate / figures.best(PG_ONE).rate
        print(
            f"PostgreSQL, two processes / one: {best_ratio:.2f}x"
            f" (best against best; round by round {min(ratios):.2f} - {max(ratios):.2f}x)"
        )
    print("(CPU: per request in the best round, the servers' processes together, and the client's)")
    print("every intent was answered 202 and is held by its store")


def serve_bare() -> None:
    """The bare ASGI endpoint, served as ``vrm serve`` serves the exchange."""
    from sink import app
    from vrm.transport.serving import LocalServer, run_service

    async def serve() -> None:
        async with LocalServer(app) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped

    run_service(serve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intents", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES_URL, help="a postgresql+psycopg:// URL")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare()
        return
    from vrm.transport.serving import run_service

    folder = Path(tempfile.mkdtemp(prefix="vrm-bench-exchange-http-"))
    try:
        run_service(run(args, folder))  # uvloop, as the services use
    except Refused as exc:
        raise SystemExit(f"invalid run: {exc}\nthe servers' logs are in {folder}") from None
    except BaseException:
        print(f"the servers' logs are in {folder}")
        raise
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
