"""Segments: dynamic ones are a rule (see `domain.segment_rules`) compiled to one SQL `WHERE`
over `customers` and evaluated set-based in PostgreSQL; static ones are a stored member list.
Erased customers are never members."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, false, func, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wafa_customer.domain.segment_rules import FIELDS, RuleError, validate_rule
from wafa_customer.models import Customer, Segment, SegmentMember
from wafa_customer.service import invalid
from wafa_shared.problems import ProblemError, conflict, not_found


def compile_rule(rule: dict[str, Any], now: datetime) -> ColumnElement[bool]:
    """The SQL condition of a (validated) rule. `within_days` counts back from `now`."""
    if "all" in rule:
        return and_(*[compile_rule(r, now) for r in rule["all"]])
    if "any" in rule:
        return or_(*[compile_rule(r, now) for r in rule["any"]])
    if "not" in rule:
        inner = compile_rule(rule["not"], now)
        return not_(func.coalesce(inner, false()))
    field, op, value = rule["field"], rule["op"], rule.get("value")
    col: Any = getattr(Customer, field)
    ftype = FIELDS[field]
    if op == "exists":
        return col.is_not(None) if value else col.is_(None)
    if ftype == "tags":
        return col.contains([value]) if op == "contains" else col.overlap(list(value or []))
    if op in ("within_days", "not_within_days"):
        since: Any = now - timedelta(days=int(value or 0))
        if ftype == "date":
            since = since.date()
        return col >= since if op == "within_days" else or_(col < since, col.is_(None))
    if op in ("before", "after"):
        day = date.fromisoformat(str(value))
        bound: Any = day if ftype == "date" else datetime.combine(day, datetime.min.time(), tzinfo=now.tzinfo)
        return col < bound if op == "before" else col >= bound + timedelta(days=1)
    if ftype == "number":
        value = Decimal(str(value))
    ops: dict[str, Any] = {
        "eq": lambda: col == value,
        "ne": lambda: or_(col != value, col.is_(None)),
        "gt": lambda: col > value,
        "gte": lambda: col >= value,
        "lt": lambda: col < value,
        "lte": lambda: col <= value,
        "in": lambda: col.in_(value),
        "not_in": lambda: or_(col.not_in(value), col.is_(None)),
        "starts_with": lambda: col.startswith(value, autoescape=True),
    }
    return ops[op]()  # type: ignore[no-any-return]


def check_rule(rule: Any) -> dict[str, Any]:
    try:
        validate_rule(rule)
    except RuleError as exc:
        raise ProblemError(422, "invalid-segment-rule", str(exc), errors=[{"field": exc.path, "in": "body", "message": exc.message}]) from None
    return rule  # type: ignore[no-any-return]


async def create_segment(
    session: AsyncSession, *, name: str, kind: str, rule: dict[str, Any] | None, description: str | None, members: list[uuid.UUID], now: datetime
) -> Segment:
    if kind == "dynamic":
        if rule is None:
            raise ProblemError(
                422, "validation-error", "Invalid input: rule", errors=[{"field": "rule", "in": "body", "message": "a dynamic segment needs a rule"}]
            )
        check_rule(rule)
        if members:
            raise ProblemError(
                422,
                "validation-error",
                "Invalid input: members",
                errors=[{"field": "members", "in": "body", "message": "members are only for static segments"}],
            )
    elif rule is not None:
        raise invalid("rule", "a static segment has no rule")
    seg = Segment(id=uuid.uuid4(), name=name, kind=kind, rule=rule, description=description, created_at=now)
    session.add(seg)
    try:
        await session.flush()
    except IntegrityError:
        raise conflict("duplicate-segment-name", f"A segment named {name!r} exists.") from None
    if members:
        await add_members(session, seg, members)
    return seg


async def get_segment(session: AsyncSession, segment_id: uuid.UUID) -> Segment:
    seg = await session.get(Segment, segment_id)
    if seg is None:
        raise not_found("Segment", segment_id)
    return seg


async def add_members(session: AsyncSession, seg: Segment, ids: list[uuid.UUID]) -> int:
    """Add customers to a static segment; unknown ids are a 422 and nothing is added."""
    if seg.kind != "static":
        raise ProblemError(409, "segment-is-dynamic", "Members of a dynamic segment follow its rule; they cannot be added by hand.")
    wanted = set(ids)
    known = set((await session.execute(select(Customer.id).where(Customer.id.in_(wanted), Customer.erased_at.is_(None)))).scalars())
    missing = sorted(str(i) for i in wanted - known)
    if missing:
        raise ProblemError(
            422,
            "unknown-customers",
            f"{len(missing)} customer ids do not exist.",
            errors=[{"field": "customer_ids", "in": "body", "message": f"unknown: {', '.join(missing[:20])}"}],
        )
    if not wanted:
        return 0
    stmt = pg_insert(SegmentMember).values([{"segment_id": seg.id, "customer_id": i} for i in wanted]).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def remove_members(session: AsyncSession, seg: Segment, ids: list[uuid.UUID]) -> None:
    if seg.kind != "static":
        raise ProblemError(409, "segment-is-dynamic", "Members of a dynamic segment follow its rule; they cannot be removed by hand.")
    await session.execute(delete(SegmentMember).where(SegmentMember.segment_id == seg.id, SegmentMember.customer_id.in_(ids)))


def members_statement(seg: Segment, now: datetime) -> Select[Any]:
    """`select(Customer)` of the segment's current members."""
    stmt = select(Customer).where(Customer.erased_at.is_(None))
    if seg.kind == "dynamic":
        assert seg.rule is not None
        return stmt.where(func.coalesce(compile_rule(seg.rule, now), false()))
    return stmt.where(Customer.id.in_(select(SegmentMember.customer_id).where(SegmentMember.segment_id == seg.id)))


async def count_members(session: AsyncSession, seg: Segment, now: datetime) -> int:
    stmt = members_statement(seg, now).with_only_columns(func.count()).order_by(None)
    return int((await session.execute(stmt)).scalar_one())


async def preview(session: AsyncSession, rule: dict[str, Any], now: datetime) -> int:
    check_rule(rule)
    stmt = select(func.count()).select_from(Customer).where(Customer.erased_at.is_(None), func.coalesce(compile_rule(rule, now), false()))
    return int((await session.execute(stmt)).scalar_one())


EXPORT_COLUMNS = (
    "id",
    "kind",
    "lifecycle",
    "display_name",
    "email",
    "phone",
    "language",
    "country",
    "city",
    "time_zone",
    "tier",
    "total_spend",
    "purchase_count",
    "last_purchase_at",
)


async def export_rows(session: AsyncSession, seg: Segment, now: datetime, chunk: int = 5000) -> AsyncIterator[list[Any]]:
    """The members' export columns, streamed in id order with keyset chunks."""
    cols = [getattr(Customer, c) for c in EXPORT_COLUMNS]
    last: uuid.UUID | None = None
    while True:
        stmt = members_statement(seg, now).with_only_columns(*cols).order_by(Customer.id).limit(chunk)
        if last is not None:
            stmt = stmt.where(Customer.id > last)
        rows = (await session.execute(stmt)).all()
        for row in rows:
            yield list(row)
        if len(rows) < chunk:
            return
        last = rows[-1][0]
