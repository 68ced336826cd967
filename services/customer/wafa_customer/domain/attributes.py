"""Custom attributes: the business defines fields (`/v1/custom-fields`); a profile's
`attributes` must use defined names with values of the defined type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str  # string | number | boolean | date | enum
    required: bool
    options: tuple[str, ...] = ()


def _check(d: FieldDef, value: Any) -> str | None:
    if value is None:
        return "is required" if d.required else None
    if d.type == "string" and not isinstance(value, str):
        return "must be a string"
    if d.type == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return "must be a number"
    if d.type == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if d.type == "date":
        try:
            date.fromisoformat(str(value))
        except ValueError:
            return "must be a date (YYYY-MM-DD)"
    if d.type == "enum" and value not in d.options:
        return f"must be one of {', '.join(d.options)}"
    return None


def validate_attributes(values: dict[str, Any], defs: dict[str, FieldDef], *, partial: bool = False) -> list[tuple[str, str]]:
    """(attribute, message) for each problem; `partial` skips the required check (PATCH merges)."""
    problems = [(k, "is not a defined custom field") for k in values if k not in defs]
    for name, d in defs.items():
        if name in values:
            msg = _check(d, values[name])
        elif d.required and not partial:
            msg = "is required"
        else:
            msg = None
        if msg:
            problems.append((name, msg))
    return problems
