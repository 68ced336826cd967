"""The rule language of dynamic segments, validated before it is stored.

A rule is a condition `{"field": "country", "op": "eq", "value": "SA"}` or a combination
`{"all": [...]}` (and), `{"any": [...]}` (or), `{"not": rule}`. Fields are profile fields and
behavioural facts kept current from loyalty/survey events. Operators by field type:
- text: eq, ne, in, not_in, exists, starts_with
- number/money: eq, ne, gt, gte, lt, lte, exists
- date/datetime: before, after (ISO date), within_days, not_within_days (N days before now), exists
- tags: contains (value: a tag), contains_any (value: list of tags)
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

FIELDS: dict[str, str] = {
    "kind": "text",
    "lifecycle": "text",
    "owner": "text",
    "country": "text",
    "city": "text",
    "language": "text",
    "gender": "text",
    "age_band": "text",
    "income_band": "text",
    "household_size": "number",
    "preferred_channel": "text",
    "tier": "text",
    "nps_band": "text",
    "total_spend": "number",
    "purchase_count": "number",
    "last_purchase_at": "datetime",
    "first_purchase_at": "datetime",
    "created_at": "datetime",
    "birth_date": "date",
    "tags": "tags",
}
OPS: dict[str, set[str]] = {
    "text": {"eq", "ne", "in", "not_in", "exists", "starts_with"},
    "number": {"eq", "ne", "gt", "gte", "lt", "lte", "exists"},
    "date": {"before", "after", "within_days", "not_within_days", "exists"},
    "datetime": {"before", "after", "within_days", "not_within_days", "exists"},
    "tags": {"contains", "contains_any"},
}
MAX_DEPTH = 8


class RuleError(ValueError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def validate_rule(rule: Any, path: str = "rule", depth: int = 0) -> None:
    """Raise RuleError naming the first invalid part of `rule`."""
    if depth > MAX_DEPTH:
        raise RuleError(path, f"rules nest at most {MAX_DEPTH} levels")
    if not isinstance(rule, dict):
        raise RuleError(path, "must be an object")
    keys = set(rule)
    if keys == {"all"} or keys == {"any"}:
        (k,) = keys
        parts = rule[k]
        if not isinstance(parts, list) or not parts:
            raise RuleError(f"{path}.{k}", "must be a non-empty list of rules")
        for i, part in enumerate(parts):
            validate_rule(part, f"{path}.{k}.{i}", depth + 1)
        return
    if keys == {"not"}:
        validate_rule(rule["not"], f"{path}.not", depth + 1)
        return
    if not keys <= {"field", "op", "value"} or "field" not in keys or "op" not in keys:
        raise RuleError(path, "must be {field, op, value} or one of all/any/not")
    field, op, value = rule["field"], rule["op"], rule.get("value")
    ftype = FIELDS.get(field)
    if ftype is None:
        raise RuleError(f"{path}.field", f"unknown field {field!r}; known: {', '.join(sorted(FIELDS))}")
    if op not in OPS[ftype]:
        raise RuleError(f"{path}.op", f"{op!r} does not apply to {field}; use one of {', '.join(sorted(OPS[ftype]))}")
    _check_value(f"{path}.value", ftype, op, value)


def _check_value(path: str, ftype: str, op: str, value: Any) -> None:
    if op == "exists":
        if not isinstance(value, bool):
            raise RuleError(path, "must be true or false")
    elif op in ("in", "not_in", "contains_any"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise RuleError(path, "must be a non-empty list of strings")
    elif op in ("within_days", "not_within_days"):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RuleError(path, "must be a whole number of days")
    elif op in ("before", "after"):
        try:
            date.fromisoformat(str(value))
        except ValueError:
            raise RuleError(path, "must be an ISO date (YYYY-MM-DD)") from None
    elif ftype == "number":
        try:
            Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise RuleError(path, "must be a number") from None
        if isinstance(value, bool):
            raise RuleError(path, "must be a number")
    elif not isinstance(value, str):
        raise RuleError(path, "must be a string")
