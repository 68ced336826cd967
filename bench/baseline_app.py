"""The baseline for HTTP benchmarks: a bare FastAPI + asyncpg endpoint doing one insert."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    customer_id: str
    amount: str


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
