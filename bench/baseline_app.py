"""The baseline for HTTP benchmarks: bare FastAPI + asyncpg endpoints, one insert each (one row,
or one statement for a whole batch of purchases)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel

pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    global pool
    dsn = os.environ["BASELINE_DSN"]
    admin = await asyncpg.connect(dsn.rsplit("/", 1)[0] + "/postgres")
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'wafa_baseline'"):
        await admin.execute("CREATE DATABASE wafa_baseline")
    await admin.close()
    pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
    await pool.execute("CREATE TABLE IF NOT EXISTS items (id uuid PRIMARY KEY, customer_id text, amount numeric)")
    await pool.execute("CREATE TABLE IF NOT EXISTS orders (id uuid PRIMARY KEY, order_id text UNIQUE, customer_id uuid, amount numeric)")
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    customer_id: str
    amount: str


class Line(BaseModel):
    sku: str
    category: str | None = None
    quantity: Decimal
    unit_price: Decimal


class Order(BaseModel):
    """The body of a loyalty purchase, parsed the same way; only the order is stored."""

    customer_id: uuid.UUID
    order_id: str
    occurred_at: datetime
    currency: str
    channel: str | None = None
    store: str | None = None
    lines: list[Line]


class Orders(BaseModel):
    purchases: list[Order]


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/items", status_code=201)
async def create(item: Item) -> dict[str, str]:
    assert pool is not None
    item_id = uuid.uuid4()
    await pool.execute("INSERT INTO items VALUES ($1, $2, $3)", item_id, item.customer_id, item.amount)
    return {"id": str(item_id)}


@app.get("/items/{item_id}")
async def read(item_id: uuid.UUID) -> dict[str, str]:
    assert pool is not None
    row = await pool.fetchrow("SELECT customer_id, amount FROM items WHERE id = $1", item_id)
    return {"customer_id": row["customer_id"], "amount": str(row["amount"])} if row else {}


@app.post("/orders/batch")
async def create_orders(body: Orders) -> dict[str, list[dict[str, str]]]:
    """The whole batch in one idempotent multi-row insert: what any batch endpoint costs here."""
    assert pool is not None
    ids = [uuid.uuid4() for _ in body.purchases]
    amounts = [sum((line.quantity * line.unit_price for line in o.lines), Decimal(0)) for o in body.purchases]
    await pool.execute(
        "INSERT INTO orders SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::numeric[]) ON CONFLICT (order_id) DO NOTHING",
        ids,
        [o.order_id for o in body.purchases],
        [o.customer_id for o in body.purchases],
        amounts,
    )
    return {"results": [{"id": str(i)} for i in ids]}
