"""Rows encoded by `wafa_shared.pgcopy` are stored exactly as asyncpg stores the same values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from wafa_shared import pgcopy
from wafa_shared.migrations import asyncpg_dsn

COLUMNS = ("id", "name", "doc", "amount", "n", "flag", "at")
NUMERICS = [Decimal(v) for v in ("0", "0.00", "1", "12.50", "-3.25", "0.0001", "10000", "123456789.123456789", "-0.5", "99999999.99", "1E+5", "7.000")]


def encode(row: tuple[Any, ...]) -> bytes:
    rid, name, doc, amount, n, flag, at = row
    return b"".join(
        (
            pgcopy.field_count(len(COLUMNS)),
            pgcopy.uuid_field(rid),
            pgcopy.text_field(name),
            pgcopy.jsonb_field(doc),
            pgcopy.numeric_field(amount),
            pgcopy.int4_field(n),
            pgcopy.bool_field(flag),
            pgcopy.timestamptz_field(at),
        )
    )


async def test_binary_copy_matches_asyncpg_for_every_type(infra: Any) -> None:
    base = datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    rows = [
        (
            uuid.uuid4(),
            None if k == 3 else f"اسم {k} — name",
            f'{{"k": {k}, "ar": "وفاء"}}',
            NUMERICS[k % len(NUMERICS)],
            k - 5,
            k % 2 == 0,
            None if k == 4 else base + timedelta(days=400 * k, microseconds=k),
        )
        for k in range(len(NUMERICS) * 2)
    ]
    conn = await asyncpg.connect(asyncpg_dsn(infra.db_url("postgres")))
    try:
        for table in ("copy_ours", "copy_theirs"):
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
            await conn.execute(f"CREATE TABLE {table} (id uuid, name text, doc jsonb, amount numeric(30, 10), n int, flag boolean, at timestamptz)")
        # Ours streamed in two pieces, as an async iterable; theirs through asyncpg's encoders.
        half = len(rows) // 2

        async def pieces() -> Any:
            yield b"".join(encode(r) for r in rows[:half])
            yield b"".join(encode(r) for r in rows[half:])

        await pgcopy.copy_binary(conn, "copy_ours", COLUMNS, pieces())
        await conn.copy_records_to_table("copy_theirs", records=rows, columns=list(COLUMNS))
        ours = await conn.fetch("SELECT * FROM copy_ours ORDER BY id")
        theirs = await conn.fetch("SELECT * FROM copy_theirs ORDER BY id")
        assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
        assert len(ours) == len(rows)
        # The display scale is the value's: 12.50 stays 12.50 in a numeric without a typmod.
        await conn.execute("CREATE TEMP TABLE copy_scale (amount numeric)")
        await pgcopy.copy_binary(conn, "copy_scale", ["amount"], [pgcopy.field_count(1) + pgcopy.numeric_field(v) for v in NUMERICS])
        stored = [r["t"] for r in await conn.fetch("SELECT amount::text AS t FROM copy_scale")]
        assert stored == [str(Decimal(v)) if "E" not in str(v) else f"{v:f}" for v in NUMERICS]
    finally:
        await conn.close()


def test_non_finite_numerics_are_refused() -> None:
    with pytest.raises(ValueError):
        pgcopy.numeric_field(Decimal("NaN"))
