"""The `wafa` command: run the platform, mint tokens, migrate, and operate running services
(dead letters, outbox, webhook redelivery, jobs, consumer lag)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from wafa_shared import ops_cli
from wafa_shared.auth import mint_token
from wafa_shared.settings import DEV_JWT_SECRET

app = typer.Typer(help="Wafa operations.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(ops_cli.dlq_app, name="dlq")
app.add_typer(ops_cli.outbox_app, name="outbox")
app.add_typer(ops_cli.webhooks_app, name="webhooks")
app.add_typer(ops_cli.jobs_app, name="jobs")
app.command("lag")(ops_cli.lag)


@app.command()
def run(
    home: Annotated[Path, typer.Option(help="Where embedded data and logs live.")] = Path(".wafa"),
    pg_port: Annotated[int, typer.Option(envvar="WAFA_PG_PORT")] = 55432,
    broker_port: Annotated[int, typer.Option(envvar="WAFA_BROKER_PORT")] = 9092,
) -> None:
    """Start the whole platform on the embedded defaults (Ctrl-C stops it)."""
    from wafa_shared.launcher import run as launch

    launch(home, pg_port, broker_port)


@token_app.command("mint")
def mint(
    subject: Annotated[str, typer.Option("--sub", help="Who the token is for.")] = "dev",
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Repeat for several, e.g. loyalty:write.")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds.")] = 3600,
) -> None:
    """Print a signed bearer token (uses WAFA_JWT_SECRET)."""
    secret = os.environ.get("WAFA_JWT_SECRET", DEV_JWT_SECRET)
    typer.echo(mint_token(secret, subject, scope or ["admin"], ttl_s=ttl, issuer=os.environ.get("WAFA_JWT_ISSUER", "wafa")))


@app.command()
def migrate(service: Annotated[list[str] | None, typer.Argument(help="Services to migrate (default: all installed).")] = None) -> None:
    """Migrate service databases named by their `<PREFIX>DATABASE_URL` settings."""
    from wafa_shared.migrations import upgrade
    from wafa_shared.services import installed_services

    for s in installed_services():
        if service and s.name not in service:
            continue
        module = s.app_module()
        settings = module.Settings()  # type: ignore[union-attr]
        asyncio.run(upgrade(settings.database_url, s.migrations_dir()))
        typer.echo(f"migrated {s.name}")


if __name__ == "__main__":
    app()
