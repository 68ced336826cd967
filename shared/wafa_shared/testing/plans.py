"""The plan PostgreSQL picks for a statement whatever its parameters: tests check that hot
lookups reach their (often partial) indexes, which a generic plan does only when the index
predicate is written literally in the SQL."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ClauseElement
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_shared.db import driver


def numbered(stmt: ClauseElement) -> tuple[str, int]:
    """The statement's SQL with `$n` placeholders, as asyncpg prepares it, and how many there are."""
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}))
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in names:
            names.append(m.group(1))
        return f"${names.index(m.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), len(names) if names else 0


async def generic_plan(session: AsyncSession, stmt: ClauseElement | str, params: int = 0) -> str:
    """EXPLAIN of `stmt` (a statement, or SQL with `params` `$n` placeholders) planned
    generically with sequential scans off: a `Seq Scan` left in it means no index can serve it."""
    sql, n = numbered(stmt) if isinstance(stmt, ClauseElement) else (stmt, params)
    conn: Any = await driver(session)
    await conn.execute(f"SET LOCAL plan_cache_mode = force_generic_plan; SET LOCAL enable_seqscan = off; PREPARE generic_plan AS {sql}")
    try:
        args = f"({', '.join(['NULL'] * n)})" if n else ""
        return "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN EXECUTE generic_plan{args}"))
    finally:
        await conn.execute("DEALLOCATE generic_plan")
