"""Earning rules: how many points a purchase earns, and from which rule each part comes.

Rules compose in this order, all as of the purchase's `occurred_at`:
1. base spend: each line's amount x the program's earn rate x the line's product multiplier
   (a SKU multiplier wins over a category multiplier; rules outside their validity window
   are ignored);
2. tier multiplier of the member's tier (applied to the base);
3. birthday-month multiplier when the purchase falls in the member's birth month;
4. first-purchase bonus (flat points, its own ledger entry and lot).
Rounding happens once per ledger entry, with the program's rounding rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Any

ROUNDING = {"down": ROUND_DOWN, "half_even": ROUND_HALF_EVEN, "up": ROUND_UP}
POINT_QUANTUM = Decimal(1)


def round_points(points: Decimal, rounding: str) -> Decimal:
    """Whole points, rounded with the program's rule (`down`, `half_even` or `up`)."""
    return points.quantize(POINT_QUANTUM, rounding=ROUNDING[rounding])


@dataclass(frozen=True)
class Line:
    sku: str
    category: str | None
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class Earning:
    """Points of one purchase: `base` (rule `base_spend`, with tier and birthday multipliers
    folded in and explained in `detail`) and `first_purchase_bonus` (rule `first_purchase`)."""

    base: Decimal
    first_purchase_bonus: Decimal
    detail: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.base + self.first_purchase_bonus


def _active(rule: dict[str, Any], at: datetime) -> bool:
    start, end = rule.get("valid_from"), rule.get("valid_until")
    if start and at < datetime.fromisoformat(start):
        return False
    return not (end and at >= datetime.fromisoformat(end))


def product_multiplier(line: Line, rules: dict[str, Any], at: datetime) -> Decimal:
    """The multiplier of a line: an active SKU rule, else an active category rule, else 1."""
    for key, value in (("sku_multipliers", line.sku), ("category_multipliers", line.category)):
        for rule in rules.get(key, []):
            if value is not None and rule["match"] == value and _active(rule, at):
                return Decimal(str(rule["multiplier"]))
    return Decimal(1)


ONE = Decimal(1)
_Window = tuple[Decimal, datetime | None, datetime | None]
_COMPILED: dict[int, tuple[dict[str, Any], dict[str, dict[str, list[_Window]]]]] = {}


def _compiled(rules: dict[str, Any]) -> dict[str, dict[str, list[_Window]]]:
    """The product rules indexed by match value, with parsed windows and multipliers (cached
    per rules object: a program's rules are read once and shared)."""
    hit = _COMPILED.get(id(rules))
    if hit is not None and hit[0] is rules:
        return hit[1]
    out: dict[str, dict[str, list[_Window]]] = {}
    for key in ("sku_multipliers", "category_multipliers"):
        index: dict[str, list[_Window]] = out.setdefault(key, {})
        for rule in rules.get(key, []):
            start, end = rule.get("valid_from"), rule.get("valid_until")
            index.setdefault(rule["match"], []).append(
                (Decimal(str(rule["multiplier"])), datetime.fromisoformat(start) if start else None, datetime.fromisoformat(end) if end else None)
            )
    if len(_COMPILED) > 256:
        _COMPILED.clear()
    _COMPILED[id(rules)] = (rules, out)
    return out


def _multiplier(line: Line, compiled: dict[str, dict[str, list[_Window]]], at: datetime) -> Decimal:
    """`product_multiplier` on compiled rules (same result, in the same order of precedence)."""
    for key, value in (("sku_multipliers", line.sku), ("category_multipliers", line.category)):
        if value is None:
            continue
        for multiplier, start, end in compiled[key].get(value, ()):
            if (start is None or at >= start) and (end is None or at < end):
                return multiplier
    return ONE


def compute_earning(
    *,
    lines: list[Line],
    earn_rate: Decimal,
    rounding: str,
    rules: dict[str, Any],
    tier_multiplier: Decimal,
    birth_date: date | None,
    occurred_at: datetime,
    first_purchase: bool,
) -> Earning:
    compiled = _compiled(rules)
    raw = sum((line.amount * earn_rate * _multiplier(line, compiled, occurred_at) for line in lines), Decimal(0))
    detail = {"spend_points": str(raw), "tier_multiplier": str(tier_multiplier)}
    points = raw * tier_multiplier
    birthday = rules.get("birthday_multiplier")
    if birthday and birth_date is not None and birth_date.month == occurred_at.month:
        points *= Decimal(str(birthday))
        detail["birthday_multiplier"] = str(birthday)
    bonus = Decimal(0)
    if first_purchase and rules.get("first_purchase_bonus"):
        bonus = Decimal(str(rules["first_purchase_bonus"]))
    return Earning(base=round_points(points, rounding), first_purchase_bonus=round_points(bonus, rounding), detail=detail)


def proportional(total: Decimal, part: Decimal, whole: Decimal, rounding: str = "half_even") -> Decimal:
    """`total x part / whole`, rounded to whole points; the share a partial refund reverses."""
    if whole == 0:
        return Decimal(0)
    return round_points(total * part / whole, rounding)
