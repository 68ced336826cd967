"""Bulk import of customers from CSV or JSONL: streamed, upserted on external id, with a
per-row error report; good rows are kept whatever happens to bad ones.

The body is spooled to a temporary file while it is received (constant memory), then read
row by row. Each chunk of valid rows is applied in one transaction with set-based SQL
(one multi-row insert of new customers, their external ids, lifecycle rows and events), and
the job's progress is committed with it, so `GET /v1/imports/{id}` shows progress while it
runs and a crash loses at most the chunk in flight (re-running the import is safe: rows upsert).

Row format: the fields of `POST /v1/customers`, plus `external_id` (required) and
`external_source` (default: the `source` query parameter). CSV: one column per field, `tags`
separated by `|`, custom attributes as `attr:<name>` columns and custom dates as `date:<name>`
columns; empty cells leave a field as it is. JSONL: one object per line; `null` clears a field.
"""

from __future__ import annotations

import asyncio
import csv
import functools
import io
import logging
import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import IO, Any

import orjson
from pydantic import Field, ValidationError
from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from wafa_customer import service
from wafa_customer.domain import contact
from wafa_customer.domain.attributes import FieldDef, validate_attributes
from wafa_customer.models import Customer, ExternalId, ImportJob
from wafa_customer.schemas import Kind, ProfileFields, Stage
from wafa_shared.clock import Clock
from wafa_shared.db import driver
from wafa_shared.events import Event, new_event
from wafa_shared.events.customer import CustomerRegistered, CustomerUpdated
from wafa_shared.outbox import add_events

log = logging.getLogger("wafa.customer.import")


class ImportRow(ProfileFields):
    kind: Kind | None = None
    lifecycle: Stage | None = None
    external_id: str = Field(min_length=1, max_length=200)
    external_source: str | None = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,50}$")


class RowError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(field, message)  # both in args: picklable to and from the parser process
        self.field = field
        self.message = message


def csv_records(f: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, fields) of a CSV file with a header; empty cells are left out."""
    reader = csv.reader(f)
    header = [h.strip() for h in next(reader, [])]
    for n, cells in enumerate(reader, start=1):
        if not any(c.strip() for c in cells):
            continue
        rec: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        dates: dict[str, Any] = {}
        for name, raw in zip(header, cells, strict=False):
            value = raw.strip()
            if not value:
                continue
            if name.startswith("attr:"):
                attrs[name[5:]] = value
            elif name.startswith("date:"):
                dates[name[5:]] = value
            elif name == "tags":
                rec["tags"] = [t for t in (x.strip() for x in value.split("|")) if t]
            else:
                rec[name] = value
        if attrs:
            rec["attributes"] = attrs
        if dates:
            rec["custom_dates"] = dates
        yield n, rec


def jsonl_records(f: IO[str]) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for n, line in enumerate(f, start=1):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield n, RowError(None, f"not JSON: {exc}")
            continue
        yield n, value if isinstance(value, dict) else RowError(None, "each line must be a JSON object")


def _coerce_csv_attributes(values: dict[str, Any], defs: dict[str, FieldDef]) -> dict[str, Any]:
    """CSV cells are text; read numbers and booleans as the field definitions say."""
    out = {}
    for k, v in values.items():
        d = defs.get(k)
        if d is not None and isinstance(v, str):
            if d.type == "number":
                try:
                    v = float(v) if any(ch in v for ch in ".eE") else int(v)
                except ValueError:
                    pass
            elif d.type == "boolean" and v.lower() in ("true", "false", "1", "0", "yes", "no"):
                v = v.lower() in ("true", "1", "yes")
        out[k] = v
    return out


def parse_row(raw: dict[str, Any], *, from_csv: bool, defs: dict[str, FieldDef], default_country: str, source: str) -> tuple[tuple[str, str], dict[str, Any]]:
    """((source, external id), the fields the row sets, normalised) or RowError."""
    if from_csv and "attributes" in raw:
        raw = {**raw, "attributes": _coerce_csv_attributes(raw["attributes"], defs)}
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RowError(".".join(str(p) for p in first["loc"]) or None, first["msg"]) from None
    fields = {k: getattr(row, k) for k in row.model_fields_set if k not in ("external_id", "external_source")}
    if "company_id" in fields:
        raise RowError("company_id", "company links are not imported; set them with PATCH /v1/customers/{id}")
    if "phone" in fields:
        try:
            fields["phone"] = contact.normalize_phone(fields["phone"], row.country or default_country) if fields["phone"] else None
        except contact.InvalidContact as exc:
            raise RowError("phone", str(exc)) from None
    if fields.get("attributes"):
        problems = validate_attributes(fields["attributes"], defs, partial=True)
        if problems:
            raise RowError(f"attributes.{problems[0][0]}", problems[0][1])
    if fields.get("custom_dates") is not None:
        fields["custom_dates"] = {k: v.isoformat() for k, v in fields["custom_dates"].items()}
    if "tags" in fields:
        fields["tags"] = sorted(set(fields["tags"] or []))
    return (row.external_source or source, row.external_id), fields


class ChunkResult:
    def __init__(self) -> None:
        self.created = 0
        self.updated = 0
        self.errors: list[dict[str, Any]] = []


async def apply_chunk(session: AsyncSession, rows: list[tuple[int, tuple[str, str], dict[str, Any]]], *, now: datetime, source_service: str) -> ChunkResult:
    """Upsert one chunk of valid rows (row number, key, fields) in the session's transaction."""
    result = ChunkResult()
    latest: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
    for n, key, fields in rows:  # a key repeated in the chunk: its rows apply in order (merged)
        prev = latest.get(key)
        latest[key] = (n, {**prev[1], **fields} if prev else fields)
        if prev:
            result.updated += 1
    keys = list(latest)
    owners = dict(
        ((s, e), cid)
        for s, e, cid in (
            await session.execute(
                select(ExternalId.source, ExternalId.external_id, ExternalId.customer_id).where(tuple_(ExternalId.source, ExternalId.external_id).in_(keys))
            )
        ).all()
    )
    existing = {c.id: c for c in (await session.execute(select(Customer).where(Customer.id.in_(set(owners.values()))).with_for_update())).scalars()}
    emails = {f["email"] for _, f in latest.values() if f.get("email")}
    holders: dict[str, uuid.UUID] = dict((await session.execute(select(Customer.email, Customer.id).where(Customer.email.in_(emails)))).all()) if emails else {}
    claimed: dict[str, uuid.UUID] = {}
    new_rows: list[dict[str, Any]] = []
    new_keys: list[tuple[tuple[str, str], uuid.UUID]] = []
    events: list[Event] = []
    for key in keys:
        n, fields = latest[key]
        cid = owners.get(key)
        target = cid or uuid.uuid4()
        email = fields.get("email")
        if email:
            holder = claimed.get(email) or holders.get(email)
            if holder is not None and holder != target:
                result.errors.append({"row": n, "field": "email", "message": "another customer already has this email", "external_id": key[1]})
                continue
            claimed[email] = target
        if cid is None:
            new_rows.append(_new_customer(target, fields, now))
            new_keys.append((key, target))
        else:
            c = existing[cid]
            if c.erased_at is not None:
                result.errors.append({"row": n, "field": None, "message": "this customer was erased", "external_id": key[1]})
                continue
            changed = _apply_update(c, fields, now)
            result.updated += 1
            if changed:
                events.append(new_event(CustomerUpdated(**service.contact_profile(c), changed=changed, updated_at=now), source=source_service, subject=c.id))
    if new_rows:
        await _copy_new(session, new_rows, new_keys, now)
        for r in new_rows:
            profile = service.contact_profile(SimpleNamespace(first_purchase_at=None, **r))  # type: ignore[arg-type]
            # the row's values were validated above: build the payload without validating again
            events.append(new_event(CustomerRegistered.model_construct(**profile, registered_at=now, referred_by=None), source=source_service, subject=r["id"]))
        result.created += len(new_rows)
    await session.flush()
    await add_events(session, events)
    return result


async def _copy_new(session: AsyncSession, rows: list[dict[str, Any]], keys: list[tuple[tuple[str, str], uuid.UUID]], now: datetime) -> None:
    """Insert new customers, their external ids and first lifecycle rows with COPY, in the
    session's own transaction (several times faster than multi-row INSERT for big chunks)."""
    pg = await driver(session)
    cols = list(rows[0])
    json_cols = {"attributes", "custom_dates"}
    records = [tuple(orjson.dumps(r[c]).decode() if c in json_cols else r[c] for c in cols) for r in rows]
    await pg.copy_records_to_table("customers", records=records, columns=cols)
    await pg.copy_records_to_table("customer_external_ids", records=[(k[0], k[1], cid) for k, cid in keys], columns=["source", "external_id", "customer_id"])
    await pg.copy_records_to_table(
        "lifecycle_changes", records=[(r["id"], r["lifecycle"], "import", now) for r in rows], columns=["customer_id", "to_stage", "reason", "changed_at"]
    )


def _new_customer(cid: uuid.UUID, fields: dict[str, Any], now: datetime) -> dict[str, Any]:
    given, family = fields.get("given_name"), fields.get("family_name")
    row: dict[str, Any] = {f: fields.get(f) for f in service.PROFILE_FIELDS}
    row.update(
        id=cid,
        kind=fields.get("kind") or "person",
        lifecycle=fields.get("lifecycle") or "customer",
        display_name=service.display_name_of(given, family, fields.get("display_name")),
        email_canonical=contact.canonical_email(fields["email"]) if fields.get("email") else None,
        attributes=fields.get("attributes") or {},
        custom_dates=fields.get("custom_dates") or {},
        tags=fields.get("tags") or [],
        referral_code=contact.new_referral_code(10),
        purchase_count=0,
        total_spend=Decimal(0),
        created_at=now,
        updated_at=now,
    )
    row["search_name"] = contact.search_key(given, family, fields.get("display_name"))
    return row


def _apply_update(c: Customer, fields: dict[str, Any], now: datetime) -> list[str]:
    changed = []
    for f, v in fields.items():
        if f == "attributes" and v is not None:
            v = {**c.attributes, **v}
        elif f == "custom_dates" and v is not None:
            v = {**c.custom_dates, **v}
        elif f in ("kind", "lifecycle") and v is None:
            continue
        if getattr(c, f) != v:
            setattr(c, f, v)
            changed.append(f)
    if not changed:
        return []
    if "email" in changed:
        c.email_canonical = contact.canonical_email(c.email) if c.email else None
    if {"given_name", "family_name", "display_name"} & set(changed):
        if "display_name" not in fields:
            c.display_name = service.display_name_of(c.given_name, c.family_name, None) if c.kind == "person" else c.display_name
        c.search_name = service.name_key(c)
    c.updated_at = now
    return sorted(changed)


async def _save_progress(session: AsyncSession, job_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def run_import(
    sessions: async_sessionmaker[AsyncSession],
    job_id: uuid.UUID,
    f: IO[str],
    *,
    fmt: str,
    source: str,
    clock: Clock,
    default_country: str,
    chunk_rows: int,
    max_errors: int,
    service_name: str,
    wake: Callable[[], None] = lambda: None,
    use_process_pool: bool = False,
) -> None:
    """Read and apply the whole file; the job row records progress, counts and row errors."""
    async with sessions() as s:
        defs = await service.field_defs(s)
    records: Iterator[tuple[int, Any]] = csv_records(f) if fmt == "csv" else jsonl_records(f)
    rows_read = created = updated = failed = 0
    errors: list[dict[str, Any]] = []

    def fail(n: int, field: str | None, message: str, ext: str | None = None) -> None:
        nonlocal failed
        failed += 1
        if len(errors) < max_errors:
            errors.append({"row": n, "field": field, "message": message, "external_id": ext})

    parse = functools.partial(parse_batch, from_csv=fmt == "csv", defs=defs, default_country=default_country, source=source)
    pool = _parser_pool() if use_process_pool else None
    loop = asyncio.get_running_loop()

    async def parsed(batch: list[tuple[int, Any]]) -> tuple[list[tuple[int, tuple[str, str], dict[str, Any]]], list[dict[str, Any]]]:
        return await loop.run_in_executor(pool, parse, batch) if pool is not None else parse(batch)

    try:
        batches = _raw_batches(records, chunk_rows)
        # With a parser process, chunk k+1 is parsed on the other core while chunk k is applied.
        ahead = asyncio.ensure_future(parsed(next(batches, [])))
        while True:
            batch_rows, bad = await ahead
            nxt = next(batches, None)
            if nxt is not None:
                ahead = asyncio.ensure_future(parsed(nxt))
            chunk = batch_rows
            for e in bad:
                fail(e["row"], e["field"], e["message"], e["external_id"])
            rows_read += len(batch_rows) + len(bad)
            now = clock.now()
            for attempt in range(3):
                try:
                    async with sessions() as s, s.begin():
                        res = await apply_chunk(s, chunk, now=now, source_service=service_name) if chunk else ChunkResult()
                        await _save_progress(
                            s, job_id, rows_read=rows_read, created=created + res.created, updated=updated + res.updated, failed=failed + len(res.errors)
                        )
                    wake()
                    break
                except IntegrityError:
                    # a referral-code collision or a concurrent write of the same email: retry the chunk
                    if attempt == 2:
                        raise
            created += res.created
            updated += res.updated
            for e in res.errors:
                fail(e["row"], e["field"], e["message"], e["external_id"])
            if nxt is None:
                break
        async with sessions() as s, s.begin():
            errors.sort(key=lambda e: e["row"])
            await _save_progress(
                s, job_id, status="completed", rows_read=rows_read, created=created, updated=updated, failed=failed, errors=errors, finished_at=clock.now()
            )
    except BaseException as exc:
        log.exception("import failed", extra={"job_id": str(job_id)})
        try:
            async with sessions() as s, s.begin():
                await _save_progress(s, job_id, status="failed", error=repr(exc)[:2000], errors=errors, finished_at=clock.now())
        except Exception:  # noqa: BLE001 - best effort while shutting down; the job then stays `running`
            log.warning("could not record the failed import", extra={"job_id": str(job_id)})
        if not isinstance(exc, Exception):
            raise
    finally:
        f.close()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _raw_batches(records: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    batch: list[tuple[int, Any]] = []
    for rec in records:
        batch.append(rec)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_batch(
    batch: list[tuple[int, Any]], *, from_csv: bool, defs: dict[str, FieldDef], default_country: str, source: str
) -> tuple[list[tuple[int, tuple[str, str], dict[str, Any]]], list[dict[str, Any]]]:
    """Valid rows (row number, key, fields) and row errors of one batch. Pure: it may run in a
    parser process."""
    good: list[tuple[int, tuple[str, str], dict[str, Any]]] = []
    bad: list[dict[str, Any]] = []
    for n, raw in batch:
        if isinstance(raw, RowError):
            bad.append({"row": n, "field": raw.field, "message": raw.message, "external_id": None})
            continue
        try:
            key, fields = parse_row(raw, from_csv=from_csv, defs=defs, default_country=default_country, source=source)
        except RowError as exc:
            bad.append({"row": n, "field": exc.field, "message": exc.message, "external_id": str(raw.get("external_id") or "") or None})
            continue
        good.append((n, key, fields))
    return good, bad


def _parser_pool() -> ProcessPoolExecutor:
    """One parser process (validation and phone/email normalisation are CPU-bound), started
    fresh from `forkserver` so it shares nothing with the event loop's process."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"))


def open_text(raw: IO[bytes]) -> IO[str]:
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
