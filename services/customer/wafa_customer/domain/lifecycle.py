"""The customer lifecycle: lead → prospect → customer → former (and back to customer on a
win-back). Skipping forward is allowed (a lead that buys is a customer); going back is not,
except former → customer."""

from __future__ import annotations

STAGES = ("lead", "prospect", "customer", "former")
_ORDER = {s: i for i, s in enumerate(STAGES)}


def can_move(from_stage: str, to_stage: str) -> bool:
    if from_stage == to_stage:
        return True
    if from_stage == "former":
        return to_stage == "customer"
    return _ORDER[to_stage] > _ORDER[from_stage]
