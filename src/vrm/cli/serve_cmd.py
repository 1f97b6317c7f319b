"""``vrm serve``: run a party as a long-lived HTTP service.

The web framework and server are imported by the command that runs, so other
``vrm`` commands start without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vrm.agent.backup import finish_restore
from vrm.agent.config import DEFAULT_PORT
from vrm.agent.home import AgentHome
from vrm.agent.setup import init_agent, unlocked
from vrm.cli.agent_cmd import HomeOption, ask_passphrase

app = typer.Typer(help="Run a vrm service.", no_args_is_help=True)


def _check_nats_prefix(value: str) -> str:
    from vrm.exchange.bus import check_prefix

    try:
        return check_prefix(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _check_public_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise typer.BadParameter("give an absolute http:// or https:// URL")
    return value


@app.command("peer")
def peer(
    home: Annotated[Path, typer.Option(help="Folder for the peer's key and seen-ids store.")],
    name: Annotated[str, typer.Option(help="Display name in the discovery document.")] = "peer",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 0,
    allow_loopback: Annotated[
        bool, typer.Option(help="Let replies reach loopback addresses (tests, demos).")
    ] = False,
    allow_private: Annotated[
        bool, typer.Option(help="Let replies reach private-network addresses.")
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base URL others reach this peer at (behind a proxy); default: from requests.",
            callback=_check_public_url,
        ),
    ] = None,
) -> None:
    """Run a protocol peer that answers pings; prints 'listening on URL' when ready."""
    from vrm.demo.peer import create_peer
    from vrm.transport.address_policy import AddressPolicy
    from vrm.transport.serving import LocalServer, run_service

    policy = AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
    built = create_peer(name=name, home=home, policy=policy, public_url=public_url)

    async def serve() -> None:
        async with LocalServer(built.app, host=host, port=port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped  # until a signal stops it

    run_service(serve())


@app.command("agent")
def agent(
    home: HomeOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = DEFAULT_PORT,
) -> None:
    """Run the person's agent: JSON API (/docs), protocol inbox and delivery worker.

    Creates the agent first if there is none yet. Prints 'listening on URL' when ready.
    """
    from vrm.agent.api.app import create_agent_app
    from vrm.agent.personal_agent import PersonalAgent
    from vrm.transport.serving import LocalServer, run_service

    where = AgentHome.resolve(home)
    if not where.database.exists():
        init_agent(where, ask_passphrase(confirm=True))
        print(f"created a new agent in {where.path}", flush=True)
    passphrase = ask_passphrase(confirm=False)
    kept = finish_restore(where, passphrase)
    if kept is not None:
        print(f"restored the staged backup; the replaced agent is kept in {kept}", flush=True)

    async def serve() -> None:
        with unlocked(where, passphrase) as opened:
            personal = PersonalAgent(opened.engine, opened.sealer)
            built = create_agent_app(
                personal,
                api_token=opened.api_token,
                seen_ids_path=where.path / "seen-ids.db",
                database_path=where.database,
            )
            async with LocalServer(built, host=host, port=port) as server:
                personal.listening_at(server.url)
                print(f"listening on {server.url}", flush=True)
                print(f"API: {server.url}/docs (token: vrm token)", flush=True)
                print(f"your pages: {server.url}/ (sign in with your passphrase)", flush=True)
                await server.stopped

    run_service(serve())


@app.command("vendor")
def vendor(
    name: Annotated[
        str | None, typer.Option(help="The vendor's name (or 'name' in --config).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="TOML settings: policy, adapters, database, public URL.")
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(help="Folder for the key, store and API token (default: user data folder)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8480,
    policy: Annotated[
        str | None, typer.Option(help="accept_all, allow_list or manual (overrides --config).")
    ] = None,
    allow_loopback: Annotated[
        bool, typer.Option(help="Let answers reach people's inboxes on this machine.")
    ] = False,
) -> None:
    """Run a vendor endpoint: discovery, inbox, customer records, CRM adapters, JSON API.

    Prints 'listening on URL' and the API token when ready.
    """
    from vrm.cli.vendor_home import open_vendor
    from vrm.transport.serving import LocalServer, run_service

    endpoint, token, built = open_vendor(
        name=name, config=config, home=home, policy=policy, allow_loopback=allow_loopback
    )

    async def serve() -> None:
        async with LocalServer(built, host=host, port=port) as server:
            print(f"listening on {server.url}", flush=True)
            print(f"vendor DID: {endpoint.identity.did}", flush=True)
            print(f"API: {server.url}/docs (token: {token})", flush=True)
            print(f"console: {server.url}/console (sign in with the token)", flush=True)
            await server.stopped

    run_service(serve())


@app.command("exchange")
def exchange(
    home: Annotated[
        Path | None,
        typer.Option(help="Folder for the key and store (default: user data folder)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port to listen on; 0 picks a free one.")
    ] = 8490,
    public_url: Annotated[
        str | None,
        typer.Option(callback=_check_public_url, help="The URL people and vendors reach it at."),
    ] = None,
    database: Annotated[
        str | None, typer.Option(help="A postgresql:// URL (default: SQLite in the home).")
    ] = None,
    name: Annotated[str, typer.Option(help="The exchange's name.")] = "vrm intent exchange",
    allow_loopback: Annotated[
        bool, typer.Option(help="Let pushes reach vendors' inboxes on this machine.")
    ] = False,
    allow_private: Annotated[
        bool, typer.Option(help="Let pushes reach vendors on private networks.")
    ] = False,
    nats: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="A NATS server with JetStream (nats://host:4222): serve one market with "
            "the other processes given the same --database, --nats and --nats-prefix.",
        ),
    ] = None,
    nats_prefix: Annotated[
        str,
        typer.Option(
            callback=_check_nats_prefix, help="The market's NATS subjects and stream name."
        ),
    ] = "vrm.exchange",
    ack_wait: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="Seconds before pushes a stopped process held go to another (with --nats).",
        ),
    ] = 30.0,
) -> None:
    """Run an intent exchange: pseudonymous intents matched to vendors, offers relayed unread.

    Prints 'listening on URL' and its DID when ready. Several processes, on several
    machines, serve one market with a shared PostgreSQL (--database) and NATS (--nats).
    """
    import platformdirs

    from vrm.exchange.api import create_exchange_app
    from vrm.exchange.service import Exchange, ExchangeSettings
    from vrm.transport.serving import LocalServer, run_service

    folder = home or Path(platformdirs.user_data_dir("vrm")) / "exchange"
    settings = ExchangeSettings(
        name=name,
        public_url=public_url,
        database=database,
        allow_loopback=allow_loopback,
        allow_private=allow_private,
        nats=nats,
        nats_prefix=nats_prefix,
        ack_wait=ack_wait,
    )
    opened = Exchange.open(
        settings, home=folder, public_url=public_url or f"http://{host}:{port or 0}"
    )
    built = create_exchange_app(opened, public_url=public_url)

    async def serve() -> None:
        async with LocalServer(built, host=host, port=port) as server:
            if public_url is None:
                opened.pusher.mailbox_url = f"{server.url}/mailbox"
            print(f"listening on {server.url}", flush=True)
            print(f"exchange DID: {opened.identity.did}", flush=True)
            await server.stopped

    run_service(serve())
