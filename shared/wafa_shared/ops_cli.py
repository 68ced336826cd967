"""`wafa` ops commands that talk to running services over their HTTP ops API.

Each service's base URL comes from `WAFA_<SERVICE>_URL` (default: its dev port on localhost);
the token from `WAFA_TOKEN`, or one minted with `WAFA_JWT_SECRET` (dev).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from wafa_shared.auth import mint_token
from wafa_shared.services import SERVICES, ServiceInfo
from wafa_shared.settings import DEV_JWT_SECRET

dlq_app = typer.Typer(help="Dead letters: events consumers gave up on.", no_args_is_help=True)
outbox_app = typer.Typer(help="The transactional outbox of each service.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Outbound webhook deliveries.", no_args_is_help=True)
jobs_app = typer.Typer(help="Time-driven jobs.", no_args_is_help=True)
customers_app = typer.Typer(help="Customer data.", no_args_is_help=True)

ServiceArg = Annotated[str, typer.Argument(help="customer, loyalty, survey, analytics or touch-scheduler.")]
ServicesOpt = Annotated[list[str] | None, typer.Option("--service", "-s", help="Limit to these services (repeat).")]


def _info(name: str) -> ServiceInfo:
    for s in SERVICES:
        if s.name == name:
            return s
    raise typer.BadParameter(f"unknown service {name!r}; one of {', '.join(s.name for s in SERVICES)}")


def base_url(info: ServiceInfo) -> str:
    return os.environ.get(f"{info.env_prefix}URL", f"http://127.0.0.1:{info.port}").rstrip("/")


def _client() -> httpx.Client:
    token = os.environ.get("WAFA_TOKEN") or mint_token(os.environ.get("WAFA_JWT_SECRET", DEV_JWT_SECRET), "wafa-cli", ["admin"])
    return httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _call(method: str, info: ServiceInfo, path: str, **kwargs: Any) -> Any:
    with _client() as client:
        r = client.request(method, base_url(info) + path, **kwargs)
    if r.status_code >= 400:
        typer.echo(f"{info.name}: {r.status_code} {r.text}", err=True)
        raise typer.Exit(1)
    return r.json() if r.content else None


def _selected(names: list[str] | None) -> list[ServiceInfo]:
    return [_info(n) for n in names] if names else list(SERVICES)


def _reachable(info: ServiceInfo) -> bool:
    try:
        return httpx.get(base_url(info) + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@dlq_app.command("list")
def dlq_list(service: ServicesOpt = None) -> None:
    """List dead letters waiting for a decision."""
    for info in _selected(service):
        if not _reachable(info):
            continue
        for d in _call("GET", info, "/v1/ops/dead-letters", params={"limit": 500})["items"]:
            typer.echo(f"{info.name}\t{d['id']}\t{d['consumer']}\t{d['event_type']}\t{d['attempts']}\t{d['error'][:120]}")


@dlq_app.command("replay")
def dlq_replay(service: ServiceArg, dead_letter_id: int) -> None:
    """Apply a dead letter again (idempotent: an effect already applied is not repeated)."""
    result = _call("POST", _info(service), f"/v1/ops/dead-letters/{dead_letter_id}/replay")
    typer.echo(f"{service}\t{dead_letter_id}\t{result['status']}")


@outbox_app.command("status")
def outbox_status(service: ServicesOpt = None) -> None:
    """Backlog (unpublished events) and retained rows per service."""
    for info in _selected(service):
        if _reachable(info):
            stats = _call("GET", info, "/v1/ops/outbox")
            typer.echo(f"{info.name}\tbacklog={stats['backlog']}\tretained={stats['retained']}\toldest_unpublished={stats['oldest_unpublished_at']}")


@outbox_app.command("republish")
def outbox_republish(
    since: Annotated[datetime, typer.Option(help="Re-publish retained events created at or after this time (UTC).")],
    service: ServicesOpt = None,
) -> None:
    """Publish retained events again, e.g. after the broker lost its data."""
    for info in _selected(service):
        if _reachable(info):
            result = _call("POST", info, "/v1/ops/outbox/republish", json={"since": since.isoformat()})
            typer.echo(f"{info.name}\tqueued={result['queued']}")


@webhooks_app.command("redeliver")
def webhooks_redeliver(service: ServiceArg, delivery_id: str) -> None:
    """Send one delivery again now."""
    result = _call("POST", _info(service), f"/v1/webhooks/deliveries/{delivery_id}/redeliver")
    typer.echo(f"{service}\t{delivery_id}\t{result['status']}")


@jobs_app.command("run")
def jobs_run(service: ServiceArg, name: str) -> None:
    """Run a time-driven job now (e.g. analytics' CLV fit, loyalty's expiry)."""
    result = _call("POST", _info(service), f"/v1/ops/jobs/{name}/run")
    typer.echo(f"{service}\t{name}\t{result.get('result')}")


_IMPORT_TYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@customers_app.command("import")
def customers_import(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV (header row) or JSONL file of customers.")],
    format: Annotated[str | None, typer.Option(help="csv or jsonl (default: from the file's extension).")] = None,
    source: Annotated[str, typer.Option(help="External-id source of rows that name none.")] = "import",
) -> None:
    """Import customers (upsert on external id) and follow the job's progress to the end.
    Exits 1 if the import failed or any row was refused (the refused rows are listed)."""
    fmt = format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    if fmt not in _IMPORT_TYPES:
        raise typer.BadParameter("format is csv or jsonl")
    info = _info("customer")
    with _client() as client, path.open("rb") as body:
        r = client.post(
            base_url(info) + "/v1/customers/import", params={"source": source}, content=body, headers={"Content-Type": _IMPORT_TYPES[fmt]}, timeout=None
        )
        if r.status_code >= 400:
            typer.echo(f"customer: {r.status_code} {r.text}", err=True)
            raise typer.Exit(1)
        job = r.json()
        while job["status"] == "running":
            typer.echo(f"\r{job['rows_read']} rows read, {job['created']} created, {job['updated']} updated, {job['failed']} refused", nl=False, err=True)
            time.sleep(0.5)  # polling a job for a person watching, not synchronising anything
            job = client.get(base_url(info) + f"/v1/imports/{job['id']}").raise_for_status().json()
    typer.echo("", err=True)
    for e in job["errors"]:
        typer.echo(f"row {e.get('row')}: {e.get('field') or ''} {e.get('message')}", err=True)
    typer.echo(f"{job['id']}\t{job['status']}\trows={job['rows_read']}\tcreated={job['created']}\tupdated={job['updated']}\trefused={job['failed']}")
    if job["status"] != "completed" or job["failed"]:
        raise typer.Exit(1)


_SAMPLE = re.compile(r"^(wafa_consumer_lag|wafa_outbox_backlog|wafa_dlq_size)\{([^}]*)\} ([0-9.e+-]+)$")


def lag(service: ServicesOpt = None) -> None:
    """Consumer lag, outbox backlog and dead letters of each running service (from /metrics)."""
    for info in _selected(service):
        if not _reachable(info):
            typer.echo(f"{info.name}\tnot running")
            continue
        text = httpx.get(base_url(info) + "/metrics", timeout=5).text
        totals: dict[str, float] = {}
        for line in text.splitlines():
            m = _SAMPLE.match(line)
            if m:
                labels = dict(kv.split("=", 1) for kv in m.group(2).split(","))
                key = m.group(1) if m.group(1) != "wafa_consumer_lag" else f"lag[{labels.get('consumer', '').strip(chr(34))}]"
                totals[key] = totals.get(key, 0) + float(m.group(3))
        shown = "\t".join(f"{k}={int(v)}" for k, v in sorted(totals.items())) or "no consumers or outbox activity yet"
        typer.echo(f"{info.name}\t{shown}")
