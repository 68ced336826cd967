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
app.add_typer(ops_cli.customers_app, name="customers")
app.command("lag")(ops_cli.lag)
demo_app = typer.Typer(help="The demo business.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")


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


@demo_app.command("seed")
def demo_seed(
    customers: Annotated[int, typer.Option(help="How many customers join over the period.")] = 2000,
    months: Annotated[int, typer.Option(help="How many months of history.")] = 18,
    seed: Annotated[int, typer.Option(help="Same seed, same business; loading it twice adds nothing.")] = 7,
) -> None:
    """Load a synthetic business into the running platform through its public APIs
    (service URLs from `WAFA_<SERVICE>_URL`, default the dev ports)."""
    from wafa_shared.demo import seed_demo
    from wafa_shared.demo.progress import ProgressBar
    from wafa_shared.services import SERVICES

    urls = {s.name: ops_cli.base_url(s) for s in SERVICES}
    token = os.environ.get("WAFA_TOKEN") or mint_token(os.environ.get("WAFA_JWT_SECRET", DEV_JWT_SECRET), "wafa-demo", ["admin"])
    bar = ProgressBar()
    summary = asyncio.run(seed_demo(urls, token, customers=customers, months=months, seed=seed, progress=bar))
    bar.close()
    typer.echo(
        f"loaded {summary.customers} customers, {summary.purchases} purchases ({summary.revenue} SAR), "
        f"{summary.referrals} referrals, {summary.responses} survey responses in {summary.seconds} s"
    )


if __name__ == "__main__":
    app()
