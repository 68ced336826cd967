"""Deterministic control-group assignment: the same customer and plan always land in the same
bucket, so analytics can measure a plan's uplift against its holdout."""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

BUCKETS = 10_000


def bucket(plan_key: str, customer_id: uuid.UUID) -> int:
    """0..9999 from SHA-256 of plan key and customer id."""
    digest = hashlib.sha256(f"{plan_key}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def in_holdout(plan_key: str, customer_id: uuid.UUID, holdout_pct: Decimal) -> bool:
    """True for `holdout_pct` percent of customers (to 0.01 %)."""
    return bucket(plan_key, customer_id) < int(holdout_pct * BUCKETS / 100)
