"""``vrm serve``: run a party as a long-lived HTTP service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vrm.demo.peer import create_peer
from vrm.transport.address_policy import AddressPolicy
from vrm.transport.serving import LocalServer, run_service

app = typer.Typer(help="Run a vrm service.", no_args_is_help=True)


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
    policy = AddressPolicy(allow_loopback=allow_loopback, allow_private=allow_private)
    built = create_peer(name=name, home=home, policy=policy, public_url=public_url)

    async def serve() -> None:
        async with LocalServer(built.app, host=host, port=port) as server:
            print(f"listening on {server.url}", flush=True)
            await server.stopped  # until a signal stops it

    run_service(serve())
