"""Cursor pagination: stable order on unique sort keys, opaque cursors, `limit` and `cursor`.

A cursor encodes the sort-key values of the last item of a page; the next page starts
strictly after them (keyset pagination), so pages stay consistent while rows are added.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, cast, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from wafa_shared.problems import ProblemError

T = TypeVar("T")
MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(None, description="Pass as `cursor` to get the next page; null on the last page.")


class PageParams(BaseModel):
    limit: int
    cursor: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([str(v) if not isinstance(v, (int, float, str, type(None))) else v for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise ProblemError(400, "invalid-cursor", "The cursor is not valid; use `next_cursor` from a previous page.") from None
    if not isinstance(values, list) or len(values) != width:
        raise ProblemError(400, "invalid-cursor", "The cursor is not valid; use `next_cursor` from a previous page.")
    return values


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    keys: Sequence[ColumnElement[Any]],
    params: PageParams,
    cursor_of: Callable[[Any], Sequence[Any]],
    *,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` (a single-entity select) ordered by `keys`, which must be unique
    together, and the cursor of the next page. `cursor_of(item)` gives an item's key values."""
    if params.cursor:
        values = decode_cursor(params.cursor, len(keys))
        bound = tuple_(*keys)
        after = tuple_(*[cast(literal(v), k.type) for k, v in zip(keys, values, strict=True)])
        stmt = stmt.where(bound < after if descending else bound > after)
    order = [k.desc() if descending else k.asc() for k in keys]
    items = list((await session.scalars(stmt.order_by(*order).limit(params.limit + 1))).all())
    nxt = None
    if len(items) > params.limit:
        items = items[: params.limit]
        nxt = encode_cursor(cursor_of(items[-1]))
    return items, nxt
